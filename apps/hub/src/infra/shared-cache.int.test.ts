import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemorySharedCache, createRedisSharedCache, type SharedCache } from './shared-cache.js';

/*
 * Issue #14, item 5: the claim a connect token's jti makes must hold once across hubs. The same
 * semantics in memory (one hub) and in a real Redis (several hubs), each case against both.
 * The Redis is FAROL_TEST_REDIS_URL; this file's keys carry a random prefix of their own.
 */

const redisUrl = process.env.FAROL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `farol-test:shared-cache:${randomBytes(6).toString('hex')}:`;
let redis: Redis;
let other: Redis;

beforeAll(async () => {
  redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  other = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await Promise.all([redis.connect(), other.connect()]);
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await Promise.all([redis.quit(), other.quit()]);
});

/** A clock the memory cache reads; Redis keeps its own time, so its cases wait for real. */
const clock = { t: 1_000_000, now() { return this.t; } };

const kinds: Array<[string, () => { a: SharedCache; b: SharedCache; pass: (ms: number) => Promise<void> }]> = [
  [
    'memory',
    () => {
      const cache = createMemorySharedCache(clock);
      return { a: cache, b: cache, pass: async (ms) => void (clock.t += ms) };
    },
  ],
  [
    'redis (two connections, as two hubs)',
    () => ({
      a: createRedisSharedCache(redis, prefix),
      b: createRedisSharedCache(other, prefix),
      pass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }),
  ],
];

describe.each(kinds)('the shared cache in %s', (_name, make) => {
  it('lets exactly one claim of a key through, from whichever hub', async () => {
    const { a, b } = make();
    const key = `jti:${randomBytes(4).toString('hex')}`;
    expect(await a.claimOnce(key, 5_000)).toBe(true);
    expect(await b.claimOnce(key, 5_000)).toBe(false);
    expect(await a.claimOnce(key, 5_000)).toBe(false);
    expect(await b.claimOnce(`${key}-other`, 5_000)).toBe(true);
  });

  it('grants one of many simultaneous claims', async () => {
    const { a, b } = make();
    const key = `jti:${randomBytes(4).toString('hex')}`;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).claimOnce(key, 5_000)));
    expect(answers.filter(Boolean)).toHaveLength(1);
  });

  it('frees the key once its time has passed', async () => {
    const { a, b, pass } = make();
    const key = `jti:${randomBytes(4).toString('hex')}`;
    expect(await a.claimOnce(key, 150)).toBe(true);
    expect(await b.claimOnce(key, 150)).toBe(false);
    await pass(300);
    expect(await b.claimOnce(key, 150)).toBe(true);
  });
});

describe.each(kinds)('marks in the shared cache in %s', (_name, make) => {
  it('are seen from every hub until their time has passed, and marking again starts it again', async () => {
    const { a, b, pass } = make();
    const tag = randomBytes(4).toString('hex');
    const keys = Array.from({ length: 1_200 }, (_, i) => `moved:ag_${tag}_${i}`);
    expect(await b.marked(keys)).toEqual(new Set());
    // More than one batch (500 keys per call) each way.
    await a.mark(keys.slice(0, 1_100), 400);
    const seen = await b.marked(keys);
    expect(seen.size).toBe(1_100);
    expect(seen.has(keys[1_099]!)).toBe(true);
    expect(seen.has(keys[1_100]!)).toBe(false);
    await pass(250);
    await b.mark([keys[0]!], 400);
    await pass(250);
    expect([...(await a.marked(keys))]).toEqual([keys[0]]);
    expect(await a.marked([])).toEqual(new Set());
  });
});

describe.each(kinds)('taking marks off in the shared cache in %s', (_name, make) => {
  it('is seen from every hub at once, leaves the other marks, and a key without a mark is no error', async () => {
    const { a, b } = make();
    const tag = randomBytes(4).toString('hex');
    const keys = Array.from({ length: 1_100 }, (_, i) => `moved:ag_${tag}_${i}`);
    await a.mark(keys, 60_000);
    // More than one batch, and one key that never had a mark.
    await b.unmark([...keys.slice(0, 600), `moved:ag_${tag}_never`]);
    const left = await a.marked(keys);
    expect(left.size).toBe(500);
    expect(left.has(keys[599]!)).toBe(false);
    expect(left.has(keys[600]!)).toBe(true);
    await a.unmark([]);
    expect((await b.marked(keys)).size).toBe(500);
  });
});

describe('the Redis shared cache', () => {
  it('keeps fleets with different prefixes apart and sets an expiry on every key', async () => {
    const key = `jti:${randomBytes(4).toString('hex')}`;
    expect(await createRedisSharedCache(redis, prefix).claimOnce(key, 60_000)).toBe(true);
    expect(await createRedisSharedCache(redis, `${prefix}other-fleet:`).claimOnce(key, 60_000)).toBe(true);
    const ttl = await redis.pttl(`${prefix}claim:${key}`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('rejects, rather than answering "first", when Redis cannot be reached', async () => {
    const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    unreachable.on('error', () => undefined); // the refused connection is the point of this case
    await expect(createRedisSharedCache(unreachable, prefix).claimOnce('jti:x', 1_000)).rejects.toThrow();
    unreachable.disconnect();
  });
});
