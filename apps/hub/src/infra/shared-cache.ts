import type { Redis } from 'ioredis';
import type { Clock } from './clock.js';

/**
 * Short-lived security state that every hub must agree on (issue #14, item 5): "this one-time
 * value was already used". In memory for one hub; in Redis when several hubs share a fleet, so
 * a connect token replayed against another hub is refused there too.
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
}

/** One hub: a map of claims with their expiry, swept as it is used. */
export function createMemorySharedCache(clock: Clock): SharedCache {
  const claims = new Map<string, number>();
  let nextSweep = 0;
  return {
    async claimOnce(key, ttlMs) {
      const now = clock.now();
      if (now >= nextSweep) {
        for (const [claimed, expiresAt] of claims) if (expiresAt <= now) claims.delete(claimed);
        nextSweep = now + 1_000;
      }
      const expiresAt = claims.get(key);
      if (expiresAt !== undefined && expiresAt > now) return false;
      claims.set(key, now + Math.max(1, ttlMs));
      return true;
    },
  };
}

/**
 * Several hubs: `SET key 1 NX PX ttl` is atomic in Redis, so of two hubs claiming the same key
 * at the same moment exactly one gets OK. `prefix` keeps hubs of different fleets (and tests)
 * on one Redis apart.
 */
export function createRedisSharedCache(redis: Redis, prefix: string): SharedCache {
  return {
    async claimOnce(key, ttlMs) {
      const answer = await redis.set(`${prefix}claim:${key}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      return answer === 'OK';
    },
  };
}
