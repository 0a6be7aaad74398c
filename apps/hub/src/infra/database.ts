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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return { db, file };
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
