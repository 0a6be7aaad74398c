import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  FarolError,
  type ChannelType,
  type ChatActionResult,
  type ChatActionView,
  type ChatLink,
  type ChatLinkCode,
  type Principal,
  type TelegramButton,
  type TelegramMessage,
  TelegramUpdateSchema,
  type TelegramUpdate,
  type TelegramUpdates,
  type TelegramUpdatesMode,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { AccountsService } from '../auth/accounts.service.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AlertsService } from '../alerts/alerts.service.js';
import type { JobsService } from '../jobs/jobs.service.js';
import { sendHttp } from '../notify/http-send.js';
import type { NetworkGuard } from '../notify/net-guard.js';
import { CHAT_SILENCE_MS, REFUSAL_TEXT, type ChatActions } from './chat-actions.js';
import type { ChatActionRecord, ChatLinkRecord, ChatRepository } from './chat.repository.js';
import { pause } from '../../infra/pause.js';

/** A link code is good for this long after the user asked for it. */
const LINK_CODE_TTL_MS = 10 * 60_000;
/** Crockford's base32: no I, L, O, U, so a code read aloud or retyped is unambiguous. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** The updates the hub asks Telegram for: button presses and `/link` messages. */
const ALLOWED_UPDATES = ['callback_query', 'message'];

/** A notification channel as the chat service needs it: its type and, for Telegram, its bot. */
export interface ChatChannel {
  id: string;
  name: string;
  type: ChannelType;
  /** Telegram only. */
  botToken?: string;
  apiBase?: string;
}

export interface ChatServiceDeps {
  repo: ChatRepository;
  actions: ChatActions;
  alerts: Pick<AlertsService, 'getAlert' | 'acknowledge' | 'createSilence'>;
  jobs: Pick<JobsService, 'create'>;
  accounts: Pick<AccountsService, 'principalOfUser'>;
  authorizer: Pick<Authorizer, 'checkAgent' | 'checkCommand' | 'inScope'>;
  audit: Pick<AuditService, 'record'>;
  /** Runs work so that every audit entry it writes says `details.via` (request-actor.ts). */
  runVia<T>(actor: string, via: string, work: () => T): T;
  /** A channel with its secrets opened, or undefined. */
  channel(id: string): Promise<ChatChannel | undefined>;
  guard: NetworkGuard;
  clock: Clock;
  logger: Logger;
  publicUrl: string | undefined;
  /** Keys the per-channel webhook secret (derived from the hub's secret key). */
  webhookKey: Buffer;
  random?: (size: number) => Buffer;
}

/** A press or link refused by the rules: `text` is what the user reads, `code` the HTTP refusal of a link. */
class Refusal extends Error {
  constructor(
    readonly text: string,
    readonly code: 'forbidden' | 'not_found' | 'conflict' = 'forbidden',
  ) {
    super(text);
  }
}

/**
 * Acting on alerts from the chat (issue #20 item 5): Telegram updates (button presses, `/link`),
 * linking chat users to Farol users, the confirmation page of Slack and Discord links, and
 * registering a Telegram channel's webhook. Every action is decided at press time with the
 * linked user's permissions and label scope, and performed through the alerts and jobs
 * services, so it is audited like the same action from Mission Control (with `via`).
 */
