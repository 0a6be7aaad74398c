import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { FarolError } from '@farol/protocol';
import type { BusEvents } from './bus.js';
import { createRedisHubRelay, HubUnreachableError } from './hub-relay.js';
import { createLogger } from './logger.js';
import { createRedisBus } from './redis-bus.js';
import { createRedisPresenceDirectory, DIRECTORY_TICK_MS } from './redis-presence-directory.js';
import { connectRedis, type RedisConnection } from './redis.js';

/*
 * Issue #14: the shared implementations of the bus, the hub relay and the presence directory
 * against a real Redis (FAROL_TEST_REDIS_URL), two or three "hubs" in one process, each with
 * its own connections. This file's keys and channels carry a random prefix of their own.
 */

const REDIS_URL = process.env.FAROL_TEST_REDIS_URL;
const skipReason = REDIS_URL ? null : 'needs FAROL_TEST_REDIS_URL (.ci/run sets it)';
if (skipReason) console.warn(`redis-cluster: skipped: ${skipReason}`);
const prefix = `farol-test:cluster:${randomBytes(6).toString('hex')}:`;
const logger = createLogger('silent');
const connections: RedisConnection[] = [];
const stops: Array<() => Promise<void>> = [];

/** `keys`: a prefix of the test's own under the file's, for a test whose hubs must not meet earlier tests' (still running) ones. */
async function connect(keys = ''): Promise<RedisConnection> {
  const redis = connectRedis({ url: REDIS_URL!, logger, prefix: `${prefix}${keys}` });
  connections.push(redis);
  await redis.ready();
  return redis;
}

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  const first = connections[0];
  if (first) {
    const keys = await first.client.keys(`${prefix}*`);
    if (keys.length > 0) await first.client.del(...keys);
  }
  for (const redis of connections) await redis.close();
});

