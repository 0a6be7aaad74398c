import type { Insertable, Selectable } from 'kysely';
import type { ChannelTemplate, ChannelType, MaintenanceWindow, OutboxState, QuietHours, RateLimit, WebhookEventType, WebhookSelector } from '@farol/protocol';
import type { Db, NotifyChannelsTable, NotifyOutboxTable, NotifyWebhooksTable } from '../../infra/database.js';

/** A notification channel as stored: settings in clear with secrets masked, the secrets sealed apart (issue #21: no raw rows). */
export interface ChannelRecord {
  id: string;
  name: string;
  type: ChannelType;
  enabled: boolean;
  /** Settings with every secret field replaced by its mask. */
  settings: Record<string, unknown>;
  /** The secret fields as one sealed JSON object; channel-store opens it. */
  secretsSealed: string | null;
  template: ChannelTemplate | null;
  /** Null: the default rate limit applies. */
  rateLimit: RateLimit | null;
  quietHours: QuietHours | null;
  maintenance: MaintenanceWindow[];
  source: 'api' | 'file';
  createdAt: number;
  updatedAt: number;
}

/** An event-webhook subscription as stored: the URL and signing secret sealed (issue #21: no raw rows). */
export interface WebhookRecord {
  id: string;
  name: string;
  urlSealed: string;
  /** What the API shows of the URL: its origin and a mask. */
  urlOrigin: string;
  secretSealed: string | null;
  events: WebhookEventType[];
  selector: WebhookSelector;
  enabled: boolean;
  createdAt: number;
}

/** What an update of a subscription may change. */
export type WebhookChanges = Partial<Omit<WebhookRecord, 'id' | 'createdAt'>>;

const parseJson = <T>(text: string): T => JSON.parse(text) as T;
const parseJsonOrNull = <T>(text: string | null): T | null => (text ? parseJson<T>(text) : null);
const jsonOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

