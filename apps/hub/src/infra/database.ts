import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type Generated, type LogEvent, type SqliteStatement } from 'kysely';
import { serializeWriters } from './dialect.js';
import type { Logger } from './logger.js';
import { migrations } from './migrations.js';
import { createStorageHealth, isStorageFailure, storageRemedy, type IntegrityResult, type StorageHealth } from './storage-health.js';

/** Table shapes as Kysely sees them. Times are ms since epoch; JSON is stored as text. */
export interface AgentsTable {
  seq: Generated<number>;
  id: string;
  name: string;
  hostname: string;
  public_key: string;
  key_fingerprint: string;
  labels: string;
  system: string | null;
  heartbeat_interval_ms: number | null;
  status: string;
  created_at: number;
  last_seen: number | null;
  join_token_id: string | null;
}

export interface RevokedKeysTable {
  key_fingerprint: string;
  agent_id: string;
  revoked_at: number;
}

export interface JoinTokensTable {
  id: string;
  secret_hash: string;
  labels: string;
  note: string | null;
  max_uses: number;
  uses: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** The numeric series of history, as columns (see HISTORY_METRICS in the protocol). */
export const METRIC_COLUMNS = {
  cpu: 'cpu',
  memory: 'memory',
  swap: 'swap',
  disk: 'disk',
  load1: 'load1',
  netRx: 'net_rx',
  netTx: 'net_tx',
  diskRead: 'disk_read',
  diskWrite: 'disk_write',
  temperature: 'temperature',
  gpu: 'gpu',
} as const;
type MetricColumn = (typeof METRIC_COLUMNS)[keyof typeof METRIC_COLUMNS];

export type MetricsRawTable = { id: Generated<number>; agent_seq: number; ts: number } & Record<MetricColumn, number | null>;
/** Rollup rows: per metric the average, extremes, and how many samples had a value (`_n`). */
export type MetricsRollupTable = { agent_seq: number; ts: number; samples: number } & Record<
  `${MetricColumn}_avg` | `${MetricColumn}_min` | `${MetricColumn}_max`,
  number | null
> &
  Record<`${MetricColumn}_n`, number>;

export interface AgentLatestTable {
  agent_seq: number;
  ts: number;
  sample: string;
  /** When the hub stored it (the hub's clock): the leader's alerts engine follows it (issue #14). */
  stored_at: Generated<number>;
  /**
   * Containers in the sample that have a newer image digest to update to (any state): the
   * automatic container updater reads only these rows' samples, not the whole fleet's (issue #16).
   */
  updates_offered: Generated<number>;
}

export interface KvTable {
  key: string;
  value: string;
}

/** A job: one command for one or many machines (issue #3). */
export interface JobsTable {
  seq: Generated<number>;
  id: string;
  command: string;
  targets_spec: string;
  state: string;
  ttl_ms: number;
  timeout_ms: number;
  created_by: string;
  created_at: number;
  expires_at: number;
  cancelled_at: number | null;
  finished_at: number | null;
  total: number;
}

/** One machine's part of a job, keyed by the command id the agent sees. */
export interface JobTargetsTable {
  command_id: string;
  job_id: string;
  agent_id: string;
  agent_name: string;
  state: string;
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdout_truncated: number;
  stderr_truncated: number;
  data: string | null;
  sent_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  error: string | null;
  /** When the agent's own result was stored; null while the state is the hub's. */
  result_at: number | null;
}

/** The append-only, hash-chained audit log. */
export interface AuditLogTable {
  seq: number;
  at: number;
  actor: string;
  action: string;
  agent_id: string | null;
  job_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

/** A notification channel (issue #4); secrets only in `secrets_sealed`. */
export interface NotifyChannelsTable {
  id: string;
  name: string;
  type: string;
  enabled: number;
  settings: string;
  secrets_sealed: string | null;
  template: string | null;
  rate_limit: string | null;
  quiet_hours: string | null;
  maintenance: string;
  source: string;
  created_at: number;
  updated_at: number;
}

/** An event-webhook subscription (issue #4). */
export interface NotifyWebhooksTable {
  id: string;
  name: string;
  url_sealed: string;
  url_origin: string;
  secret_sealed: string | null;
  events: string;
  selector: string;
  enabled: number;
  created_at: number;
}

/** One delivery, written before it is attempted (issue #4). */
export interface NotifyOutboxTable {
  seq: Generated<number>;
  id: string;
  target: string;
  target_id: string;
  kind: string;
  payload: string;
  critical: number;
  state: string;
  attempts: number;
  created_at: number;
  next_attempt_at: number | null;
  sent_at: number | null;
  last_error: string | null;
  /** The hub process (leader term holder) that claimed it for sending, and its epoch (issue #14). */
  claimed_by: string | null;
  claim_epoch: number | null;
}

/** A lease several hubs contend for (issue #14): `epoch` rises on every takeover (the fencing token). */
export interface LeaderLeasesTable {
  name: string;
  holder: string;
  epoch: number;
  expires_at: number;
  acquired_at: number;
}

/** Operators (issue #6). */
export interface UsersTable {
  id: string;
  username: string;
  password_hash: string | null;
  role: string;
  scope: string | null;
  disabled_at: number | null;
  /** Sealed with the hub's secret key. */
  totp_secret: string | null;
  totp_pending: string | null;
  /** The last TOTP time step accepted, so a code is never accepted twice. */
  totp_last_step: number | null;
  /** JSON array of sha256 hex of the unused recovery codes. */
  recovery_codes: string;
  failed_logins: number;
  locked_until: number | null;
  last_login_at: number | null;
  created_at: number;
  updated_at: number;
  /** Single sign-on (issue #20): the provider and subject this user is linked to. */
  oidc_issuer: string | null;
  oidc_subject: string | null;
  /** When the provider's claims last disabled this account (no group granted access). */
  oidc_refused_at: number | null;
}

export interface RolesTable {
  name: string;
  permissions: string;
  description: string | null;
  created_at: number;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  secret_hash: string;
  permissions: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  /** When the owner last gave a second factor through this token (step-up). */
  mfa_at: number | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  secret_hash: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  mfa_at: number | null;
}

/** An operator secret (issue #6): the value only sealed (context = secret id), or a vault reference. */
export interface SecretsTable {
  id: string;
  name: string;
  scope: string;
  source: string;
  value_sealed: string | null;
  ref: string | null;
  description: string | null;
  version: number;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

/** Alert rules (issue #4); condition, scope, channels and escalation are JSON. */
export interface AlertRulesTable {
  id: string;
  name: string;
  description: string | null;
  condition: string;
  scope: string;
  severity: string;
  channels: string;
  escalation: string | null;
  cooldown_ms: number | null;
  enabled: number;
  source: string;
  created_at: number;
  updated_at: number;
  /** Insertion order, the tie-break of rules created in the same millisecond. */
  position: Generated<number>;
}

/** One alert: a rule × machine × instance from pending to resolved. */
export interface AlertsTable {
  seq: Generated<number>;
  id: string;
  rule_id: string;
  rule_name: string;
  kind: string;
  severity: string;
  state: string;
  agent_id: string | null;
  agent_name: string | null;
  instance: string;
  subject: string;
  summary: string;
  value: number | null;
  threshold: number | null;
  comparator: string | null;
  unit: string | null;
  since: number;
  fired_at: number | null;
  resolved_at: number | null;
  last_notified_at: number | null;
  notifications: number;
  escalated_at: number | null;
  acked_at: number | null;
  acked_by: string | null;
  ack_note: string | null;
  details: string;
}

/** An alert's history; rows with a notice and no delivered_at are still to hand to the notifier. */
export interface AlertEventsTable {
  seq: Generated<number>;
  alert_id: string;
  event: string;
  at: number;
  channels: string;
  silenced_by: string | null;
  actor: string | null;
  note: string | null;
  notice: string | null;
  delivered_at: number | null;
}

export interface SilencesTable {
  id: string;
  matcher: string;
  starts_at: number;
  ends_at: number;
  reason: string;
  created_by: string;
  created_at: number;
}

/** An interactive terminal session (issue #3): opened, then completed when it ends. */
export interface TerminalSessionsTable {
  id: string;
  agent_id: string;
  agent_name: string;
  actor: string;
  cols: number;
  rows: number;
  opened_at: number;
  closed_at: number | null;
  close_reason: string | null;
  exit_code: number | null;
  bytes_in: number;
  bytes_out: number;
  /** File name under <dataDir>/recordings when the session was recorded. */
  recording_file: string | null;
}

/** A stored screenshot (issue #14: in the database, so every hub serves it); its PNG is in `screenshot_chunks`. */
export interface ScreenshotsTable {
  id: string;
  command_id: string;
  created_at: number;
  /** The whole ScreenshotRecord as JSON. */
  record: string;
}

/** A screenshot's bytes as the agent uploaded them, one row per chunk, keyed by its command until and after it is complete. */
export interface ScreenshotChunksTable {
  command_id: string;
  byte_offset: number;
  bytes: number;
  data: Buffer;
  created_at: number;
}

/** A terminal session's asciicast recording (issue #14), in chunks of at most 256 KiB. */
export interface TerminalRecordingsTable {
  session_id: string;
  seq: number;
  data: Buffer;
}

/** A service check (issue #19); probe and run_on are JSON. */
export interface ChecksTable {
  id: string;
  name: string;
  description: string | null;
  probe: string;
  run_on: string;
  interval_ms: number;
  timeout_ms: number;
  enabled: number;
  created_at: number;
  updated_at: number;
  /** `api` or `file` (FAROL_CHECKS_FILE). */
  source: string;
}

/** A public status page (issue #19); `entries` is JSON `[{ checkId, name }]`. */
export interface StatusPagesTable {
  id: string;
  slug: string;
  title: string;
  description: string | null;
  entries: string;
  source: string;
  /** auto | en | pt-BR */
  language: string;
  created_at: number;
  updated_at: number;
}

/** One run of a check at one location: `hub`, or the id of the agent that ran it. */
export interface CheckResultsTable {
  seq: Generated<number>;
  check_id: string;
  location: string;
  agent_id: string | null;
  ts: number;
  status: string;
  latency_ms: number | null;
  message: string;
  cert_days_left: number | null;
  perfdata: string | null;
}

/** The newest result per check and location. */
export interface CheckLatestTable {
  check_id: string;
  location: string;
  agent_id: string | null;
  ts: number;
  status: string;
  latency_ms: number | null;
  message: string;
  cert_days_left: number | null;
  /** When a hub stored it (that hub's clock): how the leader follows results other hubs stored (issue #14). */
  stored_at: number;
}

/**
 * Runs per check, location and bucket (`check_1m`, `check_1h`), rolled up from `check_results`
 * by the leader's rollup pass like the metrics tiers (each pass adds the results past its
 * watermark). Up: ok or warning; down: critical.
 */
export interface CheckRollupTable {
  check_id: string;
  location: string;
  ts: number;
  ok: number;
  warning: number;
  critical: number;
  unknown: number;
  /** Sum of the latencies measured (ms), over `latency_n` runs: averages combine exactly. */
  latency_sum: number;
  latency_min: number | null;
  latency_max: number | null;
  latency_n: number;
}

export interface Database {
  agents: AgentsTable;
  revoked_keys: RevokedKeysTable;
  join_tokens: JoinTokensTable;
  metrics_raw: MetricsRawTable;
  metrics_1m: MetricsRollupTable;
  metrics_1h: MetricsRollupTable;
  agent_latest: AgentLatestTable;
  kv: KvTable;
  leader_leases: LeaderLeasesTable;
  jobs: JobsTable;
  job_targets: JobTargetsTable;
  audit_log: AuditLogTable;
  users: UsersTable;
  roles: RolesTable;
  api_tokens: ApiTokensTable;
  sessions: SessionsTable;
  notify_channels: NotifyChannelsTable;
  notify_webhooks: NotifyWebhooksTable;
  notify_outbox: NotifyOutboxTable;
  secrets: SecretsTable;
  alert_rules: AlertRulesTable;
  alerts: AlertsTable;
  alert_events: AlertEventsTable;
  silences: SilencesTable;
  terminal_sessions: TerminalSessionsTable;
  screenshots: ScreenshotsTable;
  screenshot_chunks: ScreenshotChunksTable;
  terminal_recordings: TerminalRecordingsTable;
  checks: ChecksTable;
  status_pages: StatusPagesTable;
  check_results: CheckResultsTable;
  check_latest: CheckLatestTable;
  check_1m: CheckRollupTable;
  check_1h: CheckRollupTable;
  push_subscriptions: PushSubscriptionsTable;
}

/** A browser subscribed to Web Push by a user (issue #20); the endpoint is unique per browser. */
export interface PushSubscriptionsTable {
  id: string;
  user_id: string;
  endpoint: string;
  /** The browser's p256dh and auth keys, sealed (context: the subscription id). */
  keys_sealed: string;
  user_agent: string | null;
  created_at: number;
  last_sent_at: number | null;
}

export type Db = Kysely<Database>;

/** A start-up failure with one message saying what went wrong, where, and what to do (issue #12). */
export class DatabaseStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseStartError';
  }
}

/** The database file and the two SQLite keeps beside it in WAL mode. */
export function databaseFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`];
}

/**
 * Opens the embedded SQLite database in WAL mode, checks it (`PRAGMA quick_check`) and runs
 * pending migrations. `synchronous = NORMAL` with WAL survives a process crash without
 * corruption (only an OS crash can lose the last transactions), which is the right trade for
 * telemetry. The files are the hub's alone: 0600, and SQLite gives -wal and -shm the mode of
 * the database file.
 */
export async function openSqliteDatabase(
  dataDir: string,
  options: { logger?: Logger; integrityCheck?: boolean; onQuery?: QueryListener } = {},
): Promise<{ db: Db; file: string; storage: StorageHealth }> {
  const file = path.join(dataDir, 'farol.db');
  const storage = createStorageHealth(file);
  let sqlite: SQLite.Database;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
    for (const name of databaseFiles(file)) if (existsSync(name)) chmodSync(name, 0o600);
    sqlite = new SQLite(file);
  } catch (error) {
    throw new DatabaseStartError(
      `cannot open the database ${file}: ${(error as Error).message}; check that ${dataDir} exists and is writable by this user (${userInfo().username}), or pass another --data`,
      { cause: error },
    );
  }
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const bytes = statSync(file).size;
    if (options.integrityCheck !== false && bytes <= QUICK_CHECK_MAX_BYTES) storage.setIntegrity(quickCheck(sqlite));
    else if (options.integrityCheck !== false) {
      options.logger?.info({ file, megabytes: Math.round(bytes / 1_048_576) }, 'database too large for the start-up quick_check; run `farol db check` from time to time');
    }
  } catch (error) {
    sqlite.close();
    const code = String((error as { code?: unknown }).code ?? '');
    throw new DatabaseStartError(`cannot use the database ${file}: ${(error as Error).message}; ${storageRemedy(code, file, 'starting')}`, { cause: error });
  }
  const integrity = storage.integrity();
  if (integrity && !integrity.ok) {
    options.logger?.error({ file, problems: integrity.problems }, `the database failed its integrity check: ${storageRemedy('SQLITE_CORRUPT', file)}`);
  } else if (integrity) {
    options.logger?.debug({ file, durationMs: integrity.durationMs }, 'database quick_check ok');
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite, storage) }), ...queryLog(options.onQuery) });
  try {
    await migrate(db, file);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  if (options.logger) storage.setLogger(options.logger);
  return { db, file, storage };
}

/** Told of every statement after it ran (tracing: infra/tracing.ts); absent, Kysely logs nothing. */
export type QueryListener = (event: { sql: string; durationMs: number; error?: unknown }) => void;

/** Kysely's `log` option for a listener, or nothing at all: without one, no per-query work. */
export function queryLog(onQuery: QueryListener | undefined): { log?: (event: LogEvent) => void } {
  if (!onQuery) return {};
  return { log: (event) => onQuery({ sql: event.query.sql, durationMs: event.queryDurationMillis, ...(event.level === 'error' ? { error: event.error } : {}) }) };
}

/**
 * The start-up check reads the whole file once: 0.17-0.22 s per 100 MB on a 2-core VM, up to
 * 1.1 s under load (bench/db-check.mjs, docs/operations.md). Above this size it would hold the
 * start too long.
 */
const QUICK_CHECK_MAX_BYTES = 512 * 1_048_576;

/**
 * `PRAGMA quick_check`: the B-tree structure without the index cross-check of
 * `integrity_check`, so it stays near the time of reading the file once (docs/operations.md).
 */
export function quickCheck(sqlite: SQLite.Database): IntegrityResult {
  const started = performance.now();
  let lines: string[];
  try {
    lines = (sqlite.pragma('quick_check(20)') as { quick_check: string }[]).map((row) => row.quick_check);
  } catch (error) {
    // Damage bad enough that the check cannot walk the file is itself the finding.
    if (!/^SQLITE_(CORRUPT|NOTADB)/.test(String((error as { code?: unknown }).code))) throw error;
    lines = [(error as Error).message];
  }
  return { ok: lines.length === 1 && lines[0] === 'ok', problems: lines[0] === 'ok' ? [] : lines, durationMs: Math.round(performance.now() - started), checkedAt: Date.now() };
}

/** Prepared statements kept per SQL text (most recently used first out when full). */
const STATEMENT_CACHE_SIZE = 512;
/** Longer texts are the variable-size bulk statements: prepared each time, not kept. */
const STATEMENT_CACHE_MAX_SQL = 65_536;

/**
 * Kysely's SQLite driver prepares every query anew; compiling the SQL is a third of the cost
 * of a small indexed read. The hub issues the same few hundred statements over and over, so
 * they are prepared once. Safe on the one connection: better-sqlite3 runs a statement to
 * completion (`all`/`run`) before the next one starts, and the hub never streams.
 *
 * With `storage`, every write's outcome is reported to it (issue #12), and a `rollback` after
 * SQLite already rolled back by itself (it does on SQLITE_FULL and some I/O errors) is a no-op
 * instead of "cannot rollback - no transaction is active", which hid the real error.
 */
export function withStatementCache(sqlite: SQLite.Database, storage?: StorageHealth): { close(): void; prepare(sql: string): SqliteStatement } {
  const cache = new Map<string, SqliteStatement>();
  const guard = (statement: SQLite.Statement, sql: string): SqliteStatement => {
    const isRollback = /^\s*rollback\b/i.test(sql);
    // `readonly` is false for writes (`returning` ones included) and true for begin/commit.
    const isWrite = (!statement.readonly && !isRollback) || /^\s*commit\b/i.test(sql);
    const observe = <T>(run: () => T): T => {
      try {
        const result = run();
        // A write outside a transaction, or a commit, reached the disk.
        if (isWrite && !sqlite.inTransaction) storage?.writeSucceeded();
        return result;
      } catch (error) {
        if (isWrite && isStorageFailure(error)) storage?.writeFailed(error);
        throw error;
      }
    };
    return {
      reader: statement.reader,
      all: (parameters) => observe(() => statement.all(parameters)),
      run: (parameters) => (isRollback && !sqlite.inTransaction ? { changes: 0, lastInsertRowid: 0 } : observe(() => statement.run(parameters))),
      iterate: (parameters) => statement.iterate(parameters),
    };
  };
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare(sql) {
      const cached = cache.get(sql);
      if (cached) {
        // Re-inserted: the Map's order is the recency order.
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = guard(sqlite.prepare(sql), sql);
      if (sql.length <= STATEMENT_CACHE_MAX_SQL) {
        cache.set(sql, statement);
        if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      return statement;
    },
  };
}

/** Where applied migrations are recorded (the table Kysely's Migrator used, so old files carry on). */
const MIGRATION_TABLE = 'kysely_migration';
/** Taken (transaction-level, so a PgBouncer in transaction mode keeps it) around every migration step. */
const MIGRATION_LOCK = 'farol:migrate';

/**
 * Runs every migration not yet applied, in name order. Each runs in its own transaction
 * together with its record (SQLite DDL is transactional), so one cut short by a full disk or a
 * crash leaves nothing behind and is simply run again at the next start (issue #12). Throws a
 * `DatabaseStartError` naming the migration, the real cause and what to do.
 */
export async function migrate(db: Db, file = 'the database'): Promise<void> {
  const run = async (): Promise<void> => {
    await db.transaction().execute(async (trx) => {
      await serializeWriters(trx, MIGRATION_LOCK);
      await sql`create table if not exists ${sql.table(MIGRATION_TABLE)} (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(trx);
    });
    const applied = new Set((await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(db)).rows.map((row) => row.name));
    for (const name of Object.keys(migrations).sort()) {
      if (applied.has(name)) continue;
      try {
        await db.transaction().execute(async (trx) => {
          // Hubs sharing one PostgreSQL start together: one migrates, the others find it done (issue #13).
          await serializeWriters(trx, MIGRATION_LOCK);
          if ((await sql`select name from ${sql.table(MIGRATION_TABLE)} where name = ${name}`.execute(trx)).rows.length > 0) return;
          await migrations[name]!.up(trx);
          await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(trx);
        });
      } catch (error) {
        throw new DatabaseStartError(`database migration ${name} failed on ${file}: ${(error as Error).message}; ${migrationRemedy(error, file)}`, { cause: error });
      }
    }
  };
  try {
    await run();
  } catch (error) {
    if (error instanceof DatabaseStartError) throw error;
    const code = String((error as { code?: unknown }).code ?? '');
    throw new DatabaseStartError(`cannot prepare the database ${file}: ${(error as Error).message}; ${storageRemedy(code, file, 'starting')}`, { cause: error });
  }
}

