import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLocalLeadership, createSharedLeadership, DEFAULT_LEASE_TIMINGS, type LeaseStore } from './leadership.js';
import { createLogger } from './logger.js';

const logger = createLogger('silent');

/**
 * The lease table's rule in memory (the SQL is checked against SQLite and PostgreSQL in
 * leadership.int.test.ts): this tests the renew loop, the deadline and the duties around it.
 */
function memoryLeaseStore() {
  let row: { holder: string; epoch: number; expiresAt: number } | undefined;
  const store: LeaseStore = {
    async acquire(_name, holder, now, ttlMs) {
      if (!row) row = { holder, epoch: 1, expiresAt: now + ttlMs };
      else if (row.holder === holder || row.expiresAt <= now) {
        const renewing = row.holder === holder && row.expiresAt > now;
        row = { holder, epoch: renewing ? row.epoch : row.epoch + 1, expiresAt: now + ttlMs };
      } else return null;
      return row.epoch;
    },
    async release(_name, holder, epoch) {
      if (row && row.holder === holder && row.epoch === epoch) row.expiresAt = 0;
    },
    async current() {
      return row && { ...row };
    },
  };
  return { store };
}

describe('leadership', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());
  const clock = { now: () => Date.now() };

  it('one hub is always the leader and runs its duties once, stopping them at stop()', async () => {
    const leadership = createLocalLeadership({ logger });
    const events: string[] = [];
    await leadership.start();
    await leadership.whileLeader('a', () => void events.push('start a'), () => void events.push('stop a'));
    await leadership.whileLeader('b', (term) => void events.push(`start b ${term.epoch}`), () => void events.push('stop b'));
    expect(leadership.isLeader()).toBe(true);
    await leadership.stop();
    expect(events).toEqual(['start a', 'start b 1', 'stop b', 'stop a']);
    expect(leadership.isLeader()).toBe(false);
  });

  it('default timings take over within 15 s of a leader dying', () => {
    expect(DEFAULT_LEASE_TIMINGS.ttlMs + DEFAULT_LEASE_TIMINGS.renewEveryMs).toBeLessThanOrEqual(15_000);
  });

  it('of three contenders exactly one leads; when it stops renewing another takes over with a higher epoch', async () => {
    const { store } = memoryLeaseStore();
    const hubs = ['a', 'b', 'c'].map((holder) => createSharedLeadership({ store, holder, clock, logger }));
    const starts: string[] = [];
    for (const [index, hub] of hubs.entries()) {
      await hub.start();
      await hub.whileLeader('duty', (term) => void starts.push(`${index}@${term.epoch}`), () => undefined);
    }
    expect(hubs.filter((hub) => hub.isLeader())).toHaveLength(1);
    expect(starts).toEqual(['0@1']);
    await hubs[0]!.stop();
    // Stopped cleanly: the lease is released and the next attempt of another hub takes it.
    await vi.advanceTimersByTimeAsync(DEFAULT_LEASE_TIMINGS.renewEveryMs + 10);
    expect(hubs.filter((hub) => hub.isLeader())).toHaveLength(1);
    expect(starts[1]).toMatch(/^[12]@2$/);
    for (const hub of hubs) await hub.stop();
  });

  it('a leader whose renewals hang stops acting before its lease expires, and another takes over after', async () => {
    const shared = memoryLeaseStore();
    let hung = false;
    // The leader's database stops answering: its renewals never return.
    const hangable: LeaseStore = { ...shared.store, acquire: (...args) => (hung ? new Promise<number | null>(() => undefined) : shared.store.acquire(...args)) };
    const leader = createSharedLeadership({ store: hangable, holder: 'a', clock, logger });
    const other = createSharedLeadership({ store: shared.store, holder: 'b', clock, logger });
    let stoppedAt: number | null = null;
    await leader.start();
    await leader.whileLeader('duty', () => undefined, () => void (stoppedAt = Date.now()));
    await other.start();
    expect(leader.isLeader()).toBe(true);
    const lastRenewal = Date.now();
    hung = true;
    let tookOverAt: number | null = null;
    await other.whileLeader('duty', () => void (tookOverAt = Date.now()), () => undefined);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(stoppedAt).not.toBeNull();
    expect(tookOverAt).not.toBeNull();
    // The old leader stopped acting before the lease could pass to anyone, and takeover came within 15 s.
    expect(stoppedAt!).toBeLessThanOrEqual(lastRenewal + DEFAULT_LEASE_TIMINGS.ttlMs - DEFAULT_LEASE_TIMINGS.safetyMs);
    expect(tookOverAt!).toBeGreaterThan(stoppedAt!);
    expect(tookOverAt! - lastRenewal).toBeLessThanOrEqual(15_000);
    expect(leader.isLeader()).toBe(false);
    expect(other.term()?.epoch).toBe(2);
    await other.stop();
  });

  it('a hub that reports itself unhealthy (Redis lost) stops renewing and steps down in time', async () => {
    const { store } = memoryLeaseStore();
    let healthy = true;
    const leader = createSharedLeadership({ store, holder: 'a', clock, logger, isHealthy: () => healthy });
    await leader.start();
    const tookAt = Date.now();
    expect(leader.isLeader()).toBe(true);
    healthy = false;
    await vi.advanceTimersByTimeAsync(DEFAULT_LEASE_TIMINGS.ttlMs - DEFAULT_LEASE_TIMINGS.safetyMs - 100);
    expect(leader.isLeader()).toBe(true);
    await vi.advanceTimersByTimeAsync(DEFAULT_LEASE_TIMINGS.renewEveryMs + 200);
    expect(leader.isLeader()).toBe(false);
    expect(Date.now() - tookAt).toBeLessThan(DEFAULT_LEASE_TIMINGS.ttlMs + DEFAULT_LEASE_TIMINGS.renewEveryMs);
    // Healthy again: it takes the lease again under a new epoch (its old term lapsed).
    healthy = true;
    await vi.advanceTimersByTimeAsync(DEFAULT_LEASE_TIMINGS.renewEveryMs + 10);
    expect(leader.term()?.epoch).toBe(2);
    await leader.stop();
  });
});
