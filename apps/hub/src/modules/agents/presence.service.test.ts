import { MAX_HEARTBEAT_INTERVAL_MS } from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../infra/bus.js';
import { createLogger } from '../../infra/logger.js';
import type { HeldAgent, PresenceDirectory } from '../../infra/presence-directory.js';
import type { AgentsRepository } from './agents.repository.js';
import { createPresenceService, type AgentSession } from './presence.service.js';

/** Only what presence writes: statuses, in memory. */
function statusStore() {
  const statuses = new Map<number, string>();
  /** How many statuses each write stored. */
  const writes: number[] = [];
  const agents = {
    setStatuses: async (rows: Array<{ seq: number; status: string }>) => {
      for (const row of rows) statuses.set(row.seq, row.status);
      writes.push(rows.length);
    },
    touchLastSeen: async () => undefined,
  } as unknown as AgentsRepository;
  return { agents, statuses, writes };
}

/** A directory in which another hub may take an agent over, as the Redis one does. */
function sharedDirectory(hubId: string) {
  const held = new Map<string, HeldAgent>();
  const directory: PresenceDirectory = {
    hubId,
    hold: async (agentId, entry) => void held.set(agentId, { hubId, ...entry }),
    release: async (agentId, sessionId) => {
      const entry = held.get(agentId);
      if (entry && (entry.hubId !== hubId || entry.sessionId !== sessionId)) return false;
      held.delete(agentId);
      return true;
    },
    handOver: () => undefined,
    heard: () => undefined,
    holderOf: (agentId) => held.get(agentId),
    heldElsewhere: async () => new Set([...held].filter(([, entry]) => entry.hubId !== hubId).map(([agentId]) => agentId)),
    hubLoads: async () => {
      const loads = new Map<string, number>([[hubId, 0]]);
      for (const entry of held.values()) loads.set(entry.hubId, (loads.get(entry.hubId) ?? 0) + 1);
      return loads;
    },
    hubUrls: async () => new Map(),
    announce: async () => undefined,
    start: async () => undefined,
    stop: async () => undefined,
  };
  return { directory, held };
}

const session: AgentSession = { sessionId: 's1', disconnect: () => undefined, send: () => undefined };

describe('presence', () => {
  it('caps the heartbeat interval an agent asks for, so it goes offline within minutes, not hours (#11)', async () => {
    let now = 1_000_000;
    const { agents, statuses } = statusStore();
    const logger = createLogger('silent');
    const presence = createPresenceService({ agents, bus: createMemoryBus(logger), clock: { now: () => now }, logger, missedHeartbeats: 3 });
    const hour = 3_600_000;
    await presence.connected({ seq: 1, id: 'ag_aaaaaaaaaaaaaaaa', name: 'slow', heartbeatIntervalMs: hour }, session);
    presence.heard('ag_aaaaaaaaaaaaaaaa', hour);
    expect(statuses.get(1)).toBe('online');

    // Three capped intervals of silence and a little more: offline, although it asked for 1 h.
    now += 3 * MAX_HEARTBEAT_INTERVAL_MS + 1;
    await presence.sweep();
    expect(statuses.get(1)).toBe('offline');
    expect(presence.isOnline('ag_aaaaaaaaaaaaaaaa')).toBe(false);
    expect(MAX_HEARTBEAT_INTERVAL_MS).toBeLessThanOrEqual(300_000);
  });

  it('keeps an agent with a short interval online while it is heard', async () => {
    let now = 0;
    const { agents, statuses } = statusStore();
    const logger = createLogger('silent');
    const presence = createPresenceService({ agents, bus: createMemoryBus(logger), clock: { now: () => now }, logger, missedHeartbeats: 3 });
    await presence.connected({ seq: 2, id: 'ag_bbbbbbbbbbbbbbbb', name: 'quick', heartbeatIntervalMs: 10_000 }, session);
    for (let i = 0; i < 5; i++) {
      now += 10_000;
      presence.heard('ag_bbbbbbbbbbbbbbbb');
      await presence.sweep();
    }
    expect(statuses.get(2)).toBe('online');
  });
});

