import type { AgentSummary, HistoryValues } from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { createFleetStore, SPARKLINE_POINTS, type FlushScheduler } from './fleet-store.js';

/** A scheduler the test drives: timers and frames run only when asked. */
function manualScheduler() {
  let now = 0;
  const timers: Array<{ at: number; task: () => void }> = [];
  const frames: Array<() => void> = [];
  const scheduler: FlushScheduler = {
    later: (task, delayMs) => void timers.push({ at: now + delayMs, task }),
    frame: (task) => void frames.push(task),
    now: () => now,
  };
  return {
    scheduler,
    /** Advances the clock, running due timers, then the frames they requested. */
    advance(ms: number) {
      now += ms;
      for (const timer of timers.filter((t) => t.at <= now)) {
        timers.splice(timers.indexOf(timer), 1);
        timer.task();
      }
      frames.splice(0).forEach((frame) => frame());
    },
    pending: () => timers.length + frames.length,
  };
}

const ID_A = 'ag_aaaaaaaaaaaaaaaa';
const ID_B = 'ag_bbbbbbbbbbbbbbbb';
const ID_NEW = 'ag_cccccccccccccccc';

function agent(id: string, name: string, overrides: Partial<AgentSummary> = {}): AgentSummary {
  return {
    id,
    name,
    hostname: `${name}.local`,
    status: 'online',
    labels: { role: 'web' },
    lastSeen: 1_000,
    heartbeatIntervalMs: 10_000,
    os: null,
    distro: null,
    arch: null,
    cpuCores: null,
    sampleTs: null,
    cpu: null,
    memory: null,
    disk: null,
    ...overrides,
  };
}

function values(cpu: number): HistoryValues {
  return { cpu, memory: 40, swap: 0, disk: 50, load1: 1, netRx: 0, netTx: 0, diskRead: 0, diskWrite: 0, temperature: null, gpu: null };
}

