import { randomUUID } from 'node:crypto';
import { FarolError, ERROR_CODES, type ErrorCode } from '@farol/protocol';
import type { Logger } from './logger.js';
import { decodeMessage, encodeMessage, type RedisConnection } from './redis.js';

/** Things one hub owns while they live (issue #14): a job it created, a terminal an operator opened on it. */
export type OwnedKind = 'job' | 'terminal';

/** No hub listens under that id any more (it died or stopped): the caller handles the request itself. */
export class HubUnreachableError extends Error {
  constructor(readonly hubId: string) {
    super(`hub ${hubId} is not listening`);
    this.name = 'HubUnreachableError';
  }
}

type RelayHandler = (payload: unknown) => unknown;

/**
 * Requests between hubs (issue #14): the hub that holds an agent's connection forwards what the
 * agent reports about a job or a terminal to the hub that owns it, and the owner's answer goes
 * back to the agent as its ack. Owners are recorded with a TTL so a dead hub's claims lapse.
 *
 * One hub (createLocalHubRelay): this hub owns everything and there is nobody to call.
 */
export interface HubRelay {
  readonly hubId: string;
  /** False for one hub: nothing is ever owned elsewhere, so callers skip the look-ups. */
  readonly shared: boolean;
  /** Records this hub as the owner of `kind/id` for `ttlMs`. */
  claim(kind: OwnedKind, id: string, ttlMs: number): Promise<void>;
  /** Takes `kind/id` over unless another live hub owns it; true when this hub owns it now. */
  adopt(kind: OwnedKind, id: string, ttlMs: number): Promise<boolean>;
  /** The live hub other than this one that owns `kind/id`; null when this hub, nobody or a dead hub does. */
  remoteOwnerOf(kind: OwnedKind, id: string): Promise<string | null>;
  /**
   * Runs `method` on `hubId` and resolves with its answer. Rejects with HubUnreachableError when
   * nobody listens there, with the FarolError the handler threw, or with `unavailable` after
   * `timeoutMs` (the request may still have been handled: callers must not redo it themselves).
   */
  call<T>(hubId: string, method: string, payload: unknown, timeoutMs?: number): Promise<T>;
  /** Answers `method` for other hubs (a FarolError thrown travels back as itself). */
  handle(method: string, handler: RelayHandler): void;
}

/** One hub: it owns everything, so nothing is ever forwarded. */
export function createLocalHubRelay(hubId: string): HubRelay {
  return {
    hubId,
    shared: false,
    claim: async () => {},
    adopt: async () => true,
    remoteOwnerOf: async () => null,
    call: async (target) => {
      throw new HubUnreachableError(target);
    },
    handle: () => {},
  };
}

/** The key of a hub's lease (infra/presence-directory.ts keeps it alive). */
export const hubLeaseKey = (prefix: string, hubId: string): string => `${prefix}hub:${hubId}`;

