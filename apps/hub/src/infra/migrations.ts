import type { Kysely, Migration } from 'kysely';
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
};