describe('presence with a directory of several hubs (issue #14)', () => {
  it('stores the status changes of a burst of connects in one write, and each connect resolves once its status is stored', async () => {
    const { agents, statuses, writes } = statusStore();
    const logger = createLogger('silent');
    const bus = createMemoryBus(logger);
    const events: Array<[string, string]> = [];
    bus.subscribe('agent.status', (event) => events.push([event.agentId, event.status]));
    const presence = createPresenceService({ agents, bus, clock: { now: () => 1_000_000 }, logger, missedHeartbeats: 3 });
    const ids = Array.from({ length: 300 }, (_, i) => `ag_${String(i).padStart(16, '0')}`);
    await Promise.all(ids.map((id, i) => presence.connected({ seq: i + 1, id, name: `m${i}`, heartbeatIntervalMs: 10_000 }, { ...session, sessionId: `s${i}` })));
    expect(writes).toEqual([300]);
    expect([...statuses.values()].every((status) => status === 'online')).toBe(true);
    // Shown only once stored: every online event came after the write.
    expect(events).toHaveLength(300);
    // The same agent online then offline in one burst: stored once, as offline; both shown, in order.
    const first = ids[0]!;
    await Promise.all([presence.disconnected(first, 's0'), presence.connected({ seq: 1, id: first, name: 'm0', heartbeatIntervalMs: 10_000 }, { ...session, sessionId: 'again' })]);
    expect(writes.at(-1)).toBe(1);
    expect(events.slice(-2)).toEqual([
      [first, 'offline'],
      [first, 'online'],
    ]);
    expect(statuses.get(1)).toBe('online');
  });

  it('does not take offline an agent whose old connection closes after it moved to another hub, and names its hub', async () => {
    const { agents, statuses } = statusStore();
    const logger = createLogger('silent');
    const bus = createMemoryBus(logger);
    const events: string[] = [];
    bus.subscribe('agent.status', (event) => events.push(event.status));
    const { directory, held } = sharedDirectory('hub-a');
    const presence = createPresenceService({ agents, bus, clock: { now: () => 0 }, logger, missedHeartbeats: 3, directory });
    await presence.connected({ seq: 3, id: 'ag_cccccccccccccccc', name: 'mover', heartbeatIntervalMs: 10_000 }, session);
    expect(presence.holderOf('ag_cccccccccccccccc')).toBe('hub-a');
    // It reconnects to hub B before hub A notices its old connection closing.
    held.set('ag_cccccccccccccccc', { hubId: 'hub-b', sessionId: 'b1', lastHeard: 5, intervalMs: 10_000 });
    await presence.disconnected('ag_cccccccccccccccc', 's1');
    expect(events).toEqual(['online']);
    expect(statuses.get(3)).toBe('online');
    expect(presence.isOnline('ag_cccccccccccccccc')).toBe(true);
    expect(presence.holderOf('ag_cccccccccccccccc')).toBe('hub-b');
    expect(presence.lastHeard('ag_cccccccccccccccc')).toBe(5);
  });

  it('takes offline an agent whose connection closes while no other hub holds it', async () => {
    const { agents, statuses } = statusStore();
    const logger = createLogger('silent');
    const { directory } = sharedDirectory('hub-a');
    const presence = createPresenceService({ agents, bus: createMemoryBus(logger), clock: { now: () => 0 }, logger, missedHeartbeats: 3, directory });
    await presence.connected({ seq: 4, id: 'ag_dddddddddddddddd', name: 'leaver', heartbeatIntervalMs: 10_000 }, session);
    await presence.disconnected('ag_dddddddddddddddd', 's1');
    expect(statuses.get(4)).toBe('offline');
    expect(presence.holderOf('ag_dddddddddddddddd')).toBeNull();
  });

  it('does not store online a connection that closed while the directory was being written (Redis is slow)', async () => {
    const { agents, statuses } = statusStore();
    const logger = createLogger('silent');
    const bus = createMemoryBus(logger);
    const events: string[] = [];
    bus.subscribe('agent.status', (event) => events.push(event.status));
    const { directory } = sharedDirectory('hub-a');
    const holds: Array<() => void> = [];
    const slowDirectory: PresenceDirectory = {
      ...directory,
      hold: (agentId, entry) => directory.hold(agentId, entry).then(() => new Promise<void>((resolve) => holds.push(resolve))),
    };
    const presence = createPresenceService({ agents, bus, clock: { now: () => 0 }, logger, missedHeartbeats: 3, directory: slowDirectory });
    const agent = { seq: 6, id: 'ag_ffffffffffffffff', name: 'blink', heartbeatIntervalMs: 10_000 };
    const connecting = presence.connected(agent, session);
    await presence.disconnected(agent.id, 's1');
    holds.forEach((resolve) => resolve());
    await connecting;
    expect(statuses.get(6)).toBe('offline');
    expect(events).toEqual(['offline']);
    expect(presence.isOnline(agent.id)).toBe(false);

    // The same at shutdown: stop() comes between the directory write and the online write.
    const again = presence.connected(agent, { ...session, sessionId: 's2' });
    await presence.stop();
    holds.forEach((resolve) => resolve());
    await again;
    expect(statuses.get(6)).toBe('offline');
    expect(events).toEqual(['offline', 'offline']);
  });
});

