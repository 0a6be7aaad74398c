import type { Redis } from 'ioredis';
import type { Clock } from './clock.js';

/**
 * Short-lived state that every hub must agree on (issue #14): "this one-time value was already
 * used" (item 5), and "this hub asked that agent to move a moment ago" (rebalancing's
 * cool-down). In memory for one hub; in Redis when several hubs share a fleet, so a connect
 * token replayed against another hub is refused there too, and a hub that restarts remembers
 * whom it asked to move.
 *
 * Rate-limit buckets are shared through the same Redis by @fastify/rate-limit's own store
 * (server.ts); sign-in and lockout counters live in the database (migration 0060).
 */
export interface SharedCache {
  /**
   * Claims `key` for `ttlMs`: true for the first caller anywhere, false while the claim holds.
   * Rejects when the shared store cannot answer (the caller refuses rather than risk a replay).
   */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** Marks each of `keys` for `ttlMs` from now (a mark already there starts again). */
  mark(keys: readonly string[], ttlMs: number): Promise<void>;
  /** Which of `keys` carry a mark now. */
  marked(keys: readonly string[]): Promise<Set<string>>;
  /** Takes the marks off `keys` (a key without one is left as it is). */
  unmark(keys: readonly string[]): Promise<void>;
}

/** One hub: a map of claims with their expiry, swept as it is used. */
export function createMemorySharedCache(clock: Clock): SharedCache {
  const claims = new Map<string, number>();
  const marks = new Map<string, number>();
  let nextSweep = 0;
  const sweep = (now: number): void => {
    if (now < nextSweep) return;
    for (const [claimed, expiresAt] of claims) if (expiresAt <= now) claims.delete(claimed);
    for (const [key, expiresAt] of marks) if (expiresAt <= now) marks.delete(key);
    nextSweep = now + 1_000;
  };
  return {
    async claimOnce(key, ttlMs) {
      const now = clock.now();
      sweep(now);
      const expiresAt = claims.get(key);
      if (expiresAt !== undefined && expiresAt > now) return false;
      claims.set(key, now + Math.max(1, ttlMs));
      return true;
    },
    async mark(keys, ttlMs) {
      const now = clock.now();
      sweep(now);
      for (const key of keys) marks.set(key, now + Math.max(1, ttlMs));
    },
    async marked(keys) {
      const now = clock.now();
      return new Set(keys.filter((key) => (marks.get(key) ?? 0) > now));
    },
    async unmark(keys) {
      for (const key of keys) marks.delete(key);
    },
  };
}

/** Keys per MGET or pipeline, so one call never holds Redis for long. */
const MARK_BATCH = 500;

/**
 * Several hubs: `SET key 1 NX PX ttl` is atomic in Redis, so of two hubs claiming the same key
 * at the same moment exactly one gets OK. A mark is a key with an expiry. `prefix` keeps hubs of
 * different fleets (and tests) on one Redis apart.
 */
export function createRedisSharedCache(redis: Redis, prefix: string): SharedCache {
  return {
    async claimOnce(key, ttlMs) {
      const answer = await redis.set(`${prefix}claim:${key}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      return answer === 'OK';
    },
    async mark(keys, ttlMs) {
      const px = Math.max(1, Math.ceil(ttlMs));
      for (let i = 0; i < keys.length; i += MARK_BATCH) {
        const pipeline = redis.pipeline();
        for (const key of keys.slice(i, i + MARK_BATCH)) pipeline.set(`${prefix}mark:${key}`, '1', 'PX', px);
        const answers = (await pipeline.exec()) ?? [];
        const failed = answers.find(([error]) => error !== null);
        if (failed) throw failed[0];
      }
    },
    async marked(keys) {
      const found = new Set<string>();
      for (let i = 0; i < keys.length; i += MARK_BATCH) {
        const batch = keys.slice(i, i + MARK_BATCH);
        const values = await redis.mget(...batch.map((key) => `${prefix}mark:${key}`));
        batch.forEach((key, index) => {
          if (values[index] !== null) found.add(key);
        });
      }
      return found;
    },
    async unmark(keys) {
      for (let i = 0; i < keys.length; i += MARK_BATCH) {
        const batch = keys.slice(i, i + MARK_BATCH);
        if (batch.length > 0) await redis.del(...batch.map((key) => `${prefix}mark:${key}`));
      }
    },
  };
}
