import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type Db } from './database.js';
import { createLeaseStore, createSharedLeadership, DEFAULT_LEASE_TIMINGS, StaleLeaderError, type Leadership } from './leadership.js';
import { createLogger } from './logger.js';
import { openPostgresDatabase } from './postgres.js';
import { createTestDatabase } from '../testing/postgres-test-db.js';
import { createNotifyRepository } from '../modules/notify/notify.repository.js';
import { createFencedUnitOfWork } from '../modules/repositories.js';

/** A loopback TCP relay to PostgreSQL that the test cuts: the hub behind it loses its database. */
async function databaseRelay(target: URL): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const via = new URL(target);
  via.hostname = '127.0.0.1';
  via.port = String((server.address() as { port: number }).port);
  return {
    url: via.toString(),
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const logger = createLogger('silent');

/** The lease SQL on both databases: one statement decides who holds the lease. */
describe.each(['sqlite', 'postgres'] as const)('leader lease on %s', (dialect) => {
  let db: Db;
  let cleanup: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (dialect === 'sqlite') {
      const dir = mkdtempSync(path.join(tmpdir(), 'farol-lease-'));
      ({ db } = await openSqliteDatabase(dir));
      cleanup = async () => {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      };
    } else {
      const database = await createTestDatabase();
      ({ db } = await openPostgresDatabase({ url: database.url, poolSize: 6 }, { logger }));
      cleanup = async () => {
        await db.destroy();
        await database.drop();
      };
    }
  });
  afterAll(() => cleanup?.());

  it('with three contenders at once exactly one holds it; renewals keep the epoch, a takeover after it lapses raises it', async () => {
    const store = createLeaseStore(db);
    const name = `contend-${dialect}`;
    const now = 5_000_000;
    const results = await Promise.all(['a', 'b', 'c'].map((holder) => store.acquire(name, holder, now, 10_000)));
    expect(results.filter((epoch) => epoch !== null)).toEqual([1]);
    const winner = ['a', 'b', 'c'][results.findIndex((epoch) => epoch !== null)]!;
    const losers = ['a', 'b', 'c'].filter((holder) => holder !== winner);
    // Renewed in time: same epoch; the others are still refused.
    expect(await store.acquire(name, winner, now + 2_000, 10_000)).toBe(1);
    expect(await store.acquire(name, losers[0]!, now + 11_000, 10_000)).toBeNull();
    // The winner stops renewing: after its lease lapses, one of the others takes it with epoch 2.
    const takeover = await Promise.all(losers.map((holder) => store.acquire(name, holder, now + 12_001, 10_000)));
    expect(takeover.filter((epoch) => epoch !== null)).toEqual([2]);
    // The old leader coming back is refused while the new lease lives.
    expect(await store.acquire(name, winner, now + 13_000, 10_000)).toBeNull();
    expect((await store.current(name))?.epoch).toBe(2);
  });

  it('a stale leader’s fenced write is refused and leaves nothing behind', async () => {
    const store = createLeaseStore(db);
    let now = 9_000_000;
    const clock = { now: () => now };
    const name = `fence-${dialect}`;
    const old = createSharedLeadership({ store, holder: 'old', clock, logger, name });
    await old.start();
    expect(old.term()?.epoch).toBe(1);
    const fenced = createFencedUnitOfWork(db, old);
    await fenced((repos) => repos.telemetry.setKv(`fenced-${dialect}`, 'by epoch 1'));
    const outbox = createNotifyRepository(db);
    const delivery = { target: 'channel' as const, targetId: 'ch', kind: 'test', payload: '{}', critical: false, createdAt: now };
    await outbox.enqueue([{ id: `dl-a-${dialect}`, ...delivery }, { id: `dl-b-${dialect}`, ...delivery }]);
    expect(await outbox.claim(`dl-a-${dialect}`, old.term(), old.fence)).toBe(true);
    // The old leader is paused past its lease; another hub takes over meanwhile.
    now += DEFAULT_LEASE_TIMINGS.ttlMs + 1;
    expect(await store.acquire(name, 'new', now, DEFAULT_LEASE_TIMINGS.ttlMs)).toBe(2);
    // It wakes up still believing it leads (its timers have not run): the fence refuses its write.
    expect(old.term()?.epoch).toBe(1);
    await expect(fenced((repos) => repos.telemetry.setKv(`fenced-${dialect}`, 'by a stale leader'))).rejects.toBeInstanceOf(StaleLeaderError);
    // Nor can it claim a notification: the row stays pending for the new leader.
    await expect(outbox.claim(`dl-b-${dialect}`, { holder: 'old', epoch: 1 }, old.fence)).rejects.toBeInstanceOf(StaleLeaderError);
    expect((await outbox.listOutbox(undefined, 10)).map((row) => [row.id, row.state]).toSorted()).toEqual([
      [`dl-a-${dialect}`, 'sending'],
      [`dl-b-${dialect}`, 'pending'],
    ]);
    const row = await db.selectFrom('kv').select('value').where('key', '=', `fenced-${dialect}`).executeTakeFirst();
    expect(row?.value).toBe('by epoch 1');
    await old.stop();
  });
});

