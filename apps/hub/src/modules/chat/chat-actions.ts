import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CHAT_ACTION_KINDS, type ChannelType, type ChatActionKind, type Notification } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { ChatActionRecord, ChatRepository } from './chat.repository.js';

/** How long an offered action stays valid unless FAROL_CHAT_ACTION_TTL says otherwise. */
export const DEFAULT_CHAT_ACTION_TTL_MS = 24 * 3_600_000;
/** Expired actions are kept this long to answer "expired" rather than "unknown", then deleted. */
const KEEP_EXPIRED_MS = 7 * 24 * 3_600_000;
/** A grouped message offers actions for at most this many alerts (Telegram keyboards stay readable). */
export const MAX_ALERTS_WITH_ACTIONS = 5;
/** How long a silence from the chat lasts. */
export const CHAT_SILENCE_MS = 3_600_000;

/** The actions offered for one alert of a message. */
export interface AlertOffer {
  alertId: string;
  agentName: string | null;
  actions: Array<{ kind: ChatActionKind; token: string; container: string | null }>;
  /** The alert's machine page (or the alerts page) in Mission Control; null without FAROL_PUBLIC_URL. */
  openUrl: string | null;
}

/** What a message offers: one entry per alert; `linkUrl` turns a token into a confirmation-page link. */
export interface ChatOffer {
  alerts: AlertOffer[];
  /** True when presses of callback buttons reach this hub (Telegram with a registered webhook). */
  callbacks: boolean;
  linkUrl(token: string): string | null;
}

/** Why a token is refused; the texts are what the chat user reads. */
export type TokenRefusal = 'malformed' | 'bad_mac' | 'unknown' | 'other_channel' | 'expired' | 'used';

export const REFUSAL_TEXT: Record<TokenRefusal, string> = {
  malformed: 'This button is not a Farol action.',
  bad_mac: 'This button\'s signature is wrong; nothing was done.',
  unknown: 'This action is unknown to Farol (too old, or from another hub).',
  other_channel: 'This action belongs to another channel; nothing was done.',
  expired: 'This action has expired; act from Mission Control.',
  used: 'This action was already used.',
};

/** id (12 characters) then MAC (22): no separator, so a link's path has no dot (it would read as a file). */
const TOKEN = /^([A-Za-z0-9_-]{12})([A-Za-z0-9_-]{22})$/;

/** `container web` → `web`: the subject the alerts engine gives container alerts. */
export function containerOfSubject(subject: string): string | null {
  const match = /^container (.+)$/.exec(subject);
  return match ? match[1]! : null;
}

/**
 * Mints and verifies the actions of chat messages. The action is stored; the token is its
 * random id (72 bits) and an HMAC-SHA256 (128 bits kept) over the id and the channel, keyed by a
 * key derived from the hub's secret key (the same on every hub of a cluster). 34 characters: it
 * fits Telegram's 64-byte callback_data. Single use is the conditional update in the repository.
 */
