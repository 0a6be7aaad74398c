import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import type { AuditVerify } from '@farol/protocol';
import { DatabaseStartError, type Db } from './database.js';
import { bulkInsertQuery } from './dialect.js';
import { migrations } from './migrations.js';
import { describePostgresUrl, openPostgresDatabase, type PostgresSettings } from './postgres.js';
import type { Logger } from './logger.js';

/** What `farol db copy` did. */
export interface DatabaseCopyReport {
  from: string;
  to: string;
  /** Rows copied per table, in copy order. */
  tables: Array<{ table: string; rows: number }>;
  audit: { ok: boolean; entries: number };
}

/** What to copy where; `verifyAudit` is wired by main.ts `copyDatabase`. */
export interface DatabaseCopyOptions {
  /** The hub's farol.db, or its data directory. */
  from: string;
  to: PostgresSettings;
  /** Empty a target that is not empty first. */
  force?: boolean;
  logger?: Logger;
  /**
   * Walks the audit chain of the copied database. The audit log's rules live in its module
   * (audit.service.ts), which infra does not import: main.ts passes them in.
   */
  verifyAudit: (target: Db) => Promise<AuditVerify>;
}

/** Refused or failed copies: one line saying what to do. */
export class DatabaseCopyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseCopyError';
  }
}

const MIGRATION_TABLE = 'kysely_migration';
/** Rows per statement: one JSON parameter each, so the size is a memory bound, not a parameter limit. */
const CHUNK = 2_000;
/** Binary bytes per statement, at most (about): bytea travels as hex, twice its size. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * `farol db copy` (issue #13): every table of a SQLite hub into a PostgreSQL database, in one
 * transaction, so a copy that fails leaves the target as it was. The target is migrated first
 * (the same migrations), must be empty unless `force` (then it is emptied), and its audit chain
 * is verified afterwards. Agents keep their identities (the agents table and the hub key in the
 * data directory), so they reconnect to the hub on PostgreSQL without enrolling again.
 */