function toChannelRecord(row: Selectable<NotifyChannelsTable>): ChannelRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type as ChannelType,
    enabled: Number(row.enabled) === 1,
    settings: parseJson<Record<string, unknown>>(row.settings),
    secretsSealed: row.secrets_sealed,
    template: parseJsonOrNull<ChannelTemplate>(row.template),
    rateLimit: parseJsonOrNull<RateLimit>(row.rate_limit),
    quietHours: parseJsonOrNull<QuietHours>(row.quiet_hours),
    maintenance: parseJson<MaintenanceWindow[]>(row.maintenance),
    source: row.source === 'file' ? 'file' : 'api',
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toChannelRow(record: ChannelRecord): Insertable<NotifyChannelsTable> {
  return {
    id: record.id,
    name: record.name,
    type: record.type,
    enabled: record.enabled ? 1 : 0,
    settings: JSON.stringify(record.settings),
    secrets_sealed: record.secretsSealed,
    template: jsonOrNull(record.template),
    rate_limit: jsonOrNull(record.rateLimit),
    quiet_hours: jsonOrNull(record.quietHours),
    maintenance: JSON.stringify(record.maintenance),
    source: record.source,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

function toWebhookRecord(row: Selectable<NotifyWebhooksTable>): WebhookRecord {
  return {
    id: row.id,
    name: row.name,
    urlSealed: row.url_sealed,
    urlOrigin: row.url_origin,
    secretSealed: row.secret_sealed,
    events: parseJson<WebhookEventType[]>(row.events),
    selector: parseJson<WebhookSelector>(row.selector),
    enabled: Number(row.enabled) === 1,
    createdAt: Number(row.created_at),
  };
}

function toWebhookRow(record: WebhookRecord): Insertable<NotifyWebhooksTable> {
  return {
    id: record.id,
    name: record.name,
    url_sealed: record.urlSealed,
    url_origin: record.urlOrigin,
    secret_sealed: record.secretSealed,
    events: JSON.stringify(record.events),
    selector: JSON.stringify(record.selector),
    enabled: record.enabled ? 1 : 0,
    created_at: record.createdAt,
  };
}

function toWebhookColumns(changes: WebhookChanges): Partial<Insertable<NotifyWebhooksTable>> {
  return {
    ...(changes.name === undefined ? {} : { name: changes.name }),
    ...(changes.urlSealed === undefined ? {} : { url_sealed: changes.urlSealed }),
    ...(changes.urlOrigin === undefined ? {} : { url_origin: changes.urlOrigin }),
    ...(changes.secretSealed === undefined ? {} : { secret_sealed: changes.secretSealed }),
    ...(changes.events === undefined ? {} : { events: JSON.stringify(changes.events) }),
    ...(changes.selector === undefined ? {} : { selector: JSON.stringify(changes.selector) }),
    ...(changes.enabled === undefined ? {} : { enabled: changes.enabled ? 1 : 0 }),
  };
}

/** One delivery of the outbox, as the worker and the API see it (issue #21: no raw rows). */
export interface OutboxRecord {
  id: string;
  /** push: a browser's Web Push subscription (issue #20). */
  target: 'channel' | 'webhook' | 'push';
  targetId: string;
  kind: string;
  /** The notification or webhook event, as JSON text. */
  payload: string;
  /** Critical deliveries ignore quiet hours and maintenance windows. */
  critical: boolean;
  state: OutboxState;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number | null;
  sentAt: number | null;
  lastError: string | null;
}

/** Throws inside the claim's transaction unless the claimant's leader term still holds (issue #14: `Leadership.fence`). */
export type ClaimFence = (trx: Db) => Promise<void>;

/** A delivery to queue: always pending, never tried. */
export type NewOutboxRecord = Pick<OutboxRecord, 'id' | 'target' | 'targetId' | 'kind' | 'payload' | 'critical' | 'createdAt'>;

const OUTBOX_STATES: ReadonlySet<string> = new Set<OutboxState>(['pending', 'sending', 'sent', 'failed', 'dropped']);

function toOutboxRecord(row: Selectable<NotifyOutboxTable>): OutboxRecord {
  if (!OUTBOX_STATES.has(row.state)) throw new Error(`outbox row ${row.id} has an unknown state "${row.state}"`);
  return {
    id: row.id,
    target: row.target === 'webhook' || row.target === 'push' ? row.target : 'channel',
    targetId: row.target_id,
    kind: row.kind,
    payload: row.payload,
    critical: Number(row.critical) === 1,
    state: row.state as OutboxState,
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    sentAt: row.sent_at === null ? null : Number(row.sent_at),
    lastError: row.last_error,
  };
}

function toOutboxRow(record: NewOutboxRecord): Insertable<NotifyOutboxTable> {
  return {
    id: record.id,
    target: record.target,
    target_id: record.targetId,
    kind: record.kind,
    payload: record.payload,
    critical: record.critical ? 1 : 0,
    state: 'pending',
    attempts: 0,
    created_at: record.createdAt,
    next_attempt_at: record.createdAt,
    sent_at: null,
    last_error: null,
  };
}

/** SQL of channels, webhook subscriptions and the outbox. */
export function createNotifyRepository(db: Db) {
  return {
    // ---- channels
    async listChannels(): Promise<ChannelRecord[]> {
      return (await db.selectFrom('notify_channels').selectAll().orderBy('name').execute()).map(toChannelRecord);
    },
    /** By id or name. */
    async findChannel(ref: string): Promise<ChannelRecord | undefined> {
      const row = await db
        .selectFrom('notify_channels')
        .selectAll()
        .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
        .executeTakeFirst();
      return row && toChannelRecord(row);
    },
    async insertChannel(record: ChannelRecord): Promise<void> {
      await db.insertInto('notify_channels').values(toChannelRow(record)).execute();
    },
    /** Replaces everything but the id. */
    async updateChannel(record: ChannelRecord): Promise<void> {
      const { id: _id, ...columns } = toChannelRow(record);
      await db.updateTable('notify_channels').set(columns).where('id', '=', record.id).execute();
    },
    async deleteChannel(id: string): Promise<boolean> {
      const result = await db.deleteFrom('notify_channels').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    // ---- webhook subscriptions
    async listWebhooks(): Promise<WebhookRecord[]> {
      return (await db.selectFrom('notify_webhooks').selectAll().orderBy('name').execute()).map(toWebhookRecord);
    },
    /** By id or name. */
    async findWebhook(ref: string): Promise<WebhookRecord | undefined> {
      const row = await db
        .selectFrom('notify_webhooks')
        .selectAll()
        .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
        .executeTakeFirst();
      return row && toWebhookRecord(row);
    },
    async insertWebhook(record: WebhookRecord): Promise<void> {
      await db.insertInto('notify_webhooks').values(toWebhookRow(record)).execute();
    },
    async updateWebhook(id: string, changes: WebhookChanges): Promise<void> {
      const columns = toWebhookColumns(changes);
      if (Object.keys(columns).length === 0) return;
      await db.updateTable('notify_webhooks').set(columns).where('id', '=', id).execute();
    },
    async deleteWebhook(id: string): Promise<boolean> {
      const result = await db.deleteFrom('notify_webhooks').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    // ---- outbox
    async enqueue(records: NewOutboxRecord[]): Promise<void> {
      if (records.length === 0) return;
      // One statement, so the rows of one notify() commit together.
      await db.insertInto('notify_outbox').values(records.map(toOutboxRow)).execute();
    },
    /** Rows whose turn has come, oldest first. */
    async due(now: number, limit: number): Promise<OutboxRecord[]> {
      const rows = await db
        .selectFrom('notify_outbox')
        .selectAll()
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(toOutboxRecord);
    },
    async nextDueAt(): Promise<number | null> {
      const row = await db.selectFrom('notify_outbox').select((eb) => eb.fn.min('next_attempt_at').as('next')).where('state', '=', 'pending').executeTakeFirst();
      return row?.next === null || row?.next === undefined ? null : Number(row.next);
    },
    /**
     * Claims a row before its request leaves: `sending` with the attempt counted and the
     * claimant (the leader term holder and its epoch) recorded, in one conditional UPDATE, so of
     * two hubs only one ever sends a row. A crash after the provider accepted but before
     * `markSent` leaves it `sending`; `resumeInterrupted` (the next leader, or the next start)
     * puts it back, which is the one duplicate a crash can cause, with the same delivery id.
     */
    async claim(id: string, claimant: { holder: string; epoch: number } | null = null, fence?: ClaimFence): Promise<boolean> {
      const update = (on: Db) =>
        on
          .updateTable('notify_outbox')
          .set((eb) => ({ state: 'sending', attempts: eb('attempts', '+', 1), claimed_by: claimant?.holder ?? null, claim_epoch: claimant?.epoch ?? null }))
          .where('id', '=', id)
          .where('state', '=', 'pending')
          .executeTakeFirst();
      // Fenced (several hubs): the claim commits only while the claimant's leader term holds.
      const result = fence
        ? await db.transaction().execute(async (trx) => {
            await fence(trx);
            return update(trx);
          })
        : await update(db);
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
    /** Rows left `sending` by any claimant but `holder` (a former leader, or this hub's previous run) are due again. */
    async resumeInterrupted(now: number, holder: string | null = null): Promise<number> {
      let query = db.updateTable('notify_outbox').set({ state: 'pending', next_attempt_at: now }).where('state', '=', 'sending');
      if (holder !== null) query = query.where((eb) => eb.or([eb('claimed_by', 'is', null), eb('claimed_by', '<>', holder)]));
      const result = await query.executeTakeFirst();
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
    async listOutbox(state: OutboxState | undefined, limit: number): Promise<OutboxRecord[]> {
      let query = db.selectFrom('notify_outbox').selectAll().orderBy('seq', 'desc').limit(limit);
      if (state) query = query.where('state', '=', state);
      return (await query.execute()).map(toOutboxRecord);
    },
    /** Forgets finished deliveries older than `before`. */
    async prune(before: number): Promise<number> {
      const result = await db.deleteFrom('notify_outbox').where('state', 'in', ['sent', 'failed', 'dropped']).where('created_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
export type NotifyRepository = ReturnType<typeof createNotifyRepository>;
