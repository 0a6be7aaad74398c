import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Kysely, PostgresDialect, sql, type PostgresCursor, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely';
import { DatabaseStartError, migrate, queryLog, type Database, type Db, type QueryListener } from './database.js';
import { PostgresDdlPlugin } from './dialect.js';
import type { Logger } from './logger.js';
import { createStorageHealth, isStorageFailure, type StorageHealth } from './storage-health.js';

/** How the hub reaches PostgreSQL (FAROL_DATABASE_URL and friends, issue #13). */
export interface PostgresSettings {
  /** postgres://user[:password]@host:port/database[?sslmode=...] */
  url: string;
  /** PEM file of the CA that signed the server's certificate; implies sslmode=verify-full unless the URL says otherwise. */
  caFile?: string | undefined;
  poolSize: number;
}

/** Delays between connection attempts at start: doubling from half a second, at most 30 s. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * SQLSTATE classes that another attempt will not fix: bad password or role (28), no such
 * database (3D), and a server that refuses our options (08P01 protocol, 0A feature).
 */
const PERMANENT = /^(28|3D|0A|08P01)/;
/**
 * A server certificate that does not verify (another CA, expired, a name it does not carry)
 * is a setting to fix, not an outage to wait out (Node's TLS error codes).
 */
const TLS_REFUSED = /^(ERR_TLS_CERT_ALTNAME_INVALID|CERT_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_(VERIFY|GET)_)/;

/** The URL without its password, for logs and messages. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    // Not parseable: say nothing of it rather than risk printing a password.
    return 'the PostgreSQL URL (unparseable)';
  }
}

/**
 * The pool's settings. A CA file becomes `sslrootcert` (and `sslmode=verify-full` when the
 * URL names no mode), so the URL's own TLS settings and the file never disagree. 64-bit
 * integers (times in ms, counts) and numerics (averages) come back as JavaScript numbers, as
 * SQLite gives them: every such value the hub stores is far below 2^53.
 */
export function postgresPoolConfig(settings: PostgresSettings): pg.PoolConfig {
  const url = new URL(settings.url);
  if (settings.caFile) {
    url.searchParams.set('sslrootcert', settings.caFile);
    if (!url.searchParams.has('sslmode')) url.searchParams.set('sslmode', 'verify-full');
  }
  return {
    connectionString: url.toString(),
    max: settings.poolSize,
    // A server that does not answer (host down, packets dropped) fails a query and `/ready` instead of hanging them.
    connectionTimeoutMillis: 10_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (value: string) => Number(value);
        return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
      }) as typeof pg.types.getTypeParser,
    },
  };
}