export async function copySqliteToPostgres(options: DatabaseCopyOptions): Promise<DatabaseCopyReport> {
  const file = existsSync(options.from) && statSync(options.from).isDirectory() ? path.join(options.from, 'farol.db') : options.from;
  let source: SQLite.Database;
  try {
    source = new SQLite(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new DatabaseCopyError(`cannot open ${file}: ${(error as Error).message}; pass the hub's farol.db (or its data directory) with --from`, { cause: error });
  }
  try {
    const applied = new Set((source.prepare(`select name from ${MIGRATION_TABLE}`).all() as Array<{ name: string }>).map((row) => row.name));
    const missing = Object.keys(migrations).filter((name) => !applied.has(name));
    const unknown = [...applied].filter((name) => !(name in migrations));
    if (unknown.length > 0) throw new DatabaseCopyError(`${file} was written by a newer hub (migration ${unknown[0]}); copy it with that version of farol`);
    if (missing.length > 0) throw new DatabaseCopyError(`${file} is from an older hub version (migration ${missing[0]} not applied); start this hub on it once, stop it, then copy`);

    let target: Db;
    try {
      ({ db: target } = await openPostgresDatabase(options.to, options.logger ? { logger: options.logger } : {}));
    } catch (error) {
      if (error instanceof DatabaseStartError) throw new DatabaseCopyError(error.message, { cause: error });
      throw error;
    }
    try {
      const tables = copyOrder(source);
      const report: DatabaseCopyReport = { from: file, to: describePostgresUrl(options.to.url), tables: [], audit: { ok: false, entries: 0 } };
      await target.transaction().execute(async (trx) => {
        const filled: string[] = [];
        for (const table of tables) {
          const row = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(trx);
          if (Number(row.rows[0]?.n ?? 0) > 0) filled.push(table);
        }
        if (filled.length > 0 && !options.force) {
          throw new DatabaseCopyError(`the target database is not empty (${filled.slice(0, 3).join(', ')}${filled.length > 3 ? ', …' : ''}); copy into an empty database, or pass --force to replace its contents`);
        }
        // truncate is not a row delete: the audit log's append-only triggers do not fire for it.
        if (filled.length > 0) await sql`truncate table ${sql.join(tables.map((t) => sql.table(t)))} restart identity cascade`.execute(trx);
        for (const table of tables) report.tables.push({ table, rows: await copyTable(source, trx, table) });
        // Identity columns continue after the copied ids.
        for (const table of tables) {
          const identity = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_schema = current_schema() and table_name = ${table} and is_identity = 'YES'`.execute(trx);
          for (const { column_name: column } of identity.rows) {
            await sql`select setval(pg_get_serial_sequence(${table}, ${column}), coalesce((select max(${sql.ref(column)}) from ${sql.table(table)}), 0) + 1, false)`.execute(trx);
          }
        }
      });
      const verified = await options.verifyAudit(target);
      report.audit = { ok: verified.ok, entries: verified.entries };
      if (!verified.ok) {
        throw new DatabaseCopyError(`copied, but the audit chain does not verify on the target (entry ${verified.firstBad?.seq}: ${verified.firstBad?.reason}); check the source with farol audit verify`);
      }
      return report;
    } finally {
      await target.destroy();
    }
  } finally {
    source.close();
  }
}

/** The source's tables, each after the tables its foreign keys point at. */
function copyOrder(source: SQLite.Database): string[] {
  const names = (source.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name != ? order by name`).all(MIGRATION_TABLE) as Array<{ name: string }>).map(
    (row) => row.name,
  );
  const ordered: string[] = [];
  const visit = (name: string, path: Set<string>): void => {
    if (ordered.includes(name) || path.has(name)) return;
    path.add(name);
    for (const fk of source.pragma(`foreign_key_list(${JSON.stringify(name)})`) as Array<{ table: string }>) if (fk.table !== name) visit(fk.table, path);
    ordered.push(name);
  };
  for (const name of names) visit(name, new Set());
  return ordered.filter((name) => names.includes(name));
}

async function copyTable(source: SQLite.Database, target: Db, table: string): Promise<number> {
  const sourceColumns = (source.pragma(`table_info(${JSON.stringify(table)})`) as Array<{ name: string }>).map((c) => c.name);
  const targetColumns = new Set(
    (await sql<{ column_name: string }>`select column_name from information_schema.columns where table_schema = current_schema() and table_name = ${table}`.execute(target)).rows.map((r) => r.column_name),
  );
  if (targetColumns.size === 0) throw new DatabaseCopyError(`table ${table} of the source has no counterpart in the target; the two were migrated by different hub versions`);
  const columns = sourceColumns.filter((c) => targetColumns.has(c));
  const quoted = columns.map((c) => `"${c.replaceAll('"', '""')}"`);
  // Names as the hub's migrations wrote them (plain identifiers): they are the JSON keys too.
  // rowid order: the order the rows were written, which is what readers of insertion order saw.
  const statement = source.prepare(`select ${quoted.join(', ')} from "${table.replaceAll('"', '""')}" order by rowid`).raw(true);
  let rows = 0;
  let batch: unknown[][] = [];
  let batchBytes = 0;
  for (const row of statement.iterate() as IterableIterator<unknown[]>) {
    batch.push(row);
    // Screenshot and recording chunks are up to 512 KiB each: a statement stays a few MiB.
    for (const value of row) if (value instanceof Uint8Array) batchBytes += value.byteLength;
    if (batch.length === CHUNK || batchBytes >= CHUNK_BYTES) {
      await target.executeQuery(bulkInsertQuery('postgres', table, columns, batch));
      rows += batch.length;
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length > 0) {
    await target.executeQuery(bulkInsertQuery('postgres', table, columns, batch));
    rows += batch.length;
  }
  return rows;
}