describe('presence: agents asked to move to another hub (rebalancing, ADR 0033)', () => {
  /** Hub A's presence over a shared directory; sessions close as Socket.IO's do, telling presence at once. */
  function hubA() {
    let now = 1_000_000;
    const { agents, statuses } = statusStore();
    const logger = createLogger('silent');
    const bus = createMemoryBus(logger);
    const events: Array<[string, string]> = [];
    bus.subscribe('agent.status', (event) => events.push([event.agentId, event.status]));
    const { directory, held } = sharedDirectory('hub-a');
    const presence = createPresenceService({ agents, bus, clock: { now: () => now }, logger, missedHeartbeats: 3, directory });
    const sent: Array<[string, string, unknown]> = [];
    const closed: string[] = [];
    const connect = async (seq: number, sessionId = `a${seq}`): Promise<string> => {
      const id = `ag_${String(seq).padStart(16, '0')}`;
      const own: AgentSession = {
        sessionId,
        send: (event, payload) => void sent.push([id, event, payload]),
        disconnect: () => {
          closed.push(id);
          void presence.disconnected(id, sessionId);
        },
      };
      await presence.connected({ seq, id, name: `m${seq}`, heartbeatIntervalMs: 10_000 }, own);
      return id;
    };
    return { presence, held, statuses, events, sent, closed, connect, advance: (ms: number) => (now += ms) };
  }

  it('tells each agent to move with its delay, closes it, and keeps it online when another hub holds it', async () => {
    const a = hubA();
    const first = await a.connect(1);
    const second = await a.connect(2);
    expect(a.presence.shed([first, second], (index) => index * 500, 30_000, (index) => (index === 0 ? 'https://hub-b:8080' : undefined))).toBe(2);
    expect(a.sent).toEqual([
      [first, 'hub:draining', { retryAfterMs: 0, reason: 'rebalance', hubUrl: 'https://hub-b:8080' }],
      [second, 'hub:draining', { retryAfterMs: 500, reason: 'rebalance' }],
    ]);
    expect(a.closed).toEqual([first, second]);
    expect(a.presence.movingCount()).toBe(2);
    // Handed over, not released: listed under hub A (online, A's lease) until another hub holds it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.held.get(first)).toMatchObject({ hubId: 'hub-a', sessionId: 'a1' });
    expect(a.presence.isOnline(first)).toBe(true);
    // Its own entry left behind does not count as arrived.
    a.advance(10_000);
    await a.presence.settleMoves();
    expect(a.presence.movingCount()).toBe(2);
    // Both reach hub B (one a little late); nothing offline, not even after the deadline.
    a.held.set(first, { hubId: 'hub-b', sessionId: 'b1', lastHeard: 1, intervalMs: 10_000 });
    await a.presence.settleMoves();
    expect(a.presence.movingCount()).toBe(1);
    a.advance(5_000);
    a.held.set(second, { hubId: 'hub-b', sessionId: 'b2', lastHeard: 1, intervalMs: 10_000 });
    a.advance(60_000);
    await a.presence.settleMoves();
    expect(a.presence.movingCount()).toBe(0);
    expect(a.events.map(([, status]) => status)).toEqual(['online', 'online']);
    expect(a.statuses.get(1)).toBe('online');
    expect(a.presence.holderOf(first)).toBe('hub-b');
    // Asking again for an agent that is not connected here does nothing.
    expect(a.presence.shed([first], () => 0, 30_000)).toBe(0);
  });

  it('takes offline an agent that no hub holds once its delay and the grace have passed, not before', async () => {
    const a = hubA();
    const lost = await a.connect(3);
    a.presence.shed([lost], () => 2_000, 30_000);
    a.advance(31_000);
    await a.presence.settleMoves();
    expect(a.statuses.get(3)).toBe('online');
    expect(a.presence.movingCount()).toBe(1);
    a.advance(1_001);
    await a.presence.settleMoves();
    expect(a.statuses.get(3)).toBe('offline');
    expect(a.events).toEqual([
      [lost, 'online'],
      [lost, 'offline'],
    ]);
    expect(a.presence.movingCount()).toBe(0);
  });

  it('keeps online without a word an agent that came back to the same hub (a balancer sent it there)', async () => {
    const a = hubA();
    const back = await a.connect(4);
    a.presence.shed([back], () => 0, 30_000);
    await a.connect(4, 'a4-again');
    a.advance(60_000);
    await a.presence.settleMoves();
    expect(a.presence.movingCount()).toBe(0);
    expect(a.statuses.get(4)).toBe('online');
    expect(a.events.map(([, status]) => status)).toEqual(['online', 'online']);
    expect(a.presence.holderOf(back)).toBe('hub-a');
    // …and tells the rebalancer once that it came back; one that reached hub B is not listed.
    expect(a.presence.takeReturned()).toEqual([back]);
    expect(a.presence.takeReturned()).toEqual([]);
    const moved = await a.connect(5);
    a.presence.shed([moved], () => 0, 30_000);
    a.held.set(moved, { hubId: 'hub-b', sessionId: 'b5', lastHeard: 1, intervalMs: 10_000 });
    await a.presence.settleMoves();
    expect(a.presence.takeReturned()).toEqual([]);
  });

  it('forgets an agent removed while it moves: its entry goes at once and no offline change follows', async () => {
    const a = hubA();
    const removed = await a.connect(6);
    a.presence.shed([removed], () => 0, 30_000);
    expect(a.held.has(removed)).toBe(true);
    a.presence.kick(removed);
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.held.has(removed)).toBe(false);
    expect(a.presence.movingCount()).toBe(0);
    a.advance(60_000);
    await a.presence.settleMoves();
    expect(a.events).toEqual([[removed, 'online']]);
  });

  it('settles every move at stop: one no hub holds is stored offline', async () => {
    const a = hubA();
    const gone = await a.connect(5);
    a.presence.shed([gone], () => 0, 30_000);
    await a.presence.stop();
    expect(a.statuses.get(5)).toBe('offline');
  });
  it('at stop, stores every agent offline in one write and turns away connections that arrive after', async () => {
    const { agents, statuses, writes } = statusStore();
    const logger = createLogger('silent');
    const presence = createPresenceService({ agents, bus: createMemoryBus(logger), clock: { now: () => 1_000 }, logger, missedHeartbeats: 3 });
    for (let seq = 1; seq <= 50; seq++) {
      await presence.connected({ seq, id: `ag_${String(seq).padStart(16, '0')}`, name: `m${seq}`, heartbeatIntervalMs: 10_000 }, { ...session, sessionId: `s${seq}` });
    }
    writes.length = 0;
    await presence.stop();
    expect(writes).toEqual([50]);
    expect([...statuses.values()].every((status) => status === 'offline')).toBe(true);

    // An agent whose retry came before the sockets closed: sent away, not recorded online.
    let disconnected = 0;
    await presence.connected({ seq: 51, id: 'ag_0000000000000051', name: 'late', heartbeatIntervalMs: 10_000 }, { sessionId: 's51', send: () => undefined, disconnect: () => void disconnected++ });
    expect(disconnected).toBe(1);
    expect(statuses.has(51)).toBe(false);
    expect(presence.isOnline('ag_0000000000000051')).toBe(false);
    await presence.disconnected('ag_0000000000000051', 's51');
    expect(writes).toEqual([50]);
  });
});
