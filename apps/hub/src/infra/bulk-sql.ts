import type { Db } from './database.js';
import { bulkInsertQuery, bulkUpdateQuery, dialectOf } from './dialect.js';

/**
 * Many rows per statement, in the dialect's own text (infra/dialect.ts): a 10,000-machine job
 * writes 10,000 rows at once. Table and column names come from the repositories' own
 * constants, never from input; values are always bound.
 */

/** `insert into table (columns) ...`, `chunk` rows per statement. */
export async function insertRows(db: Db, table: string, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>, chunk: number): Promise<void> {
  const dialect = dialectOf(db);
  for (let i = 0; i < rows.length; i += chunk) await db.executeQuery(bulkInsertQuery(dialect, table, columns, rows.slice(i, i + chunk)));
}

/**
 * Sets `columns` of the rows whose `key` matches, `chunk` rows per statement. Each row is
 * [key, ...values in the order of `columns`].
 */
export async function updateRowsByKey(db: Db, table: string, key: string, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>, chunk: number): Promise<void> {
  const dialect = dialectOf(db);
  for (let i = 0; i < rows.length; i += chunk) await db.executeQuery(bulkUpdateQuery(dialect, table, key, columns, rows.slice(i, i + chunk)));
}
