import { FarolError, NotificationSchema, type AlertNotice, type Notification, type OutboxEntry, type OutboxState, type WebhookEventPayload } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import { StaleLeaderError } from '../../infra/leadership.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import { noTracing, type TraceSpan, type Tracing } from '../../infra/tracing.js';
import { openChannel, type OpenChannel } from './channel-store.js';
import { createOutboxWorker, systemTimers, type WorkerTimers } from './outbox-worker.js';
import { sendHttp } from './http-send.js';
import type { ChatActions, ChatOffer } from '../chat/chat-actions.js';
import type { NetworkGuard } from './net-guard.js';
import type { ClaimFence, NewOutboxRecord, NotifyRepository, OutboxRecord } from './notify.repository.js';
import { classifyAnswer, classifyError, sendToChannel, webhookHeaders, type AttemptOutcome } from './providers.js';
import { isCritical } from './render.js';
import { activeMaintenance, quietHoursEnd } from './schedule.js';
import { webhookSecretContext } from './webhooks.service.js';

/**
 * The contract the alerts engine uses (see packages/protocol/src/notify.ts): `notify` returns
 * once one outbox row per channel is committed; `applyChannelsConfig` takes the `channels:` list
 * of the configuration file.
 */
export interface Notifier {
  notify(channelRefs: string[], notification: Notification): Promise<void>;
  applyChannelsConfig(raw: unknown[]): Promise<void>;
  /** Issue #20: alert notices for subscribed browsers (modules/push), once each. */
  push?(notices: AlertNotice[]): Promise<void>;
}

/** The Web Push side (modules/push) as the outbox sees it: one encrypted message to one browser. */
export interface PushSender {
  send(subscriptionId: string, payload: string, context: { deliveryId: string; timeoutMs: number }): Promise<AttemptOutcome | { dropped: string } | { gone: string }>;
}

/** Retry policy of the outbox worker. */
export interface DeliveryPolicy {
  /** First retry after about this long; doubled every attempt. */
  baseDelayMs: number;
  /** Retries are never further apart than this (Retry-After may ask for more, up to an hour). */
  maxDelayMs: number;
  /** A delivery still failing this long after it was queued is given up. */
  maxAgeMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** How long finished rows stay visible in the outbox. */
  keepMs: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  baseDelayMs: 5_000,
  maxDelayMs: 5 * 60_000,
  maxAgeMs: 24 * 3_600_000,
  timeoutMs: 15_000,
  keepMs: 7 * 24 * 3_600_000,
};

const MAX_RETRY_AFTER_MS = 3_600_000;
const BATCH = 100;
/** Even with nothing due, look again this often (rows inserted by another process, clock jumps). */
const IDLE_POLL_MS = 30_000;
/** A row is due while some delivery runs: look again this often (that delivery's end also wakes). */
const BUSY_POLL_MS = 1_000;
/** Finished rows older than `keepMs` are deleted this often. */
const PRUNE_EVERY_MS = 3_600_000;

export interface NotifyServiceDeps {
  repo: NotifyRepository;
  box: SecretBox;
  guard: NetworkGuard;
  clock: Clock;
  logger: Logger;
  /** In [0, 1): the jitter of backoffs. */
  random?: () => number;
  policy?: Partial<DeliveryPolicy>;
  hubName?: string;
  /** Default setTimeout; unit tests drive the worker's timer themselves. */
  timers?: WorkerTimers;
  /** Rows were queued here (several hubs, issue #14: main.ts tells the leader, whose worker delivers them). */
  onQueued?: () => void;
  /** Checks, inside the claim's transaction, that this hub's leader term still holds (issue #14; `Leadership.fence`). */
  fence?: ClaimFence;
  /** Issue #20: a span per delivery attempt (FAROL_OTLP_ENDPOINT); default off. */
  tracing?: Tracing;
  /** Issue #20: sends rows of target `push` (browser notifications); absent: such rows fail. */
  push?: PushSender;
  /** Issue #20: the actions an alert message offers (Telegram buttons, Slack and Discord links). */
  chatActions?: Pick<ChatActions, 'offerFor'>;
}