function migrationRemedy(error: unknown, file: string): string {
  if (isStorageFailure(error)) return `nothing of it was kept; ${storageRemedy(String((error as { code?: unknown }).code), file, 'starting')}`;
  if (/already exists/.test((error as Error).message)) {
    return `an earlier hub version left this migration half-applied: restore ${file} from a backup, or see "The hub does not start" in docs/operations.md`;
  }
  return `nothing of it was kept; restore ${file} from a backup if it was changed by hand, and report the error with the hub's log`;
}

/** What `farol db check` prints: a full `PRAGMA integrity_check` of a data directory's database. */
export interface DatabaseCheckReport {
  file: string;
  ok: boolean;
  /** Up to 100 lines of integrity_check output when not ok. */
  problems: string[];
  durationMs: number;
}

/**
 * A full integrity check (every page, every index against its table), read-only: safe while
 * the hub runs, and slower than the start-up quick_check.
 */
export function checkDatabaseFile(dataDir: string): DatabaseCheckReport {
  const file = path.join(dataDir, 'farol.db');
  let sqlite: SQLite.Database;
  try {
    sqlite = new SQLite(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new DatabaseStartError(`cannot open the database ${file}: ${(error as Error).message}; pass the hub's data directory with --data (or FAROL_DATA_DIR)`, { cause: error });
  }
  const started = performance.now();
  try {
    let problems: string[];
    try {
      problems = (sqlite.pragma('integrity_check(100)') as { integrity_check: string }[]).map((row) => row.integrity_check);
    } catch (error) {
      if (!/^SQLITE_(CORRUPT|NOTADB)/.test(String((error as { code?: unknown }).code))) throw error;
      problems = [(error as Error).message];
    }
    const ok = problems.length === 1 && problems[0] === 'ok';
    return { file, ok, problems: ok ? [] : problems, durationMs: Math.round(performance.now() - started) };
  } finally {
    sqlite.close();
  }
}
