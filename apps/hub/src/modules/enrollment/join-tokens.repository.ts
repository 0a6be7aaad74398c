import type { Selectable } from 'kysely';
import type { Labels } from '@farol/protocol';
import type { Db, JoinTokensTable } from '../../infra/database.js';

export interface JoinTokenRecord {
  id: string;
  secretHash: string;
  labels: Labels;
  note: string | null;
  maxUses: number;
  uses: number;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

function toRecord(row: Selectable<JoinTokensTable>): JoinTokenRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    labels: JSON.parse(row.labels) as Labels,
    note: row.note,
    maxUses: row.max_uses,
    uses: row.uses,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

export type JoinTokensRepository = ReturnType<typeof createJoinTokensRepository>;

/** SQL for join tokens. Only hashes of secrets are stored. */
export function createJoinTokensRepository(db: Db) {
  return {
    async insert(token: Omit<JoinTokenRecord, 'uses' | 'revokedAt' | 'lastUsedAt'>): Promise<JoinTokenRecord> {
      const row = await db
        .insertInto('join_tokens')
        .values({
          id: token.id,
          secret_hash: token.secretHash,
          labels: JSON.stringify(token.labels),
          note: token.note,
          max_uses: token.maxUses,
          uses: 0,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },

    async findById(id: string): Promise<JoinTokenRecord | undefined> {
      const row = await db.selectFrom('join_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },

    async list(): Promise<JoinTokenRecord[]> {
      return (await db.selectFrom('join_tokens').selectAll().orderBy('created_at', 'desc').execute()).map(toRecord);
    },

    /** Takes one use if the token is still good at `now`; false when it is not (any reason). */
    async consume(id: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('join_tokens')
        .set((eb) => ({ uses: eb('uses', '+', 1), last_used_at: now }))
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where((eb) => eb('uses', '<', eb.ref('max_uses')))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async revoke(id: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('join_tokens')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
