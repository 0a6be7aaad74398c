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
      heard: () => undefined,
      holderOf: (agentId) => held.get(agentId),
      heldElsewhere: async () => new Set([...held].filter(([, entry]) => entry.hubId !== hubId).map(([agentId]) => agentId)),
      start: async () => undefined,
      stop: async () => undefined,
    };
    return { directory, held };
  }

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
});
