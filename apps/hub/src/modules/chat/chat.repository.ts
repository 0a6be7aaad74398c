import type { Kysely } from 'kysely';
import type { ChatActionKind, ChatProvider, TelegramUpdatesMode } from '@farol/protocol';

/** The tables of migration 0185_chat_actions. */
export type ChatTables = {
  chat_actions: {
    id: string;
    kind: string;
    alert_id: string;
    agent_id: string | null;
    container: string | null;
    channel_id: string;
    delivery_id: string;
    created_at: number;
    expires_at: number;
    used_at: number | null;
    used_by: string | null;
  };
  chat_links: {
    id: string;
    provider: string;
    external_id: string;
    external_name: string | null;
    user_id: string;
    created_at: number;
  };
  chat_link_codes: {
    code_hash: string;
    user_id: string;
    created_at: number;
    expires_at: number;
  };
  chat_telegram_modes: {
    channel_id: string;
    mode: string;
    url: string | null;
    update_offset: number;
    registered_at: number;
  };
};

export interface ChatActionRecord {
  id: string;
  kind: ChatActionKind;
  alertId: string;
  agentId: string | null;
  container: string | null;
  channelId: string;
  deliveryId: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  usedBy: string | null;
}

export interface ChatLinkRecord {
  id: string;
  provider: ChatProvider;
  externalId: string;
  externalName: string | null;
  userId: string;
  createdAt: number;
}

type ActionRow = ChatTables['chat_actions'];

function toAction(row: ActionRow): ChatActionRecord {
  return {
    id: row.id,
    kind: row.kind as ChatActionKind,
    alertId: row.alert_id,
    agentId: row.agent_id,
    container: row.container,
    channelId: row.channel_id,
    deliveryId: row.delivery_id,
    // bigint columns arrive as strings from PostgreSQL.
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
    usedBy: row.used_by,
  };
}

function toLink(row: ChatTables['chat_links']): ChatLinkRecord {
  return {
    id: row.id,
    provider: row.provider as ChatProvider,
    externalId: row.external_id,
    externalName: row.external_name,
    userId: row.user_id,
    createdAt: Number(row.created_at),
  };
}

/** SQL of chat actions, chat links and link codes; the same statements on SQLite and PostgreSQL. */
export function createChatRepository(db: Kysely<ChatTables>) {
  return {
    async insertActions(actions: ChatActionRecord[]): Promise<void> {
      if (actions.length === 0) return;
      await db
        .insertInto('chat_actions')
        .values(
          actions.map((a) => ({
            id: a.id,
            kind: a.kind,
            alert_id: a.alertId,
            agent_id: a.agentId,
            container: a.container,
            channel_id: a.channelId,
            delivery_id: a.deliveryId,
            created_at: a.createdAt,
            expires_at: a.expiresAt,
            used_at: null,
            used_by: null,
          })),
        )
        .execute();
    },
    async actionsOfDelivery(deliveryId: string): Promise<ChatActionRecord[]> {
      return (await db.selectFrom('chat_actions').selectAll().where('delivery_id', '=', deliveryId).orderBy('created_at').orderBy('id').execute()).map(toAction);
    },
    async findAction(id: string): Promise<ChatActionRecord | undefined> {
      const row = await db.selectFrom('chat_actions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toAction(row) : undefined;
    },
    /** Marks the action used unless it already is: true for exactly one caller, on any number of hubs. */
    async claimAction(id: string, usedBy: string, now: number): Promise<boolean> {
      const result = await db.updateTable('chat_actions').set({ used_at: now, used_by: usedBy }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    /** Deletes actions that expired before `before` (kept a while after expiry to say "expired", not "unknown"). */
    async pruneActions(before: number): Promise<number> {
      const result = await db.deleteFrom('chat_actions').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async insertLinkCode(codeHash: string, userId: string, now: number, expiresAt: number): Promise<void> {
      // One pending code per user: a new one replaces the last.
      await db.deleteFrom('chat_link_codes').where((eb) => eb.or([eb('user_id', '=', userId), eb('expires_at', '<', now)])).execute();
      await db.insertInto('chat_link_codes').values({ code_hash: codeHash, user_id: userId, created_at: now, expires_at: expiresAt }).execute();
    },
    /** Takes a code (deleting it, so it works once); null when unknown or expired. */
    async takeLinkCode(codeHash: string, now: number): Promise<string | null> {
      const row = await db.selectFrom('chat_link_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
      if (!row) return null;
      const deleted = await db.deleteFrom('chat_link_codes').where('code_hash', '=', codeHash).executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1 || Number(row.expires_at) < now) return null;
      return row.user_id;
    },
    /** Links a chat user to a Farol user; a chat user already linked is moved to the new user. */
    async upsertLink(link: ChatLinkRecord): Promise<void> {
      await db.deleteFrom('chat_links').where('provider', '=', link.provider).where('external_id', '=', link.externalId).execute();
      await db
        .insertInto('chat_links')
        .values({ id: link.id, provider: link.provider, external_id: link.externalId, external_name: link.externalName, user_id: link.userId, created_at: link.createdAt })
        .execute();
    },
    async findLink(provider: ChatProvider, externalId: string): Promise<ChatLinkRecord | undefined> {
      const row = await db.selectFrom('chat_links').selectAll().where('provider', '=', provider).where('external_id', '=', externalId).executeTakeFirst();
      return row ? toLink(row) : undefined;
    },
    async linksOfUser(userId: string): Promise<ChatLinkRecord[]> {
      return (await db.selectFrom('chat_links').selectAll().where('user_id', '=', userId).orderBy('created_at').execute()).map(toLink);
    },
    /** How a Telegram channel's updates reach the hub; switching mode starts polling from offset 0 (Telegram keeps what is unconfirmed). */
    async setTelegramMode(channelId: string, mode: TelegramUpdatesMode, url: string | null, now: number): Promise<void> {
      await db.deleteFrom('chat_telegram_modes').where('channel_id', '=', channelId).execute();
      await db.insertInto('chat_telegram_modes').values({ channel_id: channelId, mode, url, update_offset: 0, registered_at: now }).execute();
    },
    /** True when presses of this channel's buttons reach the hub (a webhook or polling is set up). */
    async hasCallbacks(channelId: string): Promise<boolean> {
      return (await db.selectFrom('chat_telegram_modes').select('channel_id').where('channel_id', '=', channelId).executeTakeFirst()) !== undefined;
    },
    async pollingChannels(): Promise<Array<{ channelId: string; offset: number }>> {
      const rows = await db.selectFrom('chat_telegram_modes').select(['channel_id', 'update_offset']).where('mode', '=', 'polling').orderBy('channel_id').execute();
      return rows.map((row) => ({ channelId: row.channel_id, offset: Number(row.update_offset) }));
    },
    /** The next update to ask for; only moves forward, and only while the channel is polled. */
    async saveOffset(channelId: string, offset: number): Promise<void> {
      await db.updateTable('chat_telegram_modes').set({ update_offset: offset }).where('channel_id', '=', channelId).where('mode', '=', 'polling').where('update_offset', '<', offset).execute();
    },
    async deleteLink(id: string, userId: string): Promise<ChatLinkRecord | undefined> {
      const row = await db.selectFrom('chat_links').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      if (!row) return undefined;
      await db.deleteFrom('chat_links').where('id', '=', id).execute();
      return toLink(row);
    },
  };
}
export type ChatRepository = ReturnType<typeof createChatRepository>;