describe('the fleet store', () => {
  it('applies a burst of events in one notification, at most once per flush interval', () => {
    const clock = manualScheduler();
    const store = createFleetStore({ scheduler: clock.scheduler, flushIntervalMs: 500 });
    store.load([agent(ID_A, 'a'), agent(ID_B, 'b')]);
    let notifications = 0;
    store.subscribe(() => (notifications += 1));

    for (let i = 0; i < 100; i += 1) {
      store.enqueue({ type: 'metrics', event: { agentId: i % 2 ? ID_A : ID_B, ts: 2_000 + i, values: values(i) }, receivedAt: 5_000 });
    }
    expect(notifications).toBe(0);
    clock.advance(0);
    expect(notifications).toBe(1);
    expect(store.getSnapshot().machines.get(ID_A)?.cpu).toBe(99);

    // The next burst waits for the rest of the interval.
    store.enqueue({ type: 'metrics', event: { agentId: ID_A, ts: 9_000, values: values(7) }, receivedAt: 6_000 });
    clock.advance(100);
    expect(notifications).toBe(1);
    clock.advance(400);
    expect(notifications).toBe(2);
    expect(store.getSnapshot().machines.get(ID_A)?.cpu).toBe(7);
  });

  it('keeps the identity of machines that did not change, so their cards skip rendering', () => {
    const clock = manualScheduler();
    const store = createFleetStore({ scheduler: clock.scheduler });
    store.load([agent(ID_A, 'a'), agent(ID_B, 'b')]);
    const before = store.getSnapshot();

    store.enqueue({ type: 'metrics', event: { agentId: ID_A, ts: 2_000, values: values(50) }, receivedAt: 3_000 });
    clock.advance(1_000);

    const after = store.getSnapshot();
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.machines.get(ID_B)).toBe(before.machines.get(ID_B));
    expect(after.machines.get(ID_A)).not.toBe(before.machines.get(ID_A));
  });

  it('keeps the last 30 CPU values per machine, ignoring repeats and older samples', () => {
    const clock = manualScheduler();
    const store = createFleetStore({ scheduler: clock.scheduler });
    store.load([agent(ID_A, 'a')]);
    for (let i = 1; i <= 40; i += 1) store.enqueue({ type: 'metrics', event: { agentId: ID_A, ts: i * 1_000, values: values(i) }, receivedAt: i });
    store.enqueue({ type: 'metrics', event: { agentId: ID_A, ts: 5_000, values: values(99) }, receivedAt: 41 });
    clock.advance(1_000);

    const history = store.getSnapshot().machines.get(ID_A)!.cpuHistory;
    expect(history).toHaveLength(SPARKLINE_POINTS);
    expect(history[0]).toEqual({ ts: 11_000, value: 11 });
    expect(history.at(-1)).toEqual({ ts: 40_000, value: 40 });
  });

  it('follows status changes and removals', () => {
    const clock = manualScheduler();
    const store = createFleetStore({ scheduler: clock.scheduler });
    store.load([agent(ID_A, 'a'), agent(ID_B, 'b')]);
    store.enqueue({ type: 'status', event: { agentId: ID_A, name: 'a-renamed', status: 'offline', lastSeen: 7_000, at: 7_000, reason: 'disconnected' }, receivedAt: 7_000 });
    store.enqueue({ type: 'removed', agentId: ID_B });
    clock.advance(1_000);

    const machines = store.getSnapshot().machines;
    expect(machines.get(ID_A)).toMatchObject({ status: 'offline', name: 'a-renamed', lastSeen: 7_000 });
    expect(machines.has(ID_B)).toBe(false);
  });

  it('reports machines it has never seen once per flush, so they can be fetched', () => {
    const clock = manualScheduler();
    const unknown: string[][] = [];
    const store = createFleetStore({ scheduler: clock.scheduler, onUnknownAgents: (ids) => unknown.push(ids) });
    store.load([agent(ID_A, 'a')]);
    store.enqueue({ type: 'status', event: { agentId: ID_NEW, name: 'new', status: 'online', lastSeen: 1, at: 1, reason: 'connected' }, receivedAt: 1 });
    store.enqueue({ type: 'metrics', event: { agentId: ID_NEW, ts: 2, values: values(1) }, receivedAt: 2 });
    clock.advance(1_000);
    expect(unknown).toEqual([[ID_NEW]]);

    store.upsert(agent(ID_NEW, 'new'));
    clock.advance(1_000);
    expect(store.getSnapshot().machines.get(ID_NEW)?.name).toBe('new');
  });

  it('follows a rename or relabel made elsewhere (agent:updated), keeping the figures and sparkline', () => {
    const clock = manualScheduler();
    const store = createFleetStore({ scheduler: clock.scheduler });
    store.load([agent(ID_A, 'a', { sampleTs: 5, cpu: 12 })]);
    store.enqueue({ type: 'updated', event: { agentId: ID_A, name: 'renamed', labels: { role: 'db', env: 'prod' }, at: 9 } });
    clock.advance(1_000);
    expect(store.getSnapshot().machines.get(ID_A)).toMatchObject({ name: 'renamed', labels: { role: 'db', env: 'prod' }, cpu: 12 });
    expect(store.getSnapshot().machines.get(ID_A)?.cpuHistory).toEqual([{ ts: 5, value: 12 }]);
  });

  it('drops events that arrive before the first list, which already includes them', () => {
    const clock = manualScheduler();
    const store = createFleetStore({ scheduler: clock.scheduler });
    store.enqueue({ type: 'metrics', event: { agentId: ID_A, ts: 2, values: values(1) }, receivedAt: 2 });
    expect(clock.pending()).toBe(0);
    expect(store.getSnapshot().loaded).toBe(false);
  });

  it('keeps sparklines when the list is reloaded, and seeds older points under live ones', () => {
    const clock = manualScheduler();
    const store = createFleetStore({ scheduler: clock.scheduler });
    store.load([agent(ID_A, 'a')]);
    store.enqueue({ type: 'metrics', event: { agentId: ID_A, ts: 10_000, values: values(10) }, receivedAt: 1 });
    clock.advance(1_000);
    store.seedHistory(ID_A, [
      { ts: 8_000, value: 8 },
      { ts: 9_000, value: 9 },
      { ts: 10_000, value: 99 },
    ]);
    clock.advance(1_000);
    store.load([agent(ID_A, 'a', { labels: { role: 'db' } })]);

    const machine = store.getSnapshot().machines.get(ID_A)!;
    expect(machine.labels).toEqual({ role: 'db' });
    expect(machine.cpuHistory.map((point) => point.value)).toEqual([8, 9, 10]);
  });

  it('keeps a status heard after the list was requested: a list answered later is older news', () => {
    const clock = manualScheduler();
    const store = createFleetStore({ scheduler: clock.scheduler });
    store.load([agent(ID_A, 'a', { status: 'offline' })], 1_000);
    // Reconnect: the list is requested at 2_000, the agent comes back at 2_500, the list lands at 3_000.
    store.enqueue({ type: 'status', event: { agentId: ID_A, name: 'a', status: 'online', lastSeen: 2_500, at: 2_500, reason: 'connected' }, receivedAt: 2_500 });
    store.enqueue({ type: 'metrics', event: { agentId: ID_A, ts: 2_600, values: values(33) }, receivedAt: 2_600 });
    store.load([agent(ID_A, 'a', { status: 'offline', lastSeen: 1_500 })], 2_000);
    expect(store.getSnapshot().machines.get(ID_A)).toMatchObject({ status: 'online', cpu: 33, lastSeen: 2_600 });

    // A list requested after the event is newer: it wins.
    store.load([agent(ID_A, 'a', { status: 'offline', lastSeen: 4_000 })], 4_000);
    expect(store.getSnapshot().machines.get(ID_A)?.status).toBe('offline');
  });
});