/** Backoff before the next attempt: exponential with jitter, never sooner than Retry-After asks. */
export function retryDelay(attempts: number, policy: DeliveryPolicy, random: () => number, retryAfterMs?: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  // "Equal jitter": at least half the delay, so retries of many rows spread without bunching at 0.
  const jittered = Math.round(exponential / 2 + random() * (exponential / 2));
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/**
 * The notifier's outbox: `notify` commits one row per channel and returns; a worker delivers
 * them with retries (429/5xx/network, honouring Retry-After), per-channel rate limits,
 * maintenance windows and quiet hours. Rows survive restarts; a row caught mid-send by a crash
 * is sent again once (the only duplicate the design allows).
 */
export function createNotifyService(deps: NotifyServiceDeps) {
  const { repo, box, guard, clock, logger } = deps;
  const tracing = deps.tracing ?? noTracing;
  const random = deps.random ?? Math.random;
  const policy: DeliveryPolicy = { ...DEFAULT_DELIVERY_POLICY, ...deps.policy };
  let stopped = false;
  let lastPrune = 0;
  /** Who claims rows while this hub delivers: the leader term (issue #14); null until `start`. */
  let claimant: { holder: string; epoch: number } | null = null;

  async function prune(): Promise<void> {
    lastPrune = clock.now();
    const pruned = await repo.prune(lastPrune - policy.keepMs);
    if (pruned > 0) logger.info({ deliveries: pruned }, 'old deliveries pruned from the outbox');
  }

  /**
   * Scans start the due targets that are not already being delivered and do not wait for them:
   * a provider that hangs until the timeout delays its own channel only.
   */
  const worker = createOutboxWorker({
    scan: async () => void (await scan()),
    afterScan: async () => {
      if (clock.now() - lastPrune >= PRUNE_EVERY_MS) await prune();
    },
    nextDueAt: () => repo.nextDueAt(),
    isDelivering: () => inFlight.size > 0,
    clock,
    timers: deps.timers ?? systemTimers,
    idlePollMs: IDLE_POLL_MS,
    busyPollMs: BUSY_POLL_MS,
    onError: (error) => logger.error({ err: error }, 'outbox scan failed'),
  });
  const kick = (): void => worker.wake();

  /** Holds the remaining due rows of a target until `at`, without counting an attempt. */
  async function holdRest(rows: OutboxRecord[], at: number): Promise<void> {
    for (const row of rows) if ((row.nextAttemptAt ?? 0) < at) await repo.reschedule(row.id, at, row.lastError);
  }

  /** What a pass knows about one channel: loaded once for all its due rows. */
  interface ChannelPass {
    channel: OpenChannel | null;
    /** Send times inside the rate-limit window, oldest first; grows as this pass sends. */
    sent: number[];
  }

  async function loadChannelPass(targetId: string, now: number): Promise<ChannelPass> {
    const row = await repo.findChannel(targetId);
    if (!row) return { channel: null, sent: [] };
    const channel = openChannel(row, box);
    return { channel, sent: await repo.sentSince(channel.id, now - channel.rateLimit.perSeconds * 1000) };
  }

  async function attemptChannel(row: OutboxRecord, now: number, pass: ChannelPass): Promise<AttemptOutcome | { held: number } | { dropped: string } | { gone: string }> {
    const { channel } = pass;
    if (!channel) return { gone: 'the channel was deleted' };
    const notification = NotificationSchema.parse(JSON.parse(row.payload));
    if (notification.kind !== 'test') {
      if (!channel.enabled) return { dropped: 'the channel is disabled' };
      const maintenance = activeMaintenance(channel.maintenance, now);
      if (maintenance) {
        if (row.critical) return { held: maintenance.end };
        return { dropped: `maintenance window${maintenance.reason ? ` (${maintenance.reason})` : ''}` };
      }
      const quietEnd = quietHoursEnd(channel.quietHours, now);
      if (quietEnd !== null && !row.critical) return { held: quietEnd };
    }
    const windowMs = channel.rateLimit.perSeconds * 1000;
    const recent = pass.sent.filter((at) => at > now - windowMs);
    if (recent.length >= channel.rateLimit.count) return { held: recent[recent.length - channel.rateLimit.count]! + windowMs };
    if (!(await repo.claim(row.id, claimant, deps.fence))) return { gone: 'claimed elsewhere' };
    const offer = await offerOf(channel, notification, row.id);
    const outcome = await sendToChannel(channel, notification, { guard, now, renderAt: row.createdAt, deliveryId: row.id, timeoutMs: policy.timeoutMs, offer, ...(deps.hubName ? { hub: deps.hubName } : {}) });
    if (outcome.ok) pass.sent.push(now);
    return outcome;
  }

  /** The message's actions; without them (a database hiccup) the alert still goes out, as text. */
  async function offerOf(channel: OpenChannel, notification: Notification, deliveryId: string): Promise<ChatOffer | null> {
    if (!deps.chatActions) return null;
    try {
      return await deps.chatActions.offerFor(channel, notification, deliveryId);
    } catch (error) {
      logger.warn({ err: error, deliveryId, channel: channel.name }, 'chat actions could not be prepared; the message goes out without them');
      return null;
    }
  }

  async function attemptWebhook(row: OutboxRecord, now: number): Promise<AttemptOutcome | { dropped: string } | { gone: string }> {
    const hook = await repo.findWebhook(row.targetId);
    if (!hook) return { gone: 'the webhook subscription was deleted' };
    if (!hook.enabled && row.kind !== 'test') return { dropped: 'the webhook subscription is disabled' };
    if (!(await repo.claim(row.id, claimant, deps.fence))) return { gone: 'claimed elsewhere' };
    const url = box.open(hook.urlSealed, webhookSecretContext(hook.id, 'url'));
    const secret = hook.secretSealed ? box.open(hook.secretSealed, webhookSecretContext(hook.id, 'secret')) : undefined;
    const body = JSON.stringify({ id: row.id, ...(JSON.parse(row.payload) as Omit<WebhookEventPayload, 'id'>) });
    try {
      return classifyAnswer(await sendHttp(guard, { url, body, headers: webhookHeaders(body, row.id, secret, now), timeoutMs: policy.timeoutMs }), now);
    } catch (error) {
      return classifyError(error);
    }
  }

  function endDeliverySpan(span: TraceSpan, result: Awaited<ReturnType<typeof attemptChannel>>): void {
    const outcome = 'gone' in result ? 'gone' : 'dropped' in result ? 'dropped' : 'held' in result ? 'held' : result.ok ? 'sent' : result.retry ? 'retry' : 'failed';
    span.setAttributes({ 'farol.delivery.outcome': outcome, ...('status' in result && result.status !== null ? { 'http.response.status_code': result.status } : {}) });
    if ('ok' in result && !result.ok) span.fail(result.error);
    span.end();
  }

  async function attemptPush(row: OutboxRecord): Promise<AttemptOutcome | { dropped: string } | { gone: string }> {
    if (!deps.push) return { gone: 'browser notifications are not available on this hub' };
    if (!(await repo.claim(row.id, claimant, deps.fence))) return { gone: 'claimed elsewhere' };
    return deps.push.send(row.targetId, row.payload, { deliveryId: row.id, timeoutMs: policy.timeoutMs });
  }

  /** Delivers one target's due rows in order; stops at the first that must wait. */
  async function deliverTarget(rows: OutboxRecord[]): Promise<void> {
    let pass: ChannelPass | undefined;
    for (const [index, row] of rows.entries()) {
      // Shutting down: what is not attempted yet stays pending for the next start.
      if (stopped) return;
      const now = clock.now();
      const log = logger.child({ deliveryId: row.id, target: row.target, targetId: row.targetId, kind: row.kind });
      let result: Awaited<ReturnType<typeof attemptChannel>>;
      const attempt = async (): Promise<typeof result> => {
        if (row.target === 'webhook') return await attemptWebhook(row, now);
        if (row.target === 'push') return await attemptPush(row);
        return await attemptChannel(row, now, (pass ??= await loadChannelPass(row.targetId, now)));
      };
      const span = tracing.enabled
        ? tracing.startSpan('notify.deliver', { parent: null, kind: 'client', attributes: { 'farol.delivery.id': row.id, 'farol.delivery.target': row.target, 'farol.delivery.kind': row.kind, 'farol.delivery.attempt': row.attempts + 1 } })
        : null;
      try {
        result = span ? await tracing.run(span, attempt) : await attempt();
        if (span) endDeliverySpan(span, result);
      } catch (error) {
        span?.fail(error instanceof Error ? error.message : String(error));
        span?.end();
        if (error instanceof StaleLeaderError) {
          // This hub's leader term ended: the row stays pending for the next leader, untried.
          log.warn({ epoch: error.epoch }, 'not delivering: this hub no longer leads');
          return;
        }
        // A row that cannot even be prepared (unreadable payload, a secret sealed with another
        // key) would fail the same way forever: it fails now, and the others go on.
        const message = error instanceof Error ? error.message : String(error);
        await repo.finish(row.id, 'failed', `could not prepare the message: ${message}`);
        log.error({ err: error }, 'delivery failed for good: could not prepare the message');
        continue;
      }
      if ('gone' in result) {
        if (result.gone !== 'claimed elsewhere') await repo.finish(row.id, 'failed', result.gone);
        continue;
      }
      if ('dropped' in result) {
        await repo.finish(row.id, 'dropped', result.dropped);
        log.info({ reason: result.dropped }, 'notification dropped');
        continue;
      }
      if ('held' in result) {
        // Held by a window or the rate limit: not an attempt. Later rows of the same target wait
        // too, except that a critical row behind a non-critical one is judged on its own.
        await repo.reschedule(row.id, result.held, row.lastError);
        log.debug({ until: result.held }, 'notification held');
        continue;
      }
      if (result.ok) {
        await repo.markSent(row.id, clock.now());
        log.info({ status: result.status, attempts: row.attempts + 1 }, 'notification delivered');
        continue;
      }
      const attempts = row.attempts + 1;
      if (result.retry && now - row.createdAt < policy.maxAgeMs) {
        const delay = retryDelay(attempts, policy, random, result.retryAfterMs);
        await repo.reschedule(row.id, now + delay, result.error);
        log.warn({ status: result.status, attempts, retryInMs: delay, error: result.error }, 'delivery failed; will retry');
        // The provider is struggling: the target's other rows wait for the same moment.
        await holdRest(rows.slice(index + 1), now + delay);
        return;
      }
      await repo.finish(row.id, 'failed', result.error);
      log.error({ status: result.status, attempts, error: result.error }, 'delivery failed for good');
    }
  }

  const inFlight = new Map<string, Promise<void>>();

  /** Starts delivering every due target that is not in flight; returns their promises. */
  async function scan(): Promise<Array<Promise<void>>> {
    const due = await repo.due(clock.now(), BATCH);
    const byTarget = new Map<string, OutboxRecord[]>();
    for (const row of due) {
      if (inFlight.has(row.targetId)) continue;
      const list = byTarget.get(row.targetId) ?? [];
      list.push(row);
      byTarget.set(row.targetId, list);
    }
    return [...byTarget].map(([target, rows]) => {
      const delivery = deliverTarget(rows)
        .catch((error: unknown) => logger.error({ err: error, targetId: target }, 'delivery to a target failed'))
        .finally(() => {
          inFlight.delete(target);
          // Its later rows may be due now.
          kick();
        });
      inFlight.set(target, delivery);
      return delivery;
    });
  }

  /** One pass over everything due, waiting for it: targets in parallel, each target's rows in order. */
  async function runOnce(): Promise<void> {
    await Promise.all(await scan());
  }

  function toEntry({ payload: _payload, ...entry }: OutboxRecord): OutboxEntry {
    return entry;
  }

  return {
    /**
     * Queues a notification for channels (names or ids). Returns once one outbox row per channel
     * is committed; delivery happens after. Unknown refs are refused before anything is written.
     */
    async notify(channelRefs: string[], notification: Notification): Promise<void> {
      const parsed = NotificationSchema.parse(notification);
      const ids = new Set<string>();
      const unknown: string[] = [];
      for (const ref of channelRefs) {
        const row = await repo.findChannel(ref);
        if (row) ids.add(row.id);
        else unknown.push(ref);
      }
      if (unknown.length > 0) logger.warn({ channels: unknown }, 'notification for unknown channels; they are skipped');
      if (ids.size === 0) {
        if (unknown.length > 0) throw new FarolError('not_found', `no channel named ${unknown.map((r) => `"${r}"`).join(', ')}`);
        return;
      }
      const now = clock.now();
      const payload = JSON.stringify(parsed);
      const critical = isCritical(parsed);
      const rows: NewOutboxRecord[] = [...ids].map((id) => ({ id: randomId('dl'), target: 'channel', targetId: id, kind: parsed.kind, payload, critical, createdAt: now }));
      await repo.enqueue(rows);
      kick();
      deps.onQueued?.();
    },

    /** Queues browser notifications (issue #20): one row per subscription, delivered by `push`. */
    async enqueuePush(messages: Array<{ subscriptionId: string; kind: string; payload: string; critical: boolean }>): Promise<void> {
      if (messages.length === 0) return;
      const now = clock.now();
      await repo.enqueue(messages.map((message) => ({ id: randomId('dl'), target: 'push', targetId: message.subscriptionId, kind: message.kind, payload: message.payload, critical: message.critical, createdAt: now })));
      kick();
      deps.onQueued?.();
    },

    /** Queues an event for a webhook subscription (same outbox, same guard). */
    async enqueueWebhook(webhookId: string, kind: string, payload: Omit<WebhookEventPayload, 'id'>): Promise<string> {
      const now = clock.now();
      const id = randomId('dl');
      await repo.enqueue([
        { id, target: 'webhook', targetId: webhookId, kind, payload: JSON.stringify(payload), critical: false, createdAt: now },
      ]);
      kick();
      deps.onQueued?.();
      return id;
    },

    async listOutbox(state: OutboxState | undefined, limit: number): Promise<OutboxEntry[]> {
      return (await repo.listOutbox(state, limit)).map(toEntry);
    },

    /**
     * Resumes rows a previous run (or a former leader) left mid-send, prunes old ones, and starts
     * the worker. With several hubs only the leader delivers (issue #14): `term` is its lease, and
     * the rows it claims carry it; rows another claimant left `sending` are sent again, with
     * their delivery id unchanged.
     */
    async start(term: { holder: string; epoch: number } = { holder: randomId('hub'), epoch: 0 }): Promise<void> {
      claimant = term;
      stopped = false;
      const resumed = await repo.resumeInterrupted(clock.now(), term.holder);
      if (resumed > 0) logger.warn({ deliveries: resumed, epoch: term.epoch }, 'deliveries interrupted by a restart or a leader change are sent again');
      await prune();
      // Said once at start: with no channel the alert rules fire but notify no one (#21).
      if ((await repo.listChannels()).length === 0) {
        logger.warn('no notification channel is configured: alerts will notify no one; add one with `farol channels add` or in the dashboard under Alerts → Channels');
      }
      worker.start();
    },

    /** Looks for due rows now (rows another hub queued); nothing while the worker is stopped. */
    wake(): void {
      kick();
    },

    /** Stops the worker and waits for the pass in progress. */
    async stop(): Promise<void> {
      stopped = true;
      await worker.stop();
      await Promise.all(inFlight.values());
    },

    /** One pass now (tests drive the worker with an injected clock). */
    runOnce,
  };
}
export type NotifyService = ReturnType<typeof createNotifyService>;
