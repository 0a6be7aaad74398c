import { FarolError, NotificationSchema, type Notification, type OutboxEntry, type OutboxState, type WebhookEventPayload } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import { openChannel, type OpenChannel } from './channel-store.js';
import { sendHttp } from './http-send.js';
import type { NetworkGuard } from './net-guard.js';
import type { NewOutboxRow, NotifyRepository, OutboxRow } from './notify.repository.js';
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
  const random = deps.random ?? Math.random;
  const policy: DeliveryPolicy = { ...DEFAULT_DELIVERY_POLICY, ...deps.policy };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let started = false;
  let stopped = false;
  let lastPrune = 0;

  async function prune(): Promise<void> {
    lastPrune = clock.now();
    const pruned = await repo.prune(lastPrune - policy.keepMs);
    if (pruned > 0) logger.info({ deliveries: pruned }, 'old deliveries pruned from the outbox');
  }

  function schedule(delayMs: number): void {
    if (!started || stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      kick();
    }, Math.max(0, Math.min(delayMs, IDLE_POLL_MS)));
  }

  /**
   * Starts a scan unless one is running (then it runs again after). A scan starts the due
   * targets that are not already being delivered and does not wait for them: a provider that
   * hangs until the timeout delays its own channel only.
   */
  function kick(): void {
    if (!started || stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = scan()
      .then(async () => {
        running = undefined;
        if (again) {
          again = false;
          kick();
          return;
        }
        if (clock.now() - lastPrune >= PRUNE_EVERY_MS) await prune();
        const next = await repo.nextDueAt();
        // Rows due now belong to targets in flight (their end kicks again) or wait for the next
        // scan; the idle poll is the safety net.
        schedule(next === null || next <= clock.now() ? IDLE_POLL_MS : next - clock.now());
      })
      .catch((error: unknown) => {
        running = undefined;
        logger.error({ err: error }, 'outbox scan failed');
        schedule(IDLE_POLL_MS);
      });
  }

  /** Holds the remaining due rows of a target until `at`, without counting an attempt. */
  async function holdRest(rows: OutboxRow[], at: number): Promise<void> {
    for (const row of rows) if ((row.next_attempt_at ?? 0) < at) await repo.reschedule(row.id, at, row.last_error);
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

  async function attemptChannel(row: OutboxRow, now: number, pass: ChannelPass): Promise<AttemptOutcome | { held: number } | { dropped: string } | { gone: string }> {
    const { channel } = pass;
    if (!channel) return { gone: 'the channel was deleted' };
    const notification = NotificationSchema.parse(JSON.parse(row.payload));
    if (notification.kind !== 'test') {
      if (!channel.enabled) return { dropped: 'the channel is disabled' };
      const maintenance = activeMaintenance(channel.maintenance, now);
      if (maintenance) {
        if (row.critical === 1) return { held: maintenance.end };
        return { dropped: `maintenance window${maintenance.reason ? ` (${maintenance.reason})` : ''}` };
      }
      const quietEnd = quietHoursEnd(channel.quietHours, now);
      if (quietEnd !== null && row.critical !== 1) return { held: quietEnd };
    }
    const windowMs = channel.rateLimit.perSeconds * 1000;
    const recent = pass.sent.filter((at) => at > now - windowMs);
    if (recent.length >= channel.rateLimit.count) return { held: recent[recent.length - channel.rateLimit.count]! + windowMs };
    if (!(await repo.claim(row.id))) return { gone: 'claimed elsewhere' };
    const outcome = await sendToChannel(channel, notification, { guard, now, renderAt: row.created_at, deliveryId: row.id, timeoutMs: policy.timeoutMs, ...(deps.hubName ? { hub: deps.hubName } : {}) });
    if (outcome.ok) pass.sent.push(now);
    return outcome;
  }

  async function attemptWebhook(row: OutboxRow, now: number): Promise<AttemptOutcome | { dropped: string } | { gone: string }> {
    const hook = await repo.findWebhook(row.target_id);
    if (!hook) return { gone: 'the webhook subscription was deleted' };
    if (hook.enabled !== 1 && row.kind !== 'test') return { dropped: 'the webhook subscription is disabled' };
    if (!(await repo.claim(row.id))) return { gone: 'claimed elsewhere' };
    const url = box.open(hook.url_sealed, webhookSecretContext(hook.id, 'url'));
    const secret = hook.secret_sealed ? box.open(hook.secret_sealed, webhookSecretContext(hook.id, 'secret')) : undefined;
    const body = JSON.stringify({ id: row.id, ...(JSON.parse(row.payload) as Omit<WebhookEventPayload, 'id'>) });
    try {
      return classifyAnswer(await sendHttp(guard, { url, body, headers: webhookHeaders(body, row.id, secret, now), timeoutMs: policy.timeoutMs }), now);
    } catch (error) {
      return classifyError(error);
    }
  }

  /** Delivers one target's due rows in order; stops at the first that must wait. */
  async function deliverTarget(rows: OutboxRow[]): Promise<void> {
    let pass: ChannelPass | undefined;
    for (const [index, row] of rows.entries()) {
      // Shutting down: what is not attempted yet stays pending for the next start.
      if (stopped) return;
      const now = clock.now();
      const log = logger.child({ deliveryId: row.id, target: row.target, targetId: row.target_id, kind: row.kind });
      let result: Awaited<ReturnType<typeof attemptChannel>>;
      try {
        if (row.target === 'webhook') result = await attemptWebhook(row, now);
        else result = await attemptChannel(row, now, (pass ??= await loadChannelPass(row.target_id, now)));
      } catch (error) {
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
        await repo.reschedule(row.id, result.held, row.last_error);
        log.debug({ until: result.held }, 'notification held');
        continue;
      }
      if (result.ok) {
        await repo.markSent(row.id, clock.now());
        log.info({ status: result.status, attempts: row.attempts + 1 }, 'notification delivered');
        continue;
      }
      const attempts = row.attempts + 1;
      if (result.retry && now - row.created_at < policy.maxAgeMs) {
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
    const byTarget = new Map<string, OutboxRow[]>();
    for (const row of due) {
      if (inFlight.has(row.target_id)) continue;
      const list = byTarget.get(row.target_id) ?? [];
      list.push(row);
      byTarget.set(row.target_id, list);
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

  function toEntry(row: OutboxRow): OutboxEntry {
    return {
      id: row.id,
      target: row.target === 'webhook' ? 'webhook' : 'channel',
      targetId: row.target_id,
      kind: row.kind,
      state: row.state as OutboxState,
      critical: row.critical === 1,
      attempts: row.attempts,
      createdAt: row.created_at,
      nextAttemptAt: row.next_attempt_at,
      sentAt: row.sent_at,
      lastError: row.last_error,
    };
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
      const critical = isCritical(parsed) ? 1 : 0;
      const rows: NewOutboxRow[] = [...ids].map((id) => ({
        id: randomId('dl'),
        target: 'channel',
        target_id: id,
        kind: parsed.kind,
        payload,
        critical,
        state: 'pending',
        attempts: 0,
        created_at: now,
        next_attempt_at: now,
        sent_at: null,
        last_error: null,
      }));
      await repo.enqueue(rows);
      kick();
    },

    /** Queues an event for a webhook subscription (same outbox, same guard). */
    async enqueueWebhook(webhookId: string, kind: string, payload: Omit<WebhookEventPayload, 'id'>): Promise<string> {
      const now = clock.now();
      const id = randomId('dl');
      await repo.enqueue([
        { id, target: 'webhook', target_id: webhookId, kind, payload: JSON.stringify(payload), critical: 0, state: 'pending', attempts: 0, created_at: now, next_attempt_at: now, sent_at: null, last_error: null },
      ]);
      kick();
      return id;
    },

    async listOutbox(state: OutboxState | undefined, limit: number): Promise<OutboxEntry[]> {
      return (await repo.listOutbox(state, limit)).map(toEntry);
    },

    /** Resumes rows a previous run left mid-send, prunes old ones, and starts the worker. */
    async start(): Promise<void> {
      const resumed = await repo.resumeInterrupted(clock.now());
      if (resumed > 0) logger.warn({ deliveries: resumed }, 'deliveries interrupted by a restart are sent again');
      await prune();
      started = true;
      kick();
    },

    /** Stops the worker and waits for the pass in progress. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await Promise.all(inFlight.values());
    },

    /** One pass now (tests drive the worker with an injected clock). */
    runOnce,
  };
}
export type NotifyService = ReturnType<typeof createNotifyService>;
