import type { Selectable } from 'kysely';
import type { Db, PushSubscriptionsTable } from '../../infra/database.js';

/** A subscribed browser as stored (issue #20): the keys stay sealed until a message is encrypted. */
export interface PushSubscriptionRecord {
  id: string;
  userId: string;
  endpoint: string;
  keysSealed: string;
  userAgent: string | null;
  createdAt: number;
  lastSentAt: number | null;
}

/** The `kv` key of the hub's VAPID key pair (sealed JSON). */
const VAPID_KEY = 'push.vapid';

function toRecord(row: Selectable<PushSubscriptionsTable>): PushSubscriptionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    endpoint: row.endpoint,
    keysSealed: row.keys_sealed,
    userAgent: row.user_agent,
    // bigint columns arrive as strings from PostgreSQL.
    createdAt: Number(row.created_at),
    lastSentAt: row.last_sent_at === null ? null : Number(row.last_sent_at),
  };
}

export function createPushRepository(db: Db) {
  return {
    async getVapid(): Promise<string | undefined> {
      return (await db.selectFrom('kv').select('value').where('key', '=', VAPID_KEY).executeTakeFirst())?.value;
    },
    /** Stores the key pair unless one exists (another hub won the race); returns the one stored. */
    async putVapidOnce(sealed: string): Promise<string> {
      await db.insertInto('kv').values({ key: VAPID_KEY, value: sealed }).onConflict((oc) => oc.column('key').doNothing()).execute();
      return (await db.selectFrom('kv').select('value').where('key', '=', VAPID_KEY).executeTakeFirstOrThrow()).value;
    },
    async findByEndpoint(endpoint: string): Promise<PushSubscriptionRecord | undefined> {
      const row = await db.selectFrom('push_subscriptions').selectAll().where('endpoint', '=', endpoint).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },
    async findById(id: string): Promise<PushSubscriptionRecord | undefined> {
      const row = await db.selectFrom('push_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },
    async listOf(userId: string): Promise<PushSubscriptionRecord[]> {
      return (await db.selectFrom('push_subscriptions').selectAll().where('user_id', '=', userId).orderBy('created_at').execute()).map(toRecord);
    },
    async listAll(): Promise<PushSubscriptionRecord[]> {
      return (await db.selectFrom('push_subscriptions').selectAll().orderBy('created_at').execute()).map(toRecord);
    },
    async insert(record: PushSubscriptionRecord): Promise<void> {
      await db
        .insertInto('push_subscriptions')
        .values({
          id: record.id,
          user_id: record.userId,
          endpoint: record.endpoint,
          keys_sealed: record.keysSealed,
          user_agent: record.userAgent,
          created_at: record.createdAt,
          last_sent_at: record.lastSentAt,
        })
        .execute();
    },
    async remove(id: string): Promise<boolean> {
      const result = await db.deleteFrom('push_subscriptions').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async markSent(id: string, at: number): Promise<void> {
      await db.updateTable('push_subscriptions').set({ last_sent_at: at }).where('id', '=', id).execute();
    },
  };
}
export type PushRepository = ReturnType<typeof createPushRepository>;