/** Three hubs' leadership loops on one PostgreSQL with real time, default timings. */
describe('leader lease failover on PostgreSQL', () => {
  let db: Db | undefined;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    ({ db } = await openPostgresDatabase({ url: database.url, poolSize: 6 }, { logger }));
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('a leader that stops renewing (frozen) stops acting, and another takes over within 15 s with a higher epoch', { timeout: 30_000 }, async () => {
    const store = createLeaseStore(db!);
    let frozen = false;
    const clock = { now: () => Date.now() };
    const frozenStore = { ...store, acquire: (...args: Parameters<typeof store.acquire>) => (frozen ? new Promise<number | null>(() => undefined) : store.acquire(...args)) };
    const hubs: Leadership[] = [
      createSharedLeadership({ store: frozenStore, holder: 'hub-a', clock, logger }),
      createSharedLeadership({ store, holder: 'hub-b', clock, logger }),
      createSharedLeadership({ store, holder: 'hub-c', clock, logger }),
    ];
    const log: Array<{ hub: number; event: 'start' | 'stop'; at: number; epoch?: number }> = [];
    for (const [hub, leadership] of hubs.entries()) {
      await leadership.start();
      await leadership.whileLeader(
        'probe',
        (term) => void log.push({ hub, event: 'start', at: Date.now(), epoch: term.epoch }),
        () => void log.push({ hub, event: 'stop', at: Date.now() }),
      );
    }
    expect(hubs.map((h) => h.isLeader())).toEqual([true, false, false]);
    const before = await store.current('leader');
    frozen = true;
    const frozeAt = Date.now();
    while (!hubs[1]!.isLeader() && !hubs[2]!.isLeader()) {
      if (Date.now() - frozeAt > 16_000) throw new Error('no takeover within 16 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const tookOver = log.find((entry) => entry.event === 'start' && entry.hub !== 0)!;
    const stepped = log.find((entry) => entry.event === 'stop' && entry.hub === 0)!;
    expect(tookOver.at - frozeAt).toBeLessThanOrEqual(15_000);
    // Never two leaders at once: the frozen one stopped acting before the other started.
    expect(stepped.at).toBeLessThan(tookOver.at);
    expect(tookOver.epoch).toBe(before!.epoch + 1);
    expect(hubs.filter((h) => h.isLeader())).toHaveLength(1);
    for (const leadership of hubs.slice(1)) await leadership.stop();
  });
});

describe('a leader that loses PostgreSQL', () => {
  it('stops acting as leader before its lease expires, and a hub that still reaches PostgreSQL takes over', { timeout: 30_000 }, async () => {
    const database = await createTestDatabase();
    const direct = await openPostgresDatabase({ url: database.url, poolSize: 4 }, { logger });
    const relay = await databaseRelay(new URL(database.url));
    const cutOff = await openPostgresDatabase({ url: relay.url, poolSize: 2 }, { logger });
    try {
      const clock = { now: () => Date.now() };
      const lost = createSharedLeadership({ store: createLeaseStore(cutOff.db), holder: 'cut-off', clock, logger });
      const other = createSharedLeadership({ store: createLeaseStore(direct.db), holder: 'connected', clock, logger });
      let stoppedAt: number | null = null;
      await lost.start();
      await lost.whileLeader('probe', () => undefined, () => void (stoppedAt = Date.now()));
      await other.start();
      let tookOverAt: number | null = null;
      await other.whileLeader('probe', () => void (tookOverAt = Date.now()), () => undefined);
      expect([lost.isLeader(), other.isLeader()]).toEqual([true, false]);
      const lease = await createLeaseStore(direct.db).current('leader');
      relay.cut();
      const cutAt = Date.now();
      while (!other.isLeader()) {
        if (Date.now() - cutAt > 16_000) throw new Error('no takeover within 16 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(stoppedAt).not.toBeNull();
      // Never two leaders at once, and the takeover within 15 s of losing the database.
      expect(stoppedAt!).toBeLessThan(tookOverAt!);
      expect(tookOverAt! - cutAt).toBeLessThanOrEqual(15_000);
      expect(lost.isLeader()).toBe(false);
      expect(other.term()?.epoch).toBe(lease!.epoch + 1);
      await other.stop();
    } finally {
      relay.cut();
      await relay.close();
      // Its connections were cut: closing them may report that, which is the point of the test.
      await cutOff.db.destroy().catch((error: unknown) => logger.debug({ err: error }, 'closing the cut-off pool'));
      await direct.db.destroy();
      await database.drop();
    }
  });
});