const ADOPT = `
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if owner and redis.call('EXISTS', ARGV[3] .. owner) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

const LIVE_OWNER = `
local owner = redis.call('GET', KEYS[1])
if not owner or owner == ARGV[1] then return false end
if redis.call('EXISTS', ARGV[2] .. owner) == 1 then return owner end
return false`;

interface Request {
  kind: 'request';
  id: string;
  from: string;
  method: string;
  payload: unknown;
  /** When the caller gives up (its clock): a request still in transit then is not served. Absent from hubs before it. */
  expiresAt?: number;
}

/** How far another hub's clock may be ahead of this one's before its late requests are served anyway. */
const CLOCK_SKEW_MS = 2_000;
interface Reply {
  kind: 'reply';
  id: string;
  ok: boolean;
  value?: unknown;
  error?: { code: string; message: string };
}

/**
 * Requests and replies for one hub that were made in the same turn of the event loop, in one
 * Redis message on that hub's batch channel (`relay-batch:<id>`): a 10,000-machine job over
 * three hubs hands ~6,700 commands to the other two, and ~6,700 acks and results come back.
 * `items` are the requests and replies in the order they were made.
 */
interface Batch {
  kind: 'batch';
  items: Array<Request | Reply>;
}

/** Most items in one batch, and about the most characters (a message may exceed it by one item). */
export const RELAY_BATCH_MAX_ITEMS = 500;
const RELAY_BATCH_MAX_CHARS = 1_000_000;

/** One encoded request or reply waiting for this turn's flush, and what to do if it cannot go. */
interface Outgoing {
  text: string;
  /** Nobody listens on the hub's channel: it is gone (a request's caller hears so at once). */
  unreachable(): void;
  /** Redis refused the publish. */
  failed(error: unknown): void;
}

/** Several hubs: requests and replies over one Redis channel per hub, owners as keys with a TTL. */
export function createRedisHubRelay({ redis, hubId, logger, defaultTimeoutMs = 5_000 }: { redis: RedisConnection; hubId: string; logger: Logger; defaultTimeoutMs?: number }): HubRelay & {
  start(): Promise<void>;
  stop(): Promise<void>;
} {
  const inbox = (id: string): string => `${redis.prefix}relay:${id}`;
  const batchInbox = (id: string): string => `${redis.prefix}relay-batch:${id}`;
  const ownerKey = (kind: OwnedKind, id: string): string => `${redis.prefix}owner:${kind}:${id}`;
  const leasePrefix = hubLeaseKey(redis.prefix, '');
  const handlers = new Map<string, RelayHandler>();
  const waiting = new Map<string, { resolve(value: unknown): void; reject(error: unknown): void; timer: NodeJS.Timeout }>();

  /** Per hub, what this turn sent it, flushed together on the next (see Batch). */
  const outgoing = new Map<string, Outgoing[]>();
  let flushScheduled = false;

  function enqueue(to: string, item: Outgoing): void {
    let queue = outgoing.get(to);
    if (!queue) outgoing.set(to, (queue = []));
    queue.push(item);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  function flush(): void {
    flushScheduled = false;
    const queues = [...outgoing];
    outgoing.clear();
    for (const [to, items] of queues) {
      if (items.length === 1) publishOne(to, items[0]!);
      else for (const chunk of chunks(items)) publishBatch(to, chunk);
    }
  }

  /** Consecutive runs of items within RELAY_BATCH_MAX_ITEMS and about RELAY_BATCH_MAX_CHARS. */
  function chunks(items: Outgoing[]): Outgoing[][] {
    const result: Outgoing[][] = [];
    let current: Outgoing[] = [];
    let chars = 0;
    for (const item of items) {
      if (current.length > 0 && (current.length >= RELAY_BATCH_MAX_ITEMS || chars + item.text.length > RELAY_BATCH_MAX_CHARS)) {
        result.push(current);
        current = [];
        chars = 0;
      }
      current.push(item);
      chars += item.text.length;
    }
    if (current.length > 0) result.push(current);
    return result;
  }

  /** On the hub's own channel, as one request or reply (what every hub version reads). */
  function publishOne(to: string, item: Outgoing): void {
    redis.client.publish(inbox(to), item.text).then(
      (receivers) => {
        if (receivers === 0) item.unreachable();
      },
      (error: unknown) => item.failed(error),
    );
  }

  /**
   * On the hub's batch channel. Nobody listening there: the hub is gone, or it is a hub from
   * before batches (a rolling upgrade), so each item goes again on its own channel, which says
   * which of the two it is. Redis keeps the order of one connection's publishes across channels.
   */
  function publishBatch(to: string, items: Outgoing[]): void {
    // The items are JSON already: joined, not encoded again.
    const text = `{"kind":"batch","items":[${items.map((item) => item.text).join(',')}]}`;
    redis.client.publish(batchInbox(to), text).then(
      (receivers) => {
        if (receivers === 0) for (const item of items) publishOne(to, item);
      },
      (error: unknown) => {
        for (const item of items) item.failed(error);
      },
    );
  }

  function reply(to: string, message: Reply): void {
    let text: string;
    try {
      text = encodeMessage(message);
    } catch (error) {
      text = encodeMessage({ kind: 'reply', id: message.id, ok: false, error: { code: 'internal', message: `unencodable answer: ${(error as Error).message}` } } satisfies Reply);
    }
    enqueue(to, {
      text,
      // The caller stopped listening (stopped or died): nobody is waiting for this answer.
      unreachable: () => undefined,
      failed: (error) => logger.error({ err: error, to }, 'could not answer another hub (Redis); it times the request out'),
    });
  }

  async function serve(request: Request): Promise<void> {
    const handler = handlers.get(request.method);
    if (!handler) {
      reply(request.from, { kind: 'reply', id: request.id, ok: false, error: { code: 'internal', message: `hub ${hubId} does not answer ${request.method}` } });
      return;
    }
    try {
      const value = await handler(request.payload);
      reply(request.from, { kind: 'reply', id: request.id, ok: true, value: value ?? null });
    } catch (error) {
      const code = error instanceof FarolError ? error.code : 'internal';
      if (!(error instanceof FarolError)) logger.error({ err: error, method: request.method, from: request.from }, 'a request from another hub failed');
      reply(request.from, { kind: 'reply', id: request.id, ok: false, error: { code, message: (error as Error).message } });
    }
  }

  const onMessage = (channel: string, text: string): void => {
    const batch = channel === batchInbox(hubId);
    if (!batch && channel !== inbox(hubId)) return;
    let message: Request | Reply | Batch;
    try {
      message = decodeMessage<Request | Reply | Batch>(text);
    } catch (error) {
      logger.error({ err: error }, 'dropped an unreadable message from another hub');
      return;
    }
    if (!batch) receive(message as Request | Reply);
    else if (message.kind === 'batch' && Array.isArray(message.items)) message.items.forEach(receive);
    else logger.error('dropped a message on the batch channel that is not a batch');
  };

  function receive(message: Request | Reply): void {
    if (message?.kind !== 'request' && message?.kind !== 'reply') {
      logger.error('dropped a message from another hub that is neither a request nor a reply');
      return;
    }
    if (message.kind === 'request') {
      // Its caller has given up and treats it as failed (it may try again): serving it now would
      // do the work twice. Redis hands over a request late after a lost connection came back.
      if (message.expiresAt !== undefined && Date.now() > message.expiresAt + CLOCK_SKEW_MS) {
        logger.warn({ method: message.method, from: message.from, lateMs: Date.now() - message.expiresAt }, 'dropped a request from another hub that arrived after its caller gave up');
        return;
      }
      void serve(message);
      return;
    }
    const pending = waiting.get(message.id);
    if (!pending) return; // Answered after its caller gave up: the caller already reported the timeout.
    waiting.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message.value);
    else {
      const code = (ERROR_CODES as readonly string[]).includes(message.error!.code) ? (message.error!.code as ErrorCode) : 'internal';
      pending.reject(new FarolError(code, message.error!.message));
    }
  }

  return {
    hubId,
    shared: true,
    async claim(kind, id, ttlMs) {
      await redis.client.set(ownerKey(kind, id), hubId, 'PX', Math.max(1, Math.round(ttlMs)));
    },
    async adopt(kind, id, ttlMs) {
      return (await redis.client.eval(ADOPT, 1, ownerKey(kind, id), hubId, String(Math.max(1, Math.round(ttlMs))), leasePrefix)) === 1;
    },
    async remoteOwnerOf(kind, id) {
      const owner = await redis.client.eval(LIVE_OWNER, 1, ownerKey(kind, id), hubId, leasePrefix);
      return typeof owner === 'string' ? owner : null;
    },
    call<T>(target: string, method: string, payload: unknown, timeoutMs = defaultTimeoutMs): Promise<T> {
      const id = randomUUID();
      // Not queued while Redis is away (it would go out when Redis is back, long after this gave up).
      if (!redis.isUp()) return Promise.reject(new FarolError('unavailable', `could not reach hub ${target}: Redis is unreachable`));
      const expiresAt = Date.now() + timeoutMs;
      return new Promise<T>((resolve, reject) => {
        const text = encodeMessage({ kind: 'request', id, from: hubId, method, payload, expiresAt } satisfies Request);
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new FarolError('unavailable', `hub ${target} did not answer ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref();
        waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
        const fail = (error: unknown): void => {
          if (!waiting.delete(id)) return;
          clearTimeout(timer);
          reject(error);
        };
        enqueue(target, {
          text,
          // Nobody subscribed: that hub is gone. Said at once, not after the timeout.
          unreachable: () => fail(new HubUnreachableError(target)),
          failed: (error) => fail(new FarolError('unavailable', `could not reach hub ${target} (Redis): ${(error as Error).message}`, { cause: error })),
        });
      });
    },
    handle(method, handler) {
      handlers.set(method, handler);
    },
    async start() {
      redis.subscriber.on('message', onMessage);
      await redis.subscriber.subscribe(inbox(hubId), batchInbox(hubId));
    },
    async stop() {
      redis.subscriber.off('message', onMessage);
      for (const [id, pending] of waiting) {
        clearTimeout(pending.timer);
        pending.reject(new FarolError('unavailable', 'the hub is shutting down'));
        waiting.delete(id);
      }
      await redis.subscriber.unsubscribe(inbox(hubId), batchInbox(hubId)).catch((error: unknown) => logger.debug({ err: error }, 'unsubscribing the relay from Redis failed (closing anyway)'));
    },
  };
}