export function createChatService(deps: ChatServiceDeps) {
  const { repo, actions, alerts, jobs, accounts, authorizer, audit, clock, logger } = deps;
  const random = deps.random ?? randomBytes;
  const base = deps.publicUrl?.replace(/\/+$/, '');

  /** Set while this hub's Telegram poller runs: looks for newly polled channels at once. */
  let rescanNow: (() => void) | null = null;

  const webhookSecret = (channelId: string): string => createHmac('sha256', deps.webhookKey).update(`farol-telegram-webhook:v1:${channelId}`).digest('hex');
  const hashCode = (code: string): string => createHash('sha256').update(code.replace(/[\s-]/g, '').toUpperCase()).digest('hex');

  async function telegramCall(
    channel: ChatChannel,
    method: string,
    body: Record<string, unknown>,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<{ ok: boolean; description?: string; result?: unknown }> {
    const answer = await sendHttp(deps.guard, {
      url: `${(channel.apiBase ?? 'https://api.telegram.org').replace(/\/+$/, '')}/bot${channel.botToken}/${method}`,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      timeoutMs: options.timeoutMs ?? 10_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let parsed: { ok?: boolean; description?: string; result?: unknown } = {};
    try {
      parsed = JSON.parse(answer.body) as typeof parsed;
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    const ok = answer.status >= 200 && answer.status < 300 && parsed.ok === true;
    if (!ok) logger.warn({ channel: channel.name, method, status: answer.status, description: parsed.description }, 'the Telegram Bot API refused a call');
    return { ok, ...(parsed.description ? { description: parsed.description } : {}), result: parsed.result };
  }

  /** Telegram answers, best effort: a failure is logged, the press's outcome stands. */
  async function tellTelegram(channel: ChatChannel, method: string, body: Record<string, unknown>): Promise<void> {
    try {
      await telegramCall(channel, method, body);
    } catch (error) {
      logger.warn({ err: error, channel: channel.name, method }, 'could not reach the Telegram Bot API');
    }
  }

  /** Whether `principal` may do `action` now; throws a Refusal saying why not. Returns the alert. */
  async function authorize(principal: Principal, action: ChatActionRecord) {
    let alert;
    try {
      alert = await alerts.getAlert(action.alertId);
    } catch (error) {
      if (error instanceof FarolError && error.code === 'not_found') throw new Refusal('This alert no longer exists.', 'not_found');
      throw error;
    }
    try {
      if (action.kind === 'restart') {
        for (const permission of ['commands:exec', 'containers:manage'] as const) {
          if (!principal.permissions.includes(permission)) throw new FarolError('forbidden', `restarting a container needs the permission ${permission}, which your role (${principal.role}) does not include`);
        }
        authorizer.checkCommand(principal, 'docker_restart');
        if (alert.kind !== 'container' || alert.agentId !== action.agentId || alert.instance !== action.container) throw new Refusal('This alert is not about that container any more.', 'conflict');
      } else if (!principal.permissions.includes('alerts:manage')) {
        throw new FarolError('forbidden', `${action.kind === 'ack' ? 'acknowledging' : 'silencing'} alerts needs the permission alerts:manage, which your role (${principal.role}) does not include`);
      }
      await authorizer.checkAgent(principal, alert.agentId);
    } catch (error) {
      if (error instanceof FarolError && error.code === 'forbidden') throw new Refusal(`Refused: ${error.message}.`, 'forbidden');
      throw error;
    }
    return alert;
  }

  /** Performs an authorized, claimed action as `principal`; audited with `details.via`. */
  async function perform(principal: Principal, action: ChatActionRecord, alert: Awaited<ReturnType<typeof authorize>>, via: string): Promise<ChatActionResult> {
    return deps.runVia(principal.name, via, async () => {
      if (action.kind === 'ack') {
        await alerts.acknowledge(alert.id, principal.name, {});
        return { kind: action.kind, message: `Acknowledged by ${principal.name}`, jobId: null, silenceId: null };
      }
      if (action.kind === 'silence') {
        const matcher = {
          rules: [alert.ruleId],
          ...(alert.agentId ? { agents: [alert.agentId] } : {}),
          // A scoped user's silence covers only machines within the scope (as in alerts.routes.ts).
          ...(principal.scope !== null ? { selector: principal.scope } : {}),
        };
        const silence = await alerts.createSilence({ matcher, endsAt: clock.now() + CHAT_SILENCE_MS, reason: `from ${via} by ${principal.name}: ${alert.summary}`.slice(0, 500) }, principal.name);
        return { kind: action.kind, message: `Silenced for 1 h by ${principal.name}`, jobId: null, silenceId: silence.id };
      }
      const job = await jobs.create(
        { command: { kind: 'docker_restart', container: action.container! }, targets: { agents: [action.agentId!] } },
        principal.name,
        { canTarget: (labels) => authorizer.inScope(principal, labels), maxTargets: 1, scope: principal.scope },
      );
      return { kind: action.kind, message: `Restart of ${action.container} requested by ${principal.name} (job ${job.id})`, jobId: job.id, silenceId: null };
    });
  }

  async function refusedAudit(actor: string, action: ChatActionRecord, reason: string, via: string): Promise<void> {
    await audit.record({ actor, action: 'chat.action_refused', agentId: action.agentId, details: { kind: action.kind, alertId: action.alertId, container: action.container, reason, via } });
  }

  /** The pressed message with a line saying who did what, and without the pressed button. */
  function editedMessage(message: TelegramMessage, pressed: string, line: string): Record<string, unknown> {
    const text = `${message.text ?? ''}\n\n${line}`;
    const keyboard = (message.reply_markup?.inline_keyboard ?? [])
      .map((row) => row.filter((button: TelegramButton) => button.callback_data !== pressed))
      .filter((row) => row.length > 0);
    return {
      chat_id: message.chat.id,
      message_id: message.message_id,
      // The received text without markup plus its entities: the formatting survives the edit.
      text: text.length > 4096 ? `${text.slice(0, 4000)}\n…\n${line}` : text,
      ...(message.entities && text.length <= 4096 ? { entities: message.entities } : {}),
      disable_web_page_preview: true,
      reply_markup: { inline_keyboard: keyboard },
    };
  }

  async function handlePress(channel: ChatChannel, press: NonNullable<TelegramUpdate['callback_query']>): Promise<void> {
    const chatUser = String(press.from.id);
    const who = press.from.username ? `@${press.from.username}` : (press.from.first_name ?? chatUser);
    const refuse = (text: string) => tellTelegram(channel, 'answerCallbackQuery', { callback_query_id: press.id, text: text.slice(0, 200), show_alert: true });
    const verified = await actions.verify(press.data ?? '', channel.id);
    if (!verified.ok) {
      logger.warn({ channel: channel.name, chatUser, refusal: verified.refusal }, 'a chat action was refused');
      // Only a press that carried a valid signature is about a real action: that one is audited.
      if (verified.action) await refusedAudit(`telegram:${chatUser}`, verified.action, verified.refusal, 'telegram');
      return refuse(REFUSAL_TEXT[verified.refusal]);
    }
    const action = verified.action;
    const link = await repo.findLink('telegram', chatUser);
    const principal = link ? await accounts.principalOfUser(link.userId) : null;
    if (!principal) {
      await refusedAudit(`telegram:${chatUser}`, action, link ? 'the linked Farol user is disabled' : 'the Telegram user is not linked to a Farol user', 'telegram');
      return refuse(
        link
          ? 'Your Farol account is disabled; nothing was done.'
          : 'Your Telegram account is not linked to a Farol user; nothing was done. In Mission Control open Settings → Chat accounts → Link Telegram, then send the code to this bot.',
      );
    }
    let alert;
    try {
      alert = await authorize(principal, action);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      await refusedAudit(principal.name, action, error.text, 'telegram');
      return refuse(error.text);
    }
    if (!(await actions.claim(action.id, principal.name))) return refuse(REFUSAL_TEXT.used);
    let result: ChatActionResult;
    try {
      result = await perform(principal, action, alert, 'telegram');
    } catch (error) {
      const message = error instanceof FarolError ? error.message : 'the hub could not do it';
      logger.warn({ err: error, actionId: action.id, kind: action.kind }, 'a chat action failed');
      return refuse(`Failed: ${message}`);
    }
    logger.info({ actionId: action.id, kind: action.kind, alertId: action.alertId, actor: principal.name, chatUser }, 'chat action performed');
    await tellTelegram(channel, 'answerCallbackQuery', { callback_query_id: press.id, text: `${result.message}.`.slice(0, 200) });
    if (press.message) {
      const at = new Date(clock.now()).toISOString().slice(11, 16);
      await tellTelegram(channel, 'editMessageText', editedMessage(press.message, press.data!, `${result.message} (${who}) at ${at} UTC.`));
    }
  }

  async function handleMessage(channel: ChatChannel, message: TelegramMessage): Promise<void> {
    const text = message.text?.trim() ?? '';
    const reply = (answer: string) => tellTelegram(channel, 'sendMessage', { chat_id: message.chat.id, text: answer, reply_to_message_id: message.message_id });
    const link = /^\/link(?:@\w+)?\s+([0-9A-Za-z-]{6,20})$/.exec(text);
    if (!link) {
      if (/^\/(start|link)\b/.test(text)) {
        await reply('To act on Farol alerts from here, link your account: in Mission Control open Settings → Chat accounts → Link Telegram, then send /link CODE to this bot.');
      }
      return;
    }
    if (!message.from) return;
    const userId = await repo.takeLinkCode(hashCode(link[1]!), clock.now());
    const principal = userId ? await accounts.principalOfUser(userId) : null;
    if (!principal) {
      logger.warn({ channel: channel.name, chatUser: message.from.id }, 'a /link code was refused');
      await reply('This code is unknown or expired. Get a new one in Mission Control: Settings → Chat accounts → Link Telegram.');
      return;
    }
    const record: ChatLinkRecord = {
      id: randomId('cl'),
      provider: 'telegram',
      externalId: String(message.from.id),
      externalName: message.from.username ? `@${message.from.username}` : (message.from.first_name ?? null),
      userId: principal.id,
      createdAt: clock.now(),
    };
    await repo.upsertLink(record);
    await audit.record({ actor: principal.name, action: 'chat.link', details: { linkId: record.id, provider: 'telegram', externalId: record.externalId, externalName: record.externalName, via: 'telegram' } });
    logger.info({ user: principal.name, chatUser: record.externalId }, 'Telegram user linked');
    await reply(`Linked: buttons you press on Farol alerts now act as ${principal.name}, with that user's permissions.`);
  }

  const toLink = (record: ChatLinkRecord): ChatLink => ({ id: record.id, provider: record.provider, externalId: record.externalId, externalName: record.externalName, createdAt: record.createdAt });

  /** A link token's action, or the HTTP refusal the confirmation page shows. */
  async function linkedAction(token: string): Promise<ChatActionRecord> {
    const verified = await actions.verify(token);
    if (verified.ok) return verified.action;
    if (verified.refusal === 'used' || verified.refusal === 'expired') throw new FarolError('conflict', REFUSAL_TEXT[verified.refusal]);
    throw new FarolError('not_found', REFUSAL_TEXT[verified.refusal]);
  }

  return {
    webhookSecret,

    /** Constant-time check of the X-Telegram-Bot-Api-Secret-Token header. */
    isWebhookSecret(channelId: string, header: string | undefined): boolean {
      if (!header) return false;
      const expected = Buffer.from(webhookSecret(channelId));
      const given = Buffer.from(header);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },

    /** One Telegram update for a channel; never throws on what the update says. */
    async handleTelegramUpdate(channelId: string, update: TelegramUpdate): Promise<void> {
      const channel = await deps.channel(channelId);
      if (!channel || channel.type !== 'telegram') throw new FarolError('not_found', `no Telegram channel ${channelId}`);
      if (update.callback_query) await handlePress(channel, update.callback_query);
      else if (update.message) await handleMessage(channel, update.message);
    },

    /**
     * How this channel's button presses reach the hub. `webhook`: Telegram posts them here
     * (setWebhook with the channel's secret; needs FAROL_PUBLIC_URL on HTTPS). `polling`: the
     * webhook is removed (deleteWebhook: Telegram refuses getUpdates while one is set) and the
     * leader hub asks for them.
     */
    async setTelegramUpdates(channelId: string, mode: TelegramUpdatesMode, actor: string): Promise<TelegramUpdates> {
      const channel = await deps.channel(channelId);
      if (!channel) throw new FarolError('not_found', `no channel ${channelId}`);
      if (channel.type !== 'telegram') throw new FarolError('validation_failed', `channel ${channel.name} is a ${channel.type} channel; only Telegram bots call back`);
      if (mode === 'webhook' && !base) throw new FarolError('validation_failed', 'set FAROL_PUBLIC_URL (an https:// address Telegram can reach) first: Telegram posts button presses there; or use polling');
      const url = mode === 'webhook' ? `${base}/api/chat/telegram/${encodeURIComponent(channel.id)}/webhook` : null;
      let answer;
      try {
        answer =
          url === null
            ? await telegramCall(channel, 'deleteWebhook', { drop_pending_updates: false })
            : await telegramCall(channel, 'setWebhook', { url, secret_token: webhookSecret(channel.id), allowed_updates: ALLOWED_UPDATES });
      } catch (error) {
        throw new FarolError('unavailable', `could not reach the Telegram Bot API: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      if (!answer.ok) throw new FarolError('destination_refused', `Telegram refused: ${answer.description ?? 'no reason given'}`);
      await repo.setTelegramMode(channel.id, mode, url, clock.now());
      // The poller on this hub (when it leads) looks at once; another leader within its rescan.
      rescanNow?.();
      await audit.record({ actor, action: 'channel.telegram_updates', details: { channelId: channel.id, name: channel.name, mode, url } });
      return { mode, url, allowedUpdates: ALLOWED_UPDATES };
    },

    /**
     * Long polling (getUpdates) of every channel in `polling` mode, for the leader to run: one
     * loop per channel, the offset stored after each update (a new leader goes on from there;
     * a press handled twice is refused the second time: tokens are single-use). Channels put in
     * polling mode later are picked up within `rescanMs`.
     */
    createPoller({ timeoutSeconds = 25, rescanMs = 15_000, retryMs = 5_000 }: { timeoutSeconds?: number; rescanMs?: number; retryMs?: number } = {}) {
      let abort: AbortController | null = null;
      let loops = new Map<string, Promise<void>>();
      let rescan: Promise<void> = Promise.resolve();
      async function pollChannel(channelId: string, signal: AbortSignal): Promise<void> {
        while (!signal.aborted) {
          const polled = (await repo.pollingChannels()).find((c) => c.channelId === channelId);
          const channel = polled ? await deps.channel(channelId) : undefined;
          // No longer polled (switched to the webhook, or the channel deleted): this loop ends.
          if (!polled || !channel || channel.type !== 'telegram') return;
          let updates: TelegramUpdate[] = [];
          try {
            const answer = await telegramCall(channel, 'getUpdates', { offset: polled.offset, timeout: timeoutSeconds, limit: 20, allowed_updates: ALLOWED_UPDATES }, { timeoutMs: (timeoutSeconds + 10) * 1000, signal });
            if (!answer.ok) {
              await pause(retryMs, signal);
              continue;
            }
            updates = Array.isArray(answer.result) ? (answer.result as unknown[]).flatMap((u) => {
              const parsed = TelegramUpdateSchema.safeParse(u);
              return parsed.success ? [parsed.data] : [];
            }) : [];
          } catch (error) {
            if (signal.aborted) return;
            logger.warn({ err: error, channel: channel.name }, 'Telegram long polling failed; trying again');
            await pause(retryMs, signal);
            continue;
          }
          for (const update of updates) {
            try {
              if (update.callback_query) await handlePress(channel, update.callback_query);
              else if (update.message) await handleMessage(channel, update.message);
            } catch (error) {
              // One update that cannot be handled must not block the ones after it.
              logger.error({ err: error, channel: channel.name, updateId: update.update_id }, 'a Telegram update could not be handled');
            }
            await repo.saveOffset(channelId, update.update_id + 1);
          }
        }
      }

      let wake: (() => void) | null = null;
      async function scan(signal: AbortSignal): Promise<void> {
        for (const { channelId } of await repo.pollingChannels()) {
          if (loops.has(channelId)) continue;
          const loop = pollChannel(channelId, signal)
            .catch((error: unknown) => logger.error({ err: error, channelId }, 'Telegram polling stopped'))
            .finally(() => loops.delete(channelId));
          loops.set(channelId, loop);
        }
      }

      return {
        start(): void {
          const controller = new AbortController();
          abort = controller;
          loops = new Map();
          const run = async () => {
            while (!controller.signal.aborted) {
              try {
                await scan(controller.signal);
              } catch (error) {
                logger.error({ err: error }, 'looking for Telegram channels to poll failed');
              }
              await new Promise<void>((resolve) => {
                wake = resolve;
                void pause(rescanMs, controller.signal).then(resolve);
              });
              wake = null;
            }
          };
          rescan = run();
          rescanNow = () => wake?.();
        },
        async stop(): Promise<void> {
          rescanNow = null;
          abort?.abort();
          abort = null;
          await rescan;
          await Promise.all(loops.values());
        },
      };
    },

    async createLinkCode(principal: Principal): Promise<ChatLinkCode> {
      const bytes = random(10);
      const raw = [...bytes].map((b) => CODE_ALPHABET[b % 32]).join('');
      const code = `${raw.slice(0, 5)}-${raw.slice(5)}`;
      const now = clock.now();
      const expiresAt = now + LINK_CODE_TTL_MS;
      await repo.insertLinkCode(hashCode(code), principal.id, now, expiresAt);
      return { code, expiresAt, command: `/link ${code}` };
    },
    async listLinks(principal: Principal): Promise<ChatLink[]> {
      return (await repo.linksOfUser(principal.id)).map(toLink);
    },
    async deleteLink(principal: Principal, id: string): Promise<void> {
      const removed = await repo.deleteLink(id, principal.id);
      if (!removed) throw new FarolError('not_found', `no chat link ${id} of yours`);
      await audit.record({ actor: principal.name, action: 'chat.unlink', details: { linkId: id, provider: removed.provider, externalId: removed.externalId, externalName: removed.externalName } });
    },

    /** The confirmation page of a Slack or Discord link: what the action is, for a user who may see its alert. */
    async viewLinkedAction(principal: Principal, token: string): Promise<ChatActionView> {
      const verified = await actions.verify(token);
      // Used and expired actions are still shown (the page says so); anything else is unknown.
      if (!verified.ok && (verified.refusal !== 'used' && verified.refusal !== 'expired')) throw new FarolError('not_found', REFUSAL_TEXT[verified.refusal]);
      const action = verified.action!;
      // What an alert says is for those who may read the fleet, within their scope.
      if (!principal.permissions.includes('nodes:read')) throw new FarolError('forbidden', `this needs the permission nodes:read, which your role (${principal.role}) does not include`);
      const alert = await alerts.getAlert(action.alertId);
      await authorizer.checkAgent(principal, alert.agentId);
      return {
        kind: action.kind,
        alertId: alert.id,
        ruleName: alert.ruleName,
        subject: alert.subject,
        summary: alert.summary,
        agentId: alert.agentId,
        agentName: alert.agentName,
        container: action.container,
        alertState: alert.state,
        expiresAt: action.expiresAt,
        usedAt: action.usedAt,
        usedBy: action.usedBy,
      };
    },

    /** Performs a Slack or Discord link's action for the signed-in user who confirmed it. */
    async performLinkedAction(principal: Principal, token: string): Promise<ChatActionResult> {
      const action = await linkedAction(token);
      const via = (await deps.channel(action.channelId))?.type ?? 'chat';
      let alert;
      try {
        alert = await authorize(principal, action);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        await refusedAudit(principal.name, action, error.text, via);
        throw new FarolError(error.code, error.text);
      }
      if (!(await actions.claim(action.id, principal.name))) throw new FarolError('conflict', REFUSAL_TEXT.used);
      return perform(principal, action, alert, via);
    },

    /** Deletes long-expired actions now and every hour. */
    startPruning(): () => void {
      const prune = () => {
        actions
          .prune()
          .then((n) => n > 0 && logger.info({ actions: n }, 'expired chat actions pruned'))
          .catch((error: unknown) => logger.error({ err: error }, 'pruning chat actions failed'));
      };
      prune();
      const timer = setInterval(prune, 3_600_000);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
export type ChatService = ReturnType<typeof createChatService>;
