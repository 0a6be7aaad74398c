import { sql, type Kysely, type Migration } from 'kysely';
import { METRIC_COLUMNS } from './database.js';
import { appendOnlyPostgres, dialectOf } from './dialect.js';
import { packRawHistory, partitionRawHistory } from './history-partitions.js';

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
  '0190_push_subscriptions': {
    // Issue #20: browsers subscribed to Web Push, one row per browser (the endpoint is unique: a
    // browser that subscribes again, or for another user, replaces its row). The VAPID key pair
    // lives in `kv`, sealed, so every hub of a shared database signs with the same key.
    async up(db: AnyDb) {
      await db.schema
        .createTable('push_subscriptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('endpoint', 'text', (c) => c.notNull().unique())
        .addColumn('keys_sealed', 'text', (c) => c.notNull())
        .addColumn('user_agent', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_sent_at', 'bigint')
        .execute();
      await db.schema.createIndex('push_subscriptions_user').on('push_subscriptions').columns(['user_id']).execute();
    },
  },
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
      if (dialectOf(db) === 'postgres') {
        await appendOnlyPostgres(db, 'audit_log', 'the audit log is append-only');
      } else {
        await sql`create trigger audit_log_no_update before update on audit_log begin select raise(abort, 'the audit log is append-only'); end`.execute(db);
        await sql`create trigger audit_log_no_delete before delete on audit_log begin select raise(abort, 'the audit log is append-only'); end`.execute(db);
      }
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
  '0060_auth_abuse': {
    // Issue #11: sign-in and second-factor limits that hold across hubs (counters in the
    // database, changed by single statements), and failed sign-ins kept as bounded,
    // aggregated noise instead of one permanent audit row each.
    async up(db: AnyDb) {
      await db.schema
        .createTable('auth_lockouts')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('locked_until', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('auth_lockouts_updated').on('auth_lockouts').column('updated_at').execute();
      await db.schema
        .createTable('auth_rate_windows')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('hits', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('auth_failures')
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('refused', 'integer', (c) => c.notNull())
        .addColumn('first_at', 'bigint', (c) => c.notNull())
        .addColumn('last_at', 'bigint', (c) => c.notNull())
        .addColumn('last_reason', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('auth_failures_pk', ['window_start', 'ip', 'username'])
        .execute();
      await db.schema.createIndex('auth_failures_last').on('auth_failures').column('last_at').execute();
    },
  },
  '0120_alert_rules_position': {
    async up(db: AnyDb) {
      // Rules list in the order they were added (the default rules share one created_at). SQLite's
      // rowid gave that order; PostgreSQL has no such column, so it is stored (issue #13).
      await db.schema.alterTable('alert_rules').addColumn('position', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      if (dialectOf(db) === 'sqlite') await sql`update alert_rules set position = rowid`.execute(db);
    },
  },
  '0130_metrics_raw_partitions': {
    async up(db: AnyDb) {
      // PostgreSQL only: raw history in day partitions, so retention drops days (issue #13).
      // SQLite keeps its one table, whose retention deletes in small chunks.
      if (dialectOf(db) === 'postgres') await partitionRawHistory(db, Object.values(METRIC_COLUMNS), Date.now());
    },
  },
  '0160_metrics_packed': {
    async up(db: AnyDb) {
      // PostgreSQL only: closed raw hours packed into one row per machine and hour, and a BRIN
      // index for the rollup watermark (issue #13: raw storage per heartbeat). SQLite unchanged.
      if (dialectOf(db) === 'postgres') await packRawHistory(db, Object.values(METRIC_COLUMNS), Date.now());
    },
  },
  '0195_container_auto_update': {
    // Issue #18: auto-update rules (machines by selector, container globs) and the rollouts of a
    // container to a new digest across the machines that run it; a rollout's targets are one JSON
    // column (only the leader writes them, docs/adr/0020-container-auto-update.md).
    async up(db: AnyDb) {
      await db.schema
        .createTable('container_update_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('selector', 'text', (c) => c.notNull())
        .addColumn('containers', 'text', (c) => c.notNull())
        .addColumn('window', 'text')
        .addColumn('channels', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('container_rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('container', 'text', (c) => c.notNull())
        .addColumn('image', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text')
        .addColumn('targets', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('container_rollouts_key').on('container_rollouts').columns(['container', 'digest']).execute();
      await db.schema.createIndex('container_rollouts_state').on('container_rollouts').columns(['state', 'created_at']).execute();
    },
  },
  '0205_container_registry_logins': {
    // ADR 0023: an auto-update rule may name a private registry and the secret (its name only)
    // holding its login, handed to the machines the rule matches for their digest checks.
    async up(db: AnyDb) {
      await db.schema.alterTable('container_update_rules').addColumn('registry', 'text').execute();
      await db.schema.alterTable('container_update_rules').addColumn('registry_secret', 'text').execute();
    },
  },
  '0155_agent_rollouts': {
    // Issue #15: agent updates in waves; one row per rollout and per machine in it.
    async up(db: AnyDb) {
      await db.schema
        .createTable('agent_rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('wave', 'integer', (c) => c.notNull())
        .addColumn('waves', 'integer', (c) => c.notNull())
        .addColumn('started_wave', 'integer', (c) => c.notNull())
        .addColumn('command', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('agent_rollouts_state').on('agent_rollouts').columns(['state', 'created_at']).execute();
      await db.schema
        .createTable('agent_rollout_targets')
        .addColumn('rollout_id', 'text', (c) => c.notNull().references('agent_rollouts.id').onDelete('cascade'))
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('agent_name', 'text', (c) => c.notNull())
        .addColumn('wave', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('from_version', 'text')
        .addColumn('job_id', 'text')
        .addColumn('error', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('agent_rollout_targets_pk', ['rollout_id', 'agent_id'])
        .execute();
    },
  },
  '0175_shared_files': {
    // Issue #14: screenshots and terminal recordings in the database, so every hub serves them
    // (docs/adr/0012-shared-security-state-and-files.md). Bytes in chunks: a PNG arrives in
    // 512 KiB pieces, and no row is ever the size of a whole 48 MiB image.
    async up(db: AnyDb) {
      const binary = dialectOf(db) === 'postgres' ? 'bytea' : 'blob';
      await db.schema
        .createTable('screenshots')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('command_id', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('screenshots_created').on('screenshots').columns(['created_at']).execute();
      await db.schema
        .createTable('screenshot_chunks')
        .addColumn('command_id', 'text', (c) => c.notNull())
        .addColumn('byte_offset', 'bigint', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addColumn('data', binary, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('screenshot_chunks_pk', ['command_id', 'byte_offset'])
        .execute();
      await db.schema
        .createTable('terminal_recordings')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('data', binary, (c) => c.notNull())
        .addPrimaryKeyConstraint('terminal_recordings_pk', ['session_id', 'seq'])
        .execute();
    },
  },
  '0140_checks': {
    // Service checks (issue #19): definitions, every run's result (raw, kept like raw samples),
    // and the newest result per check and location.
    async up(db: AnyDb) {
      await db.schema
        .createTable('checks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('probe', 'text', (c) => c.notNull())
        .addColumn('run_on', 'text', (c) => c.notNull())
        .addColumn('interval_ms', 'integer', (c) => c.notNull())
        .addColumn('timeout_ms', 'integer', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('check_results')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('check_id', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('latency_ms', 'real')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('cert_days_left', 'real')
        .addColumn('perfdata', 'text')
        .execute();
      await db.schema.createIndex('check_results_check_ts').on('check_results').columns(['check_id', 'ts']).execute();
      await db.schema.createIndex('check_results_ts').on('check_results').columns(['ts']).execute();
      await db.schema
        .createTable('check_latest')
        .addColumn('check_id', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('latency_ms', 'real')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('cert_days_left', 'real')
        .addPrimaryKeyConstraint('check_latest_pk', ['check_id', 'location'])
        .execute();
      // Counters per check, location and hour, kept 90 days: uptime over 24 h / 7 d / 30 d.
      await db.schema
        .createTable('check_hourly')
        .addColumn('check_id', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('hour', 'bigint', (c) => c.notNull())
        .addColumn('up', 'integer', (c) => c.notNull())
        .addColumn('down', 'integer', (c) => c.notNull())
        .addColumn('unknown', 'integer', (c) => c.notNull())
        .addColumn('latency_sum', 'real', (c) => c.notNull())
        .addColumn('latency_n', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('check_hourly_pk', ['check_id', 'location', 'hour'])
        .execute();
      await db.schema.createIndex('check_hourly_hour').on('check_hourly').columns(['hour']).execute();
    },
  },
  '0180_users_oidc': {
    // Issue #20: single sign-on. A user made by OpenID Connect is linked by issuer + subject
    // (never by e-mail or name); `oidc_refused_at` marks an account the provider's claims
    // disabled, so a later sign-in that matches a group again may enable it (an admin's
    // disable stays). Several NULL pairs are allowed by the unique index on both databases.
    async up(db: AnyDb) {
      await db.schema.alterTable('users').addColumn('oidc_issuer', 'text').execute();
      await db.schema.alterTable('users').addColumn('oidc_subject', 'text').execute();
      await db.schema.alterTable('users').addColumn('oidc_refused_at', 'bigint').execute();
      await db.schema.createIndex('users_oidc_identity').on('users').columns(['oidc_issuer', 'oidc_subject']).unique().execute();
    },
  },
  '0185_chat_actions': {
    // Issue #20: actions offered in chat messages (Telegram buttons, Slack/Discord links), stored
    // here so only a short id + MAC travels; `used_at` makes each single-use (set with a
    // conditional update). Chat users linked to Farol users, and the one-time codes that link them.
    async up(db: AnyDb) {
      await db.schema
        .createTable('chat_actions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('container', 'text')
        .addColumn('channel_id', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('used_by', 'text')
        .execute();
      await db.schema.createIndex('chat_actions_delivery').on('chat_actions').columns(['delivery_id']).execute();
      await db.schema.createIndex('chat_actions_expires').on('chat_actions').columns(['expires_at']).execute();
      await db.schema
        .createTable('chat_links')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text', (c) => c.notNull())
        .addColumn('external_name', 'text')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('chat_links_external', ['provider', 'external_id'])
        .execute();
      await db.schema.createIndex('chat_links_user').on('chat_links').columns(['user_id']).execute();
      await db.schema
        .createTable('chat_link_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      // How each Telegram channel's button presses reach the hub: `webhook` (setWebhook to this
      // hub) or `polling` (the leader's getUpdates, from `update_offset`). Only channels listed
      // here get callback buttons.
      await db.schema
        .createTable('chat_telegram_modes')
        .addColumn('channel_id', 'text', (c) => c.primaryKey())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('url', 'text')
        .addColumn('update_offset', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('registered_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0198_checks_file_status_pages': {
    // Issue #19: checks defined in FAROL_CHECKS_FILE (read-only through the API), and public
    // status pages of chosen checks under display names.
    async up(db: AnyDb) {
      await db.schema.alterTable('checks').addColumn('source', 'text', (c) => c.notNull().defaultTo('api')).execute();
      await db.schema
        .createTable('status_pages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('entries', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0200_network': {
    // Issue #19, the network view: hub <-> agent round trips per minute (kept 8 days) and per hour
    // (kept 90 days), each machine's latest network facts (its address as the hub saw it, its
    // tailscale status), and when each tailnet peer link was last direct ("got worse").
    async up(db: AnyDb) {
      await db.schema
        .createTable('network_rtt_1m')
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('p50_ms', 'real', (c) => c.notNull())
        .addColumn('min_ms', 'real', (c) => c.notNull())
        .addColumn('max_ms', 'real', (c) => c.notNull())
        .addColumn('sum_ms', 'real', (c) => c.notNull())
        .addPrimaryKeyConstraint('network_rtt_1m_pk', ['agent_id', 'ts'])
        .execute();
      await db.schema.createIndex('network_rtt_1m_ts').on('network_rtt_1m').columns(['ts']).execute();
      await db.schema
        .createTable('network_rtt_1h')
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('p50_sum', 'real', (c) => c.notNull())
        .addColumn('p50_n', 'integer', (c) => c.notNull())
        .addColumn('min_ms', 'real', (c) => c.notNull())
        .addColumn('max_ms', 'real', (c) => c.notNull())
        .addColumn('sum_ms', 'real', (c) => c.notNull())
        .addPrimaryKeyConstraint('network_rtt_1h_pk', ['agent_id', 'ts'])
        .execute();
      await db.schema.createIndex('network_rtt_1h_ts').on('network_rtt_1h').columns(['ts']).execute();
      await db.schema
        .createTable('network_agents')
        .addColumn('agent_id', 'text', (c) => c.primaryKey())
        .addColumn('remote_address', 'text')
        .addColumn('tailscale', 'text')
        .addColumn('tailscale_at', 'bigint')
        .addColumn('rtt_last_ms', 'real')
        .addColumn('rtt_last_at', 'bigint')
        .execute();
      await db.schema
        .createTable('network_peer_links')
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('peer_key', 'text', (c) => c.notNull())
        .addColumn('last_direct_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('network_peer_links_pk', ['agent_id', 'peer_key'])
        .execute();
    },
  },
  '0172_leadership': {
    // Issue #14: the leader lease of several hubs (a row per lease, `epoch` the fencing token);
    // outbox claims name their claimant, so a new leader re-sends only what a former one left
    // mid-send; `stored_at` (the hub's clock when the newest sample was stored) lets the leader
    // follow samples that other hubs received.
    async up(db: AnyDb) {
      await db.schema
        .createTable('leader_leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('epoch', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('acquired_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.alterTable('notify_outbox').addColumn('claimed_by', 'text').execute();
      await db.schema.alterTable('notify_outbox').addColumn('claim_epoch', 'bigint').execute();
      await db.schema.alterTable('agent_latest').addColumn('stored_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.createIndex('agent_latest_stored_at').on('agent_latest').columns(['stored_at']).execute();
    },
  },
  '0230_check_rollups': {
    // Issue #19: check results get the tiers of metrics. `check_1m` and `check_1h` are rolled up
    // from `check_results` by the leader's rollup pass (replacing `check_hourly`, which every
    // stored result incremented). Hourly counters older than the oldest raw hour still held are
    // copied; that hour's raw rows go (they were next to be pruned), so the first pass builds
    // every newer bucket from raw results alone.
    async up(db: AnyDb) {
      for (const table of ['check_1m', 'check_1h']) {
        await db.schema
          .createTable(table)
          .addColumn('check_id', 'text', (c) => c.notNull())
          .addColumn('location', 'text', (c) => c.notNull())
          .addColumn('ts', 'bigint', (c) => c.notNull())
          .addColumn('ok', 'integer', (c) => c.notNull())
          .addColumn('warning', 'integer', (c) => c.notNull())
          .addColumn('critical', 'integer', (c) => c.notNull())
          .addColumn('unknown', 'integer', (c) => c.notNull())
          .addColumn('latency_sum', 'real', (c) => c.notNull())
          .addColumn('latency_min', 'real')
          .addColumn('latency_max', 'real')
          .addColumn('latency_n', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['check_id', 'location', 'ts'])
          .execute();
        await db.schema.createIndex(`${table}_ts`).on(table).columns(['ts']).execute();
      }
      const hour = sql.lit(3_600_000);
      const oldest = await sql<{ edge: number | string | null }>`select (min(ts) / ${hour}) * ${hour} + ${hour} as edge from check_results`.execute(db);
      const edge = oldest.rows[0]?.edge === null || oldest.rows[0]?.edge === undefined ? null : Number(oldest.rows[0].edge);
      // Unknown runs were not told apart from warnings in the counters: `up` becomes `ok`.
      await sql`
        insert into check_1h (check_id, location, ts, ok, warning, critical, unknown, latency_sum, latency_min, latency_max, latency_n)
        select check_id, location, hour, up, 0, down, unknown, latency_sum, null, null, latency_n
        from check_hourly ${edge === null ? sql`` : sql`where hour < ${edge}`}`.execute(db);
      if (edge !== null) await sql`delete from check_results where ts < ${edge}`.execute(db);
      await db.schema.dropTable('check_hourly').execute();
    },
  },
  '0231_check_latest_stored_at': {
    // Issue #14: when a hub stored a check's newest result (that hub's clock), so the leader
    // follows results stored by every hub, as `agent_latest.stored_at` does for samples.
    async up(db: AnyDb) {
      await db.schema.alterTable('check_latest').addColumn('stored_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.createIndex('check_latest_stored_at').on('check_latest').columns(['stored_at']).execute();
    },
  },
  '0232_status_page_language': {
    // Issue #19: a public status page in English or Brazilian Portuguese (`auto`: by the
    // visitor's Accept-Language).
    async up(db: AnyDb) {
      await db.schema.alterTable('status_pages').addColumn('language', 'text', (c) => c.notNull().defaultTo('auto')).execute();
    },
  },
  '0235_agent_latest_updates_offered': {
    // Issue #16: how many containers of the newest sample offer an update, so the automatic
    // container updater reads the few samples that matter instead of parsing the whole fleet's
    // every 30 s. Rows stored before are counted from their JSON (a superset is harmless: the
    // updater checks each sample it reads); the next heartbeat stores the exact count.
    async up(db: AnyDb) {
      await db.schema.alterTable('agent_latest').addColumn('updates_offered', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await sql`update agent_latest set updates_offered = 1 where sample like '%"availableDigest":"%'`.execute(db);
    },
  },
};
