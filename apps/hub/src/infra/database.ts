import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Generated } from 'kysely';
import { migrations } from './migrations.js';

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

export interface Database {
  agents: AgentsTable;
  revoked_keys: RevokedKeysTable;
  join_tokens: JoinTokensTable;
  metrics_raw: MetricsRawTable;
  metrics_1m: MetricsRollupTable;
  metrics_1h: MetricsRollupTable;
  agent_latest: AgentLatestTable;
  kv: KvTable;
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
}

export type Db = Kysely<Database>;

/**
 * Opens the embedded SQLite database in WAL mode and runs pending migrations.
 * `synchronous = NORMAL` with WAL survives a process crash without corruption (only an OS
 * crash can lose the last transactions), which is the right trade for telemetry.
 */
export async function openSqliteDatabase(dataDir: string): Promise<{ db: Db; file: string }> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'farol.db');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrate(db);
  return { db, file };
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
 */
export function withStatementCache(sqlite: SQLite.Database): { close(): void; prepare(sql: string): SQLite.Statement } {
  const cache = new Map<string, SQLite.Statement>();
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
      const statement = sqlite.prepare(sql);
      if (sql.length <= STATEMENT_CACHE_MAX_SQL) {
        cache.set(sql, statement);
        if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      return statement;
    },
  };
}

/** Runs every migration not yet applied; throws with the failing migration's name. */
export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed`, { cause: error });
  }
}