/** Where the database is, for `/ready` and logs: `postgresql://host:port/database`, no user or password. */
export function postgresLocation(url: string): string {
  try {
    const parsed = new URL(url);
    return `postgresql://${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the PostgreSQL URL (unparseable)';
  }
}

const WRITE_STATEMENT = /^\s*(insert|update|delete|merge|create|alter|drop|truncate|commit)\b/i;

/**
 * The pool as Kysely sees it, reporting to `storage` (issue #12's write health, fed on
 * PostgreSQL too, issue #13): a statement or connection that fails because the database is
 * unavailable marks writes failing; a committed write marks them working again, and so does
 * any statement after a lost connection (the server is back). `/ready` and
 * `farol_db_writes_failing` read it.
 */
function reportingPool(pool: pg.Pool, storage: StorageHealth): PostgresPool {
  let lostConnection = false;
  const failed = (error: unknown, isWrite: boolean): void => {
    const unavailable = isStorageFailure(error);
    if (unavailable) lostConnection = true;
    if (unavailable || (isWrite && /^(53|58|XX|25006)/.test(String((error as { code?: unknown }).code ?? '')))) storage.writeFailed(error);
  };
  const succeeded = (isWrite: boolean): void => {
    if (isWrite || lostConnection) {
      lostConnection = false;
      storage.writeSucceeded();
    }
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        failed(error, false);
        throw error;
      }
      return new ReportingClient(client, failed, succeeded);
    },
    end: () => pool.end(),
  };
}

/** One pooled connection whose statements report their outcome (see reportingPool). */
class ReportingClient implements PostgresPoolClient {
  #inTransaction = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly failed: (error: unknown, isWrite: boolean) => void,
    private readonly succeeded: (isWrite: boolean) => void,
  ) {}

  query<R>(text: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(textOrCursor: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Cursors (Kysely's stream()) pass through unreported: the hub does not stream.
    if (typeof textOrCursor !== 'string') return this.client.query(textOrCursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    return this.#run<R>(textOrCursor, parameters ?? []);
  }

  async #run<R>(text: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    const isWrite = WRITE_STATEMENT.test(text);
    try {
      const result = await this.client.query(text, parameters as unknown[]);
      if (/^\s*begin\b/i.test(text)) this.#inTransaction = true;
      else if (/^\s*(commit|rollback)\b/i.test(text)) this.#inTransaction = false;
      // A write inside a transaction counts once its commit succeeds.
      this.succeeded(isWrite && !this.#inTransaction);
      return result as unknown as PostgresQueryResult<R>;
    } catch (error) {
      this.failed(error, isWrite);
      throw error;
    }
  }

  release(): void {
    this.client.release();
  }
}

/** A Kysely instance over a pg pool, with the DDL rewriting of infra/dialect.ts. Does not connect. */
export function createPostgresDb(settings: PostgresSettings, logger?: Logger, storage?: StorageHealth, onQuery?: QueryListener): Db {
  const pool = new pg.Pool(postgresPoolConfig(settings));
  const database = describePostgresUrl(settings.url);
  // A connection the server dropped (restart, failover, network): the pool replaces it, and the
  // query on it, if any, fails on its own. pg also emits the loss as an 'error' event, which
  // without a listener would crash the hub: the pool listens while a connection is idle, this
  // listener while it is checked out.
  pool.on('error', (error) => logger?.warn({ err: error, database }, 'an idle database connection was lost'));
  pool.on('connect', (client) => client.on('error', (error) => logger?.warn({ err: error, database }, 'a database connection in use was lost')));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: storage ? reportingPool(pool, storage) : pool }), plugins: [new PostgresDdlPlugin()], ...queryLog(onQuery) });
}

/**
 * Connects (waiting for a database that is not up yet, with one log line per attempt and a
 * bounded back-off, instead of exiting into a restart loop), then runs pending migrations,
 * each under a transaction-level advisory lock so hubs starting together migrate once.
 * Fails at once on what waiting cannot fix: a wrong password, a missing database.
 */
export async function openPostgresDatabase(
  settings: PostgresSettings,
  options: { logger?: Logger; signal?: AbortSignal; onQuery?: QueryListener } = {},
): Promise<{ db: Db; label: string; storage: StorageHealth }> {
  const label = describePostgresUrl(settings.url);
  const storage = createStorageHealth(postgresLocation(settings.url));
  let db: Db;
  try {
    db = createPostgresDb(settings, options.logger, storage, options.onQuery);
  } catch (error) {
    throw new DatabaseStartError(`cannot use FAROL_DATABASE_URL (${label}): ${(error as Error).message}; check the URL and FAROL_DATABASE_CA_FILE`, { cause: error });
  }
  try {
    await waitForPostgres(db, label, options);
    await migrate(db, label);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  if (options.logger) storage.setLogger(options.logger);
  return { db, label, storage };
}

async function waitForPostgres(db: Db, label: string, options: { logger?: Logger; signal?: AbortSignal }): Promise<void> {
  let delay = RETRY_FIRST_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`select 1`.execute(db);
      if (attempt > 1) options.logger?.info({ database: label, attempts: attempt }, 'database reachable');
      return;
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? '');
      if (TLS_REFUSED.test(code) || /does not support SSL/i.test((error as Error).message)) {
        throw new DatabaseStartError(`cannot use the database ${label} over TLS: ${(error as Error).message}; check FAROL_DATABASE_CA_FILE and the host name in FAROL_DATABASE_URL (it must be one the server certificate names)`, { cause: error });
      }
      if (PERMANENT.test(code)) {
        throw new DatabaseStartError(`cannot use the database ${label}: ${(error as Error).message}; check the user, password and database name in FAROL_DATABASE_URL`, { cause: error });
      }
      if (options.signal?.aborted) throw new DatabaseStartError(`gave up waiting for the database ${label}: ${(error as Error).message}`, { cause: error });
      options.logger?.warn(
        { database: label, attempt, retryInMs: delay, code: code || undefined },
        `database not reachable (${(error as Error).message}); retrying in ${Math.round(delay / 100) / 10} s`,
      );
      try {
        await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
      } catch (abort) {
        throw new DatabaseStartError(`gave up waiting for the database ${label}: ${(error as Error).message}`, { cause: abort });
      }
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
}
