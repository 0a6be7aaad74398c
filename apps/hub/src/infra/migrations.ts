import { sql, type Kysely, type Migration } from 'kysely';
import { METRIC_COLUMNS } from './database.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was at the time, not the current Database type. */
type AnyDb = Kysely<any>;

function addMetricColumns<T extends { addColumn: (name: string, type: 'real' | 'integer', build?: (c: any) => any) => T }>(builder: T, suffixes: string[]): T {
  let result = builder;
  for (const column of Object.values(METRIC_COLUMNS)) {
    for (const suffix of suffixes) {
      result = suffix === '_n' ? result.addColumn(`${column}${suffix}`, 'integer', (c) => c.notNull().defaultTo(0)) : result.addColumn(`${column}${suffix}`, 'real');
    }
  }
  return result;
}

/** Versioned schema changes, applied in name order at start. Never edit a shipped one. */
export const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('agents')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('hostname', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('key_fingerprint', 'text', (c) => c.notNull().unique())
        .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('system', 'text')
        .addColumn('heartbeat_interval_ms', 'integer')
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('offline'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint')
        .addColumn('join_token_id', 'text')
        .execute();

      await db.schema
        .createTable('revoked_keys')
        .addColumn('key_fingerprint', 'text', (c) => c.primaryKey())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('join_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('note', 'text')
        .addColumn('max_uses', 'integer', (c) => c.notNull())
        .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();

      await addMetricColumns(
        db.schema
          .createTable('metrics_raw')
          .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          .addColumn('agent_seq', 'integer', (c) => c.notNull())
          .addColumn('ts', 'bigint', (c) => c.notNull()),
        [''],
      ).execute();
      // Serves both de-duplication of re-sent samples and per-agent range queries.
      await db.schema.createIndex('metrics_raw_agent_ts').on('metrics_raw').columns(['agent_seq', 'ts']).unique().execute();
      await db.schema.createIndex('metrics_raw_ts').on('metrics_raw').column('ts').execute();

      for (const table of ['metrics_1m', 'metrics_1h']) {
        await addMetricColumns(
          db.schema
            .createTable(table)
            .addColumn('agent_seq', 'integer', (c) => c.notNull())
            .addColumn('ts', 'bigint', (c) => c.notNull())
            .addColumn('samples', 'integer', (c) => c.notNull())
            .addPrimaryKeyConstraint(`${table}_pk`, ['agent_seq', 'ts']),
          ['_avg', '_min', '_max', '_n'],
        ).execute();
        await db.schema.createIndex(`${table}_ts`).on(table).column('ts').execute();
      }

      await db.schema
        .createTable('kv')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_jobs': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('jobs')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('command', 'text', (c) => c.notNull())
        .addColumn('targets_spec', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('ttl_ms', 'integer', (c) => c.notNull())
        .addColumn('timeout_ms', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('cancelled_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('total', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'seq']).execute();

      await db.schema
        .createTable('job_targets')
        .addColumn('command_id', 'text', (c) => c.primaryKey())
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('agent_name', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('signal', 'text')
        .addColumn('stdout', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('stderr', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('stdout_truncated', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('stderr_truncated', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('data', 'text')
        .addColumn('sent_at', 'bigint')
        .addColumn('started_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .addColumn('error', 'text')
        .addColumn('result_at', 'bigint')
        .execute();
      await db.schema.createIndex('job_targets_job').on('job_targets').columns(['job_id', 'agent_name']).execute();
      await db.schema.createIndex('job_targets_agent').on('job_targets').columns(['agent_id', 'state']).execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'integer', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('job_id', 'text')
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
      await db.schema.createIndex('audit_log_agent').on('audit_log').columns(['agent_id', 'seq']).execute();
      await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'seq']).execute();
      // Append-only at the database level too; the hash chain catches whoever edits the file.
      await sql`create trigger audit_log_no_update before update on audit_log begin select raise(abort, 'the audit log is append-only'); end`.execute(db);
      await sql`create trigger audit_log_no_delete before delete on audit_log begin select raise(abort, 'the audit log is append-only'); end`.execute(db);
    },
  },
  '0003_agent_latest': {
    // The newest full sample of each agent, upserted with every heartbeat batch, so the hub
    // keeps none of them in memory and has them at once after a restart.
    async up(db: AnyDb) {
      await db.schema
        .createTable('agent_latest')
        .addColumn('agent_seq', 'integer', (c) => c.primaryKey())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('sample', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