export function createChatActions({
  repo,
  macKey,
  clock,
  publicUrl,
  ttlMs = DEFAULT_CHAT_ACTION_TTL_MS,
  random = randomBytes,
}: {
  repo: ChatRepository;
  macKey: Buffer;
  clock: Clock;
  publicUrl: string | undefined;
  ttlMs?: number;
  random?: (size: number) => Buffer;
}) {
  const base = publicUrl?.replace(/\/+$/, '');
  const mac = (channelId: string, id: string): string => createHmac('sha256', macKey).update(`farol-chat-action:v1:${channelId}:${id}`).digest().subarray(0, 16).toString('base64url');
  const tokenOf = (action: Pick<ChatActionRecord, 'id' | 'channelId'>): string => `${action.id}${mac(action.channelId, action.id)}`;

  function openUrl(agentId: string | null): string | null {
    if (!base) return null;
    return agentId ? `${base}/machines/${encodeURIComponent(agentId)}` : `${base}/alerts`;
  }

  return {
    tokenOf,
    /**
     * The actions of one message of an alerts notification to one channel. A retry of the same
     * delivery gets the same actions (they are looked up by delivery id), so a message sent
     * twice never holds two sets of valid buttons. Null when the channel type offers none.
     */
    async offerFor(channel: { id: string; type: ChannelType }, notification: Notification, deliveryId: string): Promise<ChatOffer | null> {
      if (notification.kind !== 'alerts') return null;
      const callbacks = channel.type === 'telegram' && (await repo.hasCallbacks(channel.id));
      const links = (channel.type === 'slack' || channel.type === 'discord') && base !== undefined;
      if (channel.type !== 'telegram' && !links) return null;
      const open = notification.alerts.filter((a) => a.event !== 'resolved').slice(0, MAX_ALERTS_WITH_ACTIONS);
      if (open.length === 0) return null;
      let stored = callbacks || links ? await repo.actionsOfDelivery(deliveryId) : [];
      if ((callbacks || links) && stored.length === 0) {
        const now = clock.now();
        stored = open.flatMap((alert) => {
          const container = containerOfSubject(alert.subject);
          const kinds: ChatActionKind[] = ['ack', 'silence', ...(container !== null && alert.agentId !== null ? (['restart'] as const) : [])];
          return kinds.map((kind) => ({
            id: random(9).toString('base64url'),
            kind,
            alertId: alert.alertId,
            agentId: alert.agentId,
            container: kind === 'restart' ? container : null,
            channelId: channel.id,
            deliveryId,
            createdAt: now,
            expiresAt: now + ttlMs,
            usedAt: null,
            usedBy: null,
          }));
        });
        await repo.insertActions(stored);
      }
      return {
        callbacks,
        linkUrl: (token) => (links ? `${base}/chat/act/${token}` : null),
        alerts: open.map((alert) => ({
          alertId: alert.alertId,
          agentName: alert.agentName,
          actions: stored
            .filter((a) => a.alertId === alert.alertId)
            .sort((a, b) => CHAT_ACTION_KINDS.indexOf(a.kind) - CHAT_ACTION_KINDS.indexOf(b.kind))
            .map((a) => ({ kind: a.kind, token: tokenOf(a), container: a.container })),
          openUrl: openUrl(alert.agentId),
        })),
      };
    },

    /**
     * Checks a token: well-formed, its MAC right (in constant time), known, of this channel when
     * one is given, not expired, not used. Nothing is changed here.
     */
    async verify(token: string, channelId?: string): Promise<{ ok: true; action: ChatActionRecord } | { ok: false; refusal: TokenRefusal; action?: ChatActionRecord }> {
      const match = TOKEN.exec(token);
      if (!match) return { ok: false, refusal: 'malformed' };
      const [, id, given] = match as unknown as [string, string, string];
      const action = await repo.findAction(id);
      // Unknown ids are checked against a MAC too, so the answer does not tell ids apart.
      // Compared as text: base64url's last character carries spare bits, so two spellings decode
      // to the same bytes, and only the one the hub wrote is the action's.
      const expected = Buffer.from(mac(action?.channelId ?? channelId ?? '', id));
      const presented = Buffer.from(given);
      if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) return { ok: false, refusal: action ? 'bad_mac' : 'unknown' };
      if (!action) return { ok: false, refusal: 'unknown' };
      if (channelId !== undefined && action.channelId !== channelId) return { ok: false, refusal: 'other_channel', action };
      if (action.usedAt !== null) return { ok: false, refusal: 'used', action };
      if (action.expiresAt <= clock.now()) return { ok: false, refusal: 'expired', action };
      return { ok: true, action };
    },

    /** Marks it used; false when another press (on any hub) got there first. */
    claim: (id: string, usedBy: string): Promise<boolean> => repo.claimAction(id, usedBy, clock.now()),

    prune: (): Promise<number> => repo.pruneActions(clock.now() - KEEP_EXPIRED_MS),
  };
}
export type ChatActions = ReturnType<typeof createChatActions>;
