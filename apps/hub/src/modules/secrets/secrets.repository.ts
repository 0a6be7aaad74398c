import type { Selectable } from 'kysely';
import type { SecretRef, SecretSource } from '@farol/protocol';
import type { Db, SecretsTable } from '../../infra/database.js';

/** A secret as stored: the value only ever sealed (or absent, for a vault reference). */
export interface SecretRecord {
  id: string;
  name: string;
  scope: string;
  source: SecretSource;
  valueSealed: string | null;
  ref: SecretRef | null;
  description: string | null;
  version: number;
  createdAt: number;
  updatedAt: number;
  updatedBy: string;
}

function toRecord(row: Selectable<SecretsTable>): SecretRecord {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    source: row.source === 'vault' || row.source === 'infisical' ? row.source : 'hub',
    valueSealed: row.value_sealed,
    ref: row.ref === null ? null : (JSON.parse(row.ref) as SecretRef),
    description: row.description,
    version: row.version,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    updatedBy: row.updated_by,
  };
}

function toRow(record: SecretRecord): SecretsTable {
  return {
    id: record.id,
    name: record.name,
    scope: record.scope,
    source: record.source,
    value_sealed: record.valueSealed,
    ref: record.ref === null ? null : JSON.stringify(record.ref),
    description: record.description,
    version: record.version,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    updated_by: record.updatedBy,
  };
}

export type SecretsRepository = ReturnType<typeof createSecretsRepository>;

/** SQL for secrets; nothing else knows this table. */
export function createSecretsRepository(db: Db) {
  return {
    async list(): Promise<SecretRecord[]> {
      const rows = await db.selectFrom('secrets').selectAll().orderBy('name').execute();
      return rows.map(toRecord);
    },

    async findByName(name: string): Promise<SecretRecord | null> {
      const row = await db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async findByNames(names: string[]): Promise<SecretRecord[]> {
      if (names.length === 0) return [];
      const rows = await db.selectFrom('secrets').selectAll().where('name', 'in', names).execute();
      return rows.map(toRecord);
    },

    async insert(record: SecretRecord): Promise<void> {
      await db.insertInto('secrets').values(toRow(record)).execute();
    },

    async update(record: SecretRecord): Promise<void> {
      const { id: _id, name: _name, created_at: _created, ...changes } = toRow(record);
      await db.updateTable('secrets').set(changes).where('id', '=', record.id).execute();
    },

    /**
     * Issue #11: the label scope of the user who sent a command, read when its secrets are
     * fetched; null for an unscoped user, undefined when no user has that name (the hub's own
     * jobs, e.g. the alerts engine's).
     */
    async actorScope(username: string): Promise<string | null | undefined> {
      const row = await db.selectFrom('users').select('scope').where('username', '=', username).executeTakeFirst();
      return row?.scope;
    },

        async remove(name: string): Promise<boolean> {
      const result = await db.deleteFrom('secrets').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