async function eventually<T>(read: () => T | undefined | Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(skipReason !== null)('several hubs over a real Redis', () => {
  it('broadcasts broadcast topics to every other hub once and keeps local topics in their process', async () => {
    const a = createRedisBus({ redis: await connect(), hubId: 'a', logger });
    const b = createRedisBus({ redis: await connect(), hubId: 'b', logger });
    await a.start();
    await b.start();
    stops.push(a.stop, b.stop);
    const onA: string[] = [];
    const onB: string[] = [];
    const samplesOnB: string[] = [];
    a.subscribe('agent.removed', ({ agentId }) => onA.push(agentId));
    b.subscribe('agent.removed', ({ agentId }) => onB.push(agentId));
    b.subscribe('metrics.sample', ({ agentId }) => samplesOnB.push(agentId));
    a.publish('metrics.sample', { agentId: 'ag_local', sample: {} as BusEvents['metrics.sample']['sample'] });
    a.publish('agent.removed', { agentId: 'ag_1' });
    // The publisher's own subscribers at once, synchronously.
    expect(onA).toEqual(['ag_1']);
    await eventually(() => (onB.length > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(onB).toEqual(['ag_1']);
    expect(onA).toEqual(['ag_1']);
    expect(samplesOnB).toEqual([]);
  });

  it('runs a request on another hub and brings back its answer or its FarolError; a hub nobody runs is unreachable at once', async () => {
    const a = createRedisHubRelay({ redis: await connect(), hubId: 'relay-a', logger });
    const b = createRedisHubRelay({ redis: await connect(), hubId: 'relay-b', logger });
    await a.start();
    await b.start();
    stops.push(a.stop, b.stop);
    b.handle('double', (payload) => (payload as { n: number }).n * 2);
    b.handle('refuse', () => {
      throw new FarolError('forbidden', 'not yours');
    });
    b.handle('bytes', (payload) => Buffer.concat([(payload as { data: Buffer }).data, Buffer.from('!')]));
    expect(await a.call('relay-b', 'double', { n: 21 })).toBe(42);
    await expect(a.call('relay-b', 'refuse', {})).rejects.toMatchObject({ code: 'forbidden', message: 'not yours' });
    expect([...(await a.call<Buffer>('relay-b', 'bytes', { data: Buffer.from([1, 2]) }))]).toEqual([1, 2, 33]);
    const started = Date.now();
    await expect(a.call('relay-gone', 'double', { n: 1 })).rejects.toBeInstanceOf(HubUnreachableError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('sends what one turn asks of a hub in batches, answers each request once and in order, and falls back to single messages for a hub from before batches', async () => {
    const redisA = await connect();
    const a = createRedisHubRelay({ redis: redisA, hubId: 'batch-a', logger });
    const b = createRedisHubRelay({ redis: await connect(), hubId: 'batch-b', logger });
    await a.start();
    await b.start();
    stops.push(a.stop, b.stop);
    const served: number[] = [];
    b.handle('echo', (payload) => {
      const { n } = payload as { n: number };
      served.push(n);
      if (n === 7) throw new FarolError('conflict', 'seven is taken');
      return n;
    });
    // Count what A publishes, by channel kind.
    const published: string[] = [];
    const publish = redisA.client.publish.bind(redisA.client);
    redisA.client.publish = ((channel: string, message: string) => {
      published.push(channel.slice(channel.lastIndexOf('relay')).split(':')[0]!);
      return publish(channel, message);
    }) as typeof redisA.client.publish;

    const count = 1_203;
    const answers = await Promise.allSettled(Array.from({ length: count }, (_, n) => a.call<number>('batch-b', 'echo', { n })));
    expect(answers.filter((answer) => answer.status === 'fulfilled').map((answer) => answer.value)).toEqual(Array.from({ length: count }, (_, n) => n).filter((n) => n !== 7));
    expect(answers[7]).toMatchObject({ status: 'rejected', reason: { code: 'conflict', message: 'seven is taken' } });
    expect(served).toEqual(Array.from({ length: count }, (_, n) => n));
    // 1,203 requests in three messages (500 + 500 + 203), not 1,203.
    expect(published).toEqual(['relay-batch', 'relay-batch', 'relay-batch']);

    // One request alone goes as it always did.
    published.length = 0;
    expect(await a.call('batch-b', 'echo', { n: 1 })).toBe(1);
    expect(published).toEqual(['relay']);

    // A hub from before batches listens only on its own channel: each request reaches it alone.
    const old = await connect();
    await old.subscriber.subscribe(`${old.prefix}relay:batch-old`);
    old.subscriber.on('message', (_channel, text) => {
      const request = JSON.parse(text) as { id: string; from: string; payload: { n: number } };
      void old.client.publish(`${old.prefix}relay:${request.from}`, JSON.stringify({ kind: 'reply', id: request.id, ok: true, value: request.payload.n + 100 }));
    });
    published.length = 0;
    expect(await Promise.all([1, 2, 3].map((n) => a.call('batch-old', 'echo', { n })))).toEqual([101, 102, 103]);
    expect(published).toEqual(['relay-batch', 'relay', 'relay', 'relay']);

    // Nobody on either channel: every request of the batch is unreachable at once.
    const started = Date.now();
    const gone = await Promise.allSettled([1, 2, 3].map((n) => a.call('batch-gone', 'echo', { n })));
    expect(gone.every((answer) => answer.status === 'rejected' && answer.reason instanceof HubUnreachableError)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('gives a job to one owner; another hub adopts it only once the owner\'s lease is gone', async () => {
    const redis = await connect();
    const a = createRedisHubRelay({ redis, hubId: 'owner-a', logger });
    const b = createRedisHubRelay({ redis: await connect(), hubId: 'owner-b', logger });
    await redis.client.set(`${prefix}hub:owner-a`, '1', 'PX', 60_000);
    await a.claim('job', 'job_x', 60_000);
    expect(await b.remoteOwnerOf('job', 'job_x')).toBe('owner-a');
    expect(await a.remoteOwnerOf('job', 'job_x')).toBeNull();
    expect(await b.adopt('job', 'job_x', 60_000)).toBe(false);
    await redis.client.del(`${prefix}hub:owner-a`);
    expect(await b.remoteOwnerOf('job', 'job_x')).toBeNull();
    expect(await b.adopt('job', 'job_x', 60_000)).toBe(true);
    // B owns it now: while B's lease lives, A cannot take it back.
    await redis.client.set(`${prefix}hub:owner-b`, '1', 'PX', 60_000);
    expect(await a.adopt('job', 'job_x', 60_000)).toBe(false);
    expect(await a.remoteOwnerOf('job', 'job_x')).toBe('owner-b');
  });

  it('shows every hub which hub holds an agent, frees it only for its holder\'s connection, and sweeps a dead hub\'s agents once', async () => {
    const busA = createRedisBus({ redis: await connect(), hubId: 'dir-a', logger });
    const busB = createRedisBus({ redis: await connect(), hubId: 'dir-b', logger });
    await busA.start();
    await busB.start();
    stops.push(busA.stop, busB.stop);
    const lostOnA: string[] = [];
    const lostOnB: string[] = [];
    const a = createRedisPresenceDirectory({ redis: await connect(), hubId: 'dir-a', bus: busA, logger });
    const b = createRedisPresenceDirectory({ redis: await connect(), hubId: 'dir-b', bus: busB, logger });
    await a.start({ lost: async (ids) => void lostOnA.push(...ids), regained: async () => {} });
    await b.start({ lost: async (ids) => void lostOnB.push(...ids), regained: async () => {} });
    stops.push(a.stop);
    // Listed among the live hubs once they accept agents; A gives its URL, B none.
    expect(await a.hubLoads()).toEqual(new Map([['dir-a', 0]]));
    await a.announce('https://dir-a:8080');
    await b.announce(undefined);

    await a.hold('ag_moves', { sessionId: 'a1', lastHeard: 1, intervalMs: 10_000 });
    await a.hold('ag_stays', { sessionId: 'a2', lastHeard: 1, intervalMs: 10_000 });
    await eventually(() => (b.holderOf('ag_stays')?.hubId === 'dir-a' ? true : undefined));
    // ag_moves reconnects to B; A's late close must not free it.
    await b.hold('ag_moves', { sessionId: 'b1', lastHeard: 2, intervalMs: 10_000 });
    expect(await a.release('ag_moves', 'a1')).toBe(false);
    expect(b.holderOf('ag_moves')).toMatchObject({ hubId: 'dir-b', sessionId: 'b1' });
    expect(await b.heldElsewhere()).toEqual(new Set(['ag_stays']));
    // What each live hub holds (rebalancing): B's mirror knows A's two entries once the tick or the events bring them.
    await eventually(async () => ((await b.hubLoads()).get('dir-a') === 1 ? true : undefined));
    expect(await b.hubLoads()).toEqual(new Map([['dir-a', 1], ['dir-b', 1]]));
    expect(await a.hubLoads()).toEqual(new Map([['dir-a', 1], ['dir-b', 1]]));
    // Where agents reach each hub (rebalancing hints): B advertises none.
    expect(await b.hubUrls()).toEqual(new Map([['dir-a', 'https://dir-a:8080']]));

    // Hub B's lease goes (stop drops it; a killed hub's expires): A sweeps B's agent within a tick.
    await b.stop();
    const started = Date.now();
    await eventually(() => (lostOnA.includes('ag_moves') ? true : undefined), DIRECTORY_TICK_MS * 2 + 1_000);
    expect(Date.now() - started).toBeLessThanOrEqual(DIRECTORY_TICK_MS * 2 + 1_000);
    expect(lostOnA).toEqual(['ag_moves']);
    expect(a.holderOf('ag_moves')).toBeUndefined();
    expect(a.holderOf('ag_stays')?.hubId).toBe('dir-a');
    expect(lostOnB).toEqual([]);
    // A stopped hub is no longer listed; a hub that holds nobody is, with 0.
    expect(await a.hubLoads()).toEqual(new Map([['dir-a', 1]]));
    await a.release('ag_stays', 'a2');
    expect(await a.hubLoads()).toEqual(new Map([['dir-a', 0]]));
  }, 20_000);

  it('keeps an agent a hub asked to move under that hub until another holds it, and sweeps it when that hub dies first', async () => {
    const busA = createRedisBus({ redis: await connect('move:'), hubId: 'move-a', logger });
    const busB = createRedisBus({ redis: await connect('move:'), hubId: 'move-b', logger });
    await busA.start();
    await busB.start();
    stops.push(busA.stop, busB.stop);
    const lostOnB: string[] = [];
    const a = createRedisPresenceDirectory({ redis: await connect('move:'), hubId: 'move-a', bus: busA, logger });
    const b = createRedisPresenceDirectory({ redis: await connect('move:'), hubId: 'move-b', bus: busB, logger });
    await a.start({ lost: async () => {}, regained: async () => {} });
    await b.start({ lost: async (ids) => void lostOnB.push(...ids), regained: async () => {} });
    stops.push(b.stop);
    await a.hold('ag_arrives', { sessionId: 'a1', lastHeard: 1, intervalMs: 10_000 });
    await a.hold('ag_stranded', { sessionId: 'a2', lastHeard: 1, intervalMs: 10_000 });
    a.handOver('ag_arrives', 'a1');
    a.handOver('ag_stranded', 'a2');
    a.heard('ag_stranded', 99, 10_000);
    // Handed over: still listed under A for every hub, no longer counted as A's load, and A's ticks leave it as it was.
    await eventually(() => (b.holderOf('ag_stranded')?.hubId === 'move-a' ? true : undefined));
    expect((await a.hubLoads()).get('move-a')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, DIRECTORY_TICK_MS + 500));
    expect(JSON.parse((await connections.at(-1)!.client.hget(`${prefix}move:presence`, 'ag_stranded'))!)).toMatchObject({ hubId: 'move-a', sessionId: 'a2', lastHeard: 1 });
    // One arrives on B: B's hold replaces A's entry, and A's release at the deadline leaves it online.
    await b.hold('ag_arrives', { sessionId: 'b1', lastHeard: 2, intervalMs: 10_000 });
    expect(await a.release('ag_arrives', 'a1')).toBe(false);
    // A dies before the other's deadline (its lease goes): B sweeps it offline within a tick.
    await a.stop();
    await eventually(() => (lostOnB.includes('ag_stranded') ? true : undefined), DIRECTORY_TICK_MS * 2 + 1_000);
    expect(lostOnB).toEqual(['ag_stranded']);
    expect(b.holderOf('ag_arrives')).toMatchObject({ hubId: 'move-b', sessionId: 'b1' });
    expect(b.holderOf('ag_stranded')).toBeUndefined();
  }, 25_000);

  it('reports a Redis it cannot reach as lost (what /ready says)', async () => {
    const redis = connectRedis({ url: 'redis://127.0.0.1:1', logger, prefix });
    connections.push(redis);
    await eventually(() => (redis.status().state === 'lost' ? true : undefined));
    expect(redis.status().detail).toContain('127.0.0.1:1');
    await expect(redis.ready(300)).rejects.toThrow(/did not answer/);
  });
});
