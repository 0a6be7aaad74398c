import { CompiledQuery } from 'kysely';
import type { Db } from './database.js';

/**
 * Writes many rows per statement without building Kysely's query tree: a 10,000-machine job
 * writes 10,000 rows at once, and a node per value cost the hub more than SQLite takes to store
 * them. Full chunks have the same SQL text every time, so the prepared-statement cache keeps
 * them. Table and column names come from the repositories' own constants, never from input;
 * values are always bound. Placeholders are SQLite's `?`.
 */
function placeholders(rowCount: number, columnCount: number): string {
  const row = `(${new Array<string>(columnCount).fill('?').join(', ')})`;
  return new Array<string>(rowCount).fill(row).join(', ');
}

/** `insert into table (columns) values (...), (...)`, `chunk` rows per statement. */
export async function insertRows(db: Db, table: string, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>, chunk: number): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    await db.executeQuery(CompiledQuery.raw(`insert into ${table} (${columns.join(', ')}) values ${placeholders(part.length, columns.length)}`, part.flat()));
  }
}

/**
 * Sets `columns` of the rows whose `key` matches, `chunk` rows per statement: `update ... from
 * (values ...)` (SQLite 3.33+). Each row is [key, ...values in the order of `columns`].
 */
export async function updateRowsByKey(db: Db, table: string, key: string, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>, chunk: number): Promise<void> {
  const assignments = columns.map((column, index) => `${column} = v.column${index + 2}`).join(', ');
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    await db.executeQuery(
      CompiledQuery.raw(`update ${table} set ${assignments} from (values ${placeholders(part.length, columns.length + 1)}) as v where ${table}.${key} = v.column1`, part.flat()),
    );
  }
}
