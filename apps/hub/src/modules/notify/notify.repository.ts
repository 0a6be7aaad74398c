import type { Insertable, Selectable } from 'kysely';
import type { Db, NotifyChannelsTable, NotifyOutboxTable, NotifyWebhooksTable } from '../../infra/database.js';

export type ChannelRow = Selectable<NotifyChannelsTable>;
export type WebhookRow = Selectable<NotifyWebhooksTable>;
export type OutboxRow = Selectable<NotifyOutboxTable>;
export type NewOutboxRow = Insertable<NotifyOutboxTable>;

const asNumber = <T extends Record<string, unknown>>(row: T, keys: Array<keyof T>): T => {
  const copy = { ...row };
  for (const key of keys) if (copy[key] !== null && copy[key] !== undefined) (copy as Record<keyof T, unknown>)[key] = Number(copy[key]);
  return copy;
};
const outboxNumbers = (row: OutboxRow): OutboxRow => asNumber(row, ['created_at', 'next_attempt_at', 'sent_at']);

/** SQL of channels, webhook subscriptions and the outbox. */
export function createNotifyRepository(db: Db) {
  return {
    // ---- channels
    async listChannels(): Promise<ChannelRow[]> {
      return (await db.selectFrom('notify_channels').selectAll().orderBy('name').execute()).map((r) => asNumber(r, ['created_at', 'updated_at']));
    },
    async findChannel(ref: string): Promise<ChannelRow | undefined> {
      const row = await db
        .selectFrom('notify_channels')
        .selectAll()
        .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
        .executeTakeFirst();
      return row && asNumber(row, ['created_at', 'updated_at']);
    },
    async insertChannel(row: ChannelRow): Promise<void> {
      await db.insertInto('notify_channels').values(row).execute();
    },
    async updateChannel(id: string, patch: Partial<ChannelRow>): Promise<void> {
      await db.updateTable('notify_channels').set(patch).where('id', '=', id).execute();
    },
    async deleteChannel(id: string): Promise<boolean> {
      const result = await db.deleteFrom('notify_channels').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    // ---- webhook subscriptions
    async listWebhooks(): Promise<WebhookRow[]> {
      return (await db.selectFrom('notify_webhooks').selectAll().orderBy('name').execute()).map((r) => asNumber(r, ['created_at']));
    },
    async findWebhook(ref: string): Promise<WebhookRow | undefined> {
      const row = await db
        .selectFrom('notify_webhooks')
        .selectAll()
        .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
        .executeTakeFirst();
      return row && asNumber(row, ['created_at']);
    },
    async insertWebhook(row: WebhookRow): Promise<void> {
      await db.insertInto('notify_webhooks').values(row).execute();
    },
    async updateWebhook(id: string, patch: Partial<WebhookRow>): Promise<void> {
      await db.updateTable('notify_webhooks').set(patch).where('id', '=', id).execute();
    },
    async deleteWebhook(id: string): Promise<boolean> {
      const result = await db.deleteFrom('notify_webhooks').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    // ---- outbox
    async enqueue(rows: NewOutboxRow[]): Promise<void> {
      if (rows.length === 0) return;
      // One statement, so the rows of one notify() commit together.
      await db.insertInto('notify_outbox').values(rows).execute();
    },
    /** Rows whose turn has come, oldest first. */
    async due(now: number, limit: number): Promise<OutboxRow[]> {
      const rows = await db
        .selectFrom('notify_outbox')
        .selectAll()
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(outboxNumbers);
    },
    async nextDueAt(): Promise<number | null> {
      const row = await db.selectFrom('notify_outbox').select((eb) => eb.fn.min('next_attempt_at').as('next')).where('state', '=', 'pending').executeTakeFirst();
      return row?.next === null || row?.next === undefined ? null : Number(row.next);
    },
    /**
     * Claims a row before its request leaves: `sending` with the attempt counted. A crash after
     * the provider accepted but before `markSent` leaves it `sending`; `resumeInterrupted` puts it
     * back, which is the one duplicate a crash can cause.
     */
    async claim(id: string): Promise<boolean> {
      const result = await db
        .updateTable('notify_outbox')
        .set((eb) => ({ state: 'sending', attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async markSent(id: string, at: number): Promise<void> {
      await db.updateTable('notify_outbox').set({ state: 'sent', sent_at: at, next_attempt_at: null, last_error: null }).where('id', '=', id).execute();
    },
    async reschedule(id: string, at: number, error: string | null, { refund = false }: { refund?: boolean } = {}): Promise<void> {
      await db
        .updateTable('notify_outbox')
        .set((eb) => ({ state: 'pending', next_attempt_at: at, last_error: error, ...(refund ? { attempts: eb('attempts', '-', 1) } : {}) }))
        .where('id', '=', id)
        .execute();
    },
    async finish(id: string, state: 'failed' | 'dropped', error: string): Promise<void> {
      await db.updateTable('notify_outbox').set({ state, next_attempt_at: null, last_error: error }).where('id', '=', id).execute();
    },
    async resumeInterrupted(now: number): Promise<number> {
      const result = await db.updateTable('notify_outbox').set({ state: 'pending', next_attempt_at: now }).where('state', '=', 'sending').executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    /** Sent times of a target after `from`, oldest first (the rate limit's window). */
    async sentSince(targetId: string, from: number): Promise<number[]> {
      const rows = await db
        .selectFrom('notify_outbox')
        .select('sent_at')
        .where('target_id', '=', targetId)
        .where('sent_at', '>', from)
        .orderBy('sent_at')
        .execute();
      return rows.map((r) => Number(r.sent_at));
    },
    async listOutbox(state: string | undefined, limit: number): Promise<OutboxRow[]> {
      let query = db.selectFrom('notify_outbox').selectAll().orderBy('seq', 'desc').limit(limit);
      if (state) query = query.where('state', '=', state);
      return (await query.execute()).map(outboxNumbers);
    },
    /** Forgets finished deliveries older than `before`. */
    async prune(before: number): Promise<number> {
      const result = await db.deleteFrom('notify_outbox').where('state', 'in', ['sent', 'failed', 'dropped']).where('created_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
export type NotifyRepository = ReturnType<typeof createNotifyRepository>;
