import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/** What `/ready` and `/metrics` say about the hub's Redis (issue #14). */
export interface RedisStatus {
  state: 'ok' | 'lost';
  /** One line saying what is wrong and what to do; absent when all is well. */
  detail?: string;
}

/**
 * The Redis that several hubs share (issue #14): one connection for commands and publishing,
 * one for subscriptions (a subscribed Redis connection takes no other commands). Both
 * reconnect by themselves with a capped backoff and re-subscribe; commands issued while the
 * connection is down wait in ioredis's offline queue for up to `commandTimeoutMs` and then
 * fail, so a caller learns of the loss instead of hanging.
 */
export interface RedisConnection {
  /** Commands and PUBLISH. */
  readonly client: Redis;
  /** SUBSCRIBE only. */
  readonly subscriber: Redis;
  /**
   * Prefix of every key and channel: `farol:<db>:`. Keys are already separated by the URL's
   * database number; channels are not (Redis pub/sub ignores the database), so the number goes
   * into the prefix too and fleets on one Redis with different database numbers never mix.
   */
  readonly prefix: string;
  status(): RedisStatus;
  /**
   * Whether the command connection is up now. Fire-and-forget messages (broadcasts, requests to
   * other hubs) are not sent while it is not: ioredis would queue them and send them all when
   * Redis is back, long after their senders gave up on them.
   */
  isUp(): boolean;
  /** Resolves once both connections are ready (start-up waits; a hub without Redis does not start). */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Calls `listener` each time both connections are ready again after Redis was lost (not at the
   * first connect): whatever was broadcast meanwhile was missed. Returns the unsubscribe.
   */
  onRegained(listener: (lostForMs: number) => void): () => void;
  close(): Promise<void>;
}

/** The URL without its password, for logs and `/ready`. */
export function redisLabel(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.username = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    // A URL the config schema accepted but URL() does not: say only the scheme.
    return 'redis://…';
  }
}

export function connectRedis({ url, logger, commandTimeoutMs = 5_000, prefix }: { url: string; logger: Logger; commandTimeoutMs?: number; /** Tests: a prefix of their own. */ prefix?: string }): RedisConnection {
  const label = redisLabel(url);
  const db = Number(new URL(url).pathname.replace(/^\//, '') || '0');
  const options = {
    // Reconnect forever: 100 ms, 200 ms, … capped at 2 s. A hub never gives up on Redis.
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
    maxRetriesPerRequest: null,
    commandTimeout: commandTimeoutMs,
    enableAutoPipelining: true,
    lazyConnect: false,
  } as const;
  const client = new Redis(url, { ...options, connectionName: 'farol-hub' });
  const subscriber = new Redis(url, { ...options, connectionName: 'farol-hub-sub' });
  let lostSince: number | null = null;
  let lastError: string | null = null;
  const regainedListeners = new Set<(lostForMs: number) => void>();

  const watch = (connection: Redis, role: string): void => {
    connection.on('ready', () => {
      if (lostSince !== null && client.status === 'ready' && subscriber.status === 'ready') {
        const lostForMs = Date.now() - lostSince;
        logger.info({ redis: label, lostForMs }, 'Redis is back');
        lostSince = null;
        lastError = null;
        for (const listener of regainedListeners) {
          try {
            listener(lostForMs);
          } catch (error) {
            logger.error({ err: error }, 'a listener for Redis coming back failed');
          }
        }
      }
    });
    connection.on('error', (error: Error) => {
      lastError = error.message;
      // ioredis emits an error per failed reconnect attempt; log the change, not every attempt.
      if (lostSince === null) {
        lostSince = Date.now();
        logger.error({ redis: label, role, err: error }, `Redis unreachable: check that ${label} is running and reachable from the hub; the hub reconnects by itself`);
      }
    });
    connection.on('close', () => {
      if (lostSince === null) {
        lostSince = Date.now();
        logger.error({ redis: label, role }, `Redis connection closed; reconnecting to ${label}`);
      }
    });
  };
  watch(client, 'commands');
  watch(subscriber, 'subscriptions');

  return {
    client,
    subscriber,
    prefix: prefix ?? `farol:${Number.isFinite(db) ? db : 0}:`,
    status(): RedisStatus {
      const down = client.status !== 'ready' || subscriber.status !== 'ready';
      if (!down) return { state: 'ok' };
      const since = lostSince === null ? '' : ` since ${new Date(lostSince).toISOString()}`;
      return { state: 'lost', detail: `Redis ${label} unreachable${since}${lastError ? ` (${lastError})` : ''}: check that it is running and reachable; the hub reconnects by itself` };
    },
    isUp: () => client.status === 'ready',
    async ready(timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (client.status !== 'ready' || subscriber.status !== 'ready') {
        if (Date.now() > deadline) throw new Error(`Redis ${label} did not answer within ${timeoutMs / 1000} s${lastError ? ` (${lastError})` : ''}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    onRegained(listener) {
      regainedListeners.add(listener);
      return () => regainedListeners.delete(listener);
    },
    async close(): Promise<void> {
      regainedListeners.clear();
      await Promise.all([client.quit().catch(() => client.disconnect()), subscriber.quit().catch(() => subscriber.disconnect())]);
    },
  };
}

/**
 * JSON that carries binary (terminal bytes are Buffers): a Uint8Array travels as
 * `{"$b64": "…"}` and comes back as a Buffer.
 */
export function encodeMessage(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item && typeof item === 'object' && (item as { type?: unknown }).type === 'Buffer' && Array.isArray((item as { data?: unknown }).data)) {
      return { $b64: Buffer.from((item as { data: number[] }).data).toString('base64') };
    }
    if (item instanceof Uint8Array) return { $b64: Buffer.from(item).toString('base64') };
    return item;
  });
}

export function decodeMessage<T = unknown>(text: string): T {
  // Only encodeMessage writes "$b64" (JSON.stringify never escapes "$"): a text without it has no
  // bytes to revive, and JSON.parse without a reviver is several times faster (issue #14: every
  // hub decodes every other hub's broadcasts and relayed requests).
  if (!text.includes('"$b64"')) return JSON.parse(text) as T;
  return JSON.parse(text, (_key, item: unknown) => {
    if (item && typeof item === 'object' && typeof (item as { $b64?: unknown }).$b64 === 'string' && Object.keys(item).length === 1) {
      return Buffer.from((item as { $b64: string }).$b64, 'base64');
    }
    return item;
  }) as T;
}
