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
  '0030_notify': {
    // Notification channels, event-webhook subscriptions and the outbox both deliver through
    // (issue #4). Secrets live only in the *_sealed columns, encrypted with the hub's secret box.
    async up(db: AnyDb) {
      await db.schema
        .createTable('notify_channels')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('secrets_sealed', 'text')
        .addColumn('template', 'text')
        .addColumn('rate_limit', 'text')
        .addColumn('quiet_hours', 'text')
        .addColumn('maintenance', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('notify_webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('url_sealed', 'text', (c) => c.notNull())
        .addColumn('url_origin', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text')
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('selector', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('notify_outbox')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('critical', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('sent_at', 'bigint')
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('notify_outbox_due').on('notify_outbox').columns(['state', 'next_attempt_at']).execute();
      await db.schema.createIndex('notify_outbox_target_sent').on('notify_outbox').columns(['target_id', 'sent_at']).execute();
    },
  },
  '0040_accounts': {
    // Operators (issue #6): users, custom roles, API tokens and browser sessions. Secrets are
    // stored hashed (tokens, sessions, recovery codes: sha256 of 256-bit random values;
    // passwords: argon2id) or sealed with the hub's secret key (TOTP seeds).
    async up(db: AnyDb) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text')
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('scope', 'text')
        .addColumn('disabled_at', 'bigint')
        .addColumn('totp_secret', 'text')
        .addColumn('totp_pending', 'text')
        .addColumn('totp_last_step', 'integer')
        .addColumn('recovery_codes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'bigint')
        .addColumn('last_login_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('roles')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('permissions', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .addColumn('mfa_at', 'bigint')
        .execute();
      await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('mfa_at', 'bigint')
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
    },
  },
  '0050_secrets': {
    // Operator secrets (issue #6): the value is sealed with the hub's secret key (never stored in
    // clear); secrets read through from Vault or Infisical store only their reference.
    async up(db: AnyDb) {
      await db.schema
        .createTable('secrets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('value_sealed', 'text')
        .addColumn('ref', 'text')
        .addColumn('description', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0020_alerts': {
    // Alert rules, alerts with their event history (also the notices still to hand to the
    // notifier: delivered_at null), and silences (issue #4).
    async up(db: AnyDb) {
      await db.schema
        .createTable('alert_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('condition', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('channels', 'text', (c) => c.notNull())
        .addColumn('escalation', 'text')
        .addColumn('cooldown_ms', 'integer')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('alerts')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('rule_name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('agent_name', 'text')
        .addColumn('instance', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('value', 'real')
        .addColumn('threshold', 'real')
        .addColumn('comparator', 'text')
        .addColumn('unit', 'text')
        .addColumn('since', 'bigint', (c) => c.notNull())
        .addColumn('fired_at', 'bigint')
        .addColumn('resolved_at', 'bigint')
        .addColumn('last_notified_at', 'bigint')
        .addColumn('notifications', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('escalated_at', 'bigint')
        .addColumn('acked_at', 'bigint')
        .addColumn('acked_by', 'text')
        .addColumn('ack_note', 'text')
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alerts_state').on('alerts').columns(['state', 'seq']).execute();
      await db.schema.createIndex('alerts_agent').on('alerts').columns(['agent_id', 'seq']).execute();
      await db.schema.createIndex('alerts_rule').on('alerts').columns(['rule_id', 'seq']).execute();
      await db.schema
        .createTable('alert_events')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('channels', 'text', (c) => c.notNull())
        .addColumn('silenced_by', 'text')
        .addColumn('actor', 'text')
        .addColumn('note', 'text')
        .addColumn('notice', 'text')
        .addColumn('delivered_at', 'bigint')
        .execute();
      await db.schema.createIndex('alert_events_alert').on('alert_events').columns(['alert_id', 'seq']).execute();
      await db.schema.createIndex('alert_events_undelivered').on('alert_events').column('delivered_at').where(sql.ref('notice'), 'is not', null).execute();
      await db.schema
        .createTable('silences')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('matcher', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('silences_ends').on('silences').column('ends_at').execute();
    },
  },
  '0010_terminal_sessions': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('terminal_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('agent_name', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('cols', 'integer', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('opened_at', 'bigint', (c) => c.notNull())
        .addColumn('closed_at', 'bigint')
        .addColumn('close_reason', 'text')
        .addColumn('exit_code', 'integer')
        .addColumn('bytes_in', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('bytes_out', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('recording_file', 'text')
        .execute();
      await db.schema.createIndex('terminal_sessions_opened').on('terminal_sessions').columns(['opened_at']).execute();
      await db.schema.createIndex('terminal_sessions_agent').on('terminal_sessions').columns(['agent_id', 'opened_at']).execute();
    },
  },
};
