import { describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/logger.js';
import { createMemorySharedCache, type SharedCache } from '../../infra/shared-cache.js';
import { agentsToShed, createAgentRebalancer, MAX_MOVES_PER_ROUND, MOVE_COOLDOWN_MS, moveRetryAfterMs, moveTargets } from './rebalance.js';

const loads = (entries: Record<string, number>): Map<string, number> => new Map(Object.entries(entries));

describe('agentsToShed', () => {
  it('moves what a hub holds over an even share, only past the tolerance and a minimum', () => {
    // Every hub restarted, the first one up took everybody.
    expect(agentsToShed(loads({ a: 3_000, b: 0, c: 0 }), 'a')).toBe(2_000);
    expect(agentsToShed(loads({ a: 3_000, b: 0, c: 0 }), 'b')).toBe(0);
    // A rolling upgrade left the last hub empty.
    expect(agentsToShed(loads({ a: 500, b: 500, c: 0 }), 'a')).toBe(166);
    // Within 20 % of the share: left alone.
    expect(agentsToShed(loads({ a: 1_190, b: 1_000, c: 810 }), 'a')).toBe(0);
    expect(agentsToShed(loads({ a: 1_210, b: 1_000, c: 790 }), 'a')).toBe(210);
    // A handful over the share is noise, whatever the percentage.
    expect(agentsToShed(loads({ a: 12, b: 3 }), 'a')).toBe(0);
    expect(agentsToShed(loads({ a: 30, b: 0 }), 'a')).toBe(15);
    // The tolerance is a setting.
    expect(agentsToShed(loads({ a: 1_190, b: 1_000, c: 810 }), 'a', 10)).toBe(190);
    // One hub, or a hub the directory does not list: nothing to compare with.
    expect(agentsToShed(loads({ a: 5_000 }), 'a')).toBe(0);
    expect(agentsToShed(loads({ b: 10, c: 0 }), 'a')).toBe(0);
  });

  it('moves at most one round\'s worth at a time, and asks them back spread out', () => {
    expect(agentsToShed(loads({ a: 20_000, b: 0, c: 0 }), 'a')).toBe(MAX_MOVES_PER_ROUND);
    expect(moveRetryAfterMs(0)).toBe(0);
    expect(moveRetryAfterMs(200)).toBe(1_000);
    expect(moveRetryAfterMs(1_999)).toBe(9_995);
    expect(moveRetryAfterMs(50_000)).toBe(10_000);
  });
});

describe('moveTargets', () => {
  const urls = new Map([
    ['a', 'https://a'],
    ['b', 'https://b'],
    ['c', 'https://c'],
  ]);

  it('points moved agents at the hubs short of an even share, as many as each is short', () => {
    // Hub c came back empty while a and b hold the rest: both send theirs to c only.
    expect(moveTargets(loads({ a: 1_000, b: 1_000, c: 0 }), urls, 'a', 333)).toEqual(new Array(333).fill('https://c'));
    // Two hubs short: shared round robin, the one missing most first.
    expect(moveTargets(loads({ a: 90, b: 0, c: 0 }), urls, 'a', 5)).toEqual(['https://b', 'https://c', 'https://b', 'https://c', 'https://b']);
    expect(moveTargets(loads({ a: 80, b: 0, c: 10 }), urls, 'a', 4)).toEqual(['https://b', 'https://c', 'https://b', 'https://c']);
    // No more hints than hubs are short: the rest go without one (the agent's next hub).
    expect(moveTargets(loads({ a: 60, b: 48, c: 42 }), urls, 'a', 20)).toEqual([
      ...['https://c', 'https://b', 'https://c', 'https://b'],
      ...new Array(6).fill('https://c'),
    ]);
    // A hub that advertises no URL gets none.
    expect(moveTargets(loads({ a: 90, b: 0, c: 0 }), new Map([['c', 'https://c']]), 'a', 2)).toEqual(['https://c', 'https://c']);
  });
});

describe('the rebalancer', () => {
  function setup(options: { connected: number; others: Record<string, number>; busy?: string[]; moving?: number; recentMoves?: SharedCache; clock?: { now: () => number; t: number }; self?: string; agentIds?: string[]; settleMs?: number }) {
    const clock = options.clock ?? { t: 10_000_000, now() { return this.t; } };
    const recentMoves = options.recentMoves ?? createMemorySharedCache(clock);
    const ids = options.agentIds ?? Array.from({ length: options.connected }, (_, i) => `ag_${String(i).padStart(16, '0')}`);
    const connections = ids.map((agentId, i) => ({ agentId, since: 1_000 + i }));
    const self = options.self ?? 'a';
    const asked: string[][] = [];
    const hints: Array<Array<string | undefined>> = [];
    const held = new Set(connections.map((c) => c.agentId));
    let moving = options.moving ?? 0;
    const moved: number[] = [];
    const returned: string[] = [];
    const rebalancer = createAgentRebalancer({
      presence: {
        // Newest first, as presence lists them.
        connections: () => connections.filter((c) => held.has(c.agentId)).sort((x, y) => y.since - x.since),
        shed: (agentIds, _retryAfterMs, _graceMs, hubUrl) => {
          asked.push([...agentIds]);
          hints.push(agentIds.map((_, index) => hubUrl?.(index)));
          for (const id of agentIds) held.delete(id);
          return agentIds.length;
        },
        movingCount: () => moving,
        takeReturned: () => returned.splice(0),
      },
      directory: {
        hubId: self,
        hubLoads: async () => new Map([[self, held.size], ...Object.entries(options.others)]),
        hubUrls: async () => new Map(Object.keys(options.others).map((hub) => [hub, `https://${hub}`])),
      },
      busyAgents: async () => new Set(options.busy ?? []),
      recentMoves,
      logger: createLogger('silent'),
      intervalMs: 60_000,
      onMoved: (count) => moved.push(count),
      now: () => clock.now(),
      settleMs: options.settleMs ?? 0,
    });
    return { rebalancer, asked, hints, connections, held, moved, setMoving: (n: number) => (moving = n), advance: (ms: number) => (clock.t += ms), giveBack: (ids: string[]) => ids.forEach((id) => held.add(id)),
      /** Asked to move, they connected here again (presence reports them to the next round). */
      comeBack: (ids: string[]) => ids.forEach((id) => {
        held.add(id);
        returned.push(id);
      }),
    };
  }

  it('asks its newest connections to move, never a busy machine', async () => {
    const s = setup({ connected: 60, others: { b: 0, c: 0 }, busy: ['ag_0000000000000059'] });
    expect(await s.rebalancer.round()).toBe(40);
    const [round] = s.asked;
    expect(round).toHaveLength(40);
    expect(round).not.toContain('ag_0000000000000059');
    expect(round![0]).toBe('ag_0000000000000058');
    expect(round).toContain('ag_0000000000000019');
    expect(s.moved).toEqual([40]);
    // Each pointed at a hub short of its share, half to b and half to c.
    expect(s.hints[0]!.filter((url) => url === 'https://b')).toHaveLength(20);
    expect(s.hints[0]!.filter((url) => url === 'https://c')).toHaveLength(20);
  });

  it('moves nobody to a hub it has seen for less than the settle time (a load balancer would send them back)', async () => {
    const s = setup({ connected: 60, others: { b: 0 }, settleMs: 10_000 });
    expect(await s.rebalancer.round()).toBe(0);
    s.advance(9_000);
    expect(await s.rebalancer.round()).toBe(0);
    s.advance(1_000);
    expect(await s.rebalancer.round()).toBe(30);
    expect(s.hints[0]!.every((url) => url === 'https://b')).toBe(true);
  });

  it('waits while moved agents are on their way, and does not move the same agent twice within the cool-down', async () => {
    const s = setup({ connected: 60, others: { b: 0, c: 0 } });
    s.setMoving(3);
    expect(await s.rebalancer.round()).toBe(0);
    s.setMoving(0);
    expect(await s.rebalancer.round()).toBe(40);
    // Back here without presence seeing them return (a restart of this hub in between, say):
    // only the agents never asked yet are asked now; then every agent here has been asked.
    s.giveBack(s.asked[0]!);
    expect(await s.rebalancer.round()).toBe(20);
    s.giveBack(s.asked[1]!);
    expect(await s.rebalancer.round()).toBe(0);
    s.advance(MOVE_COOLDOWN_MS);
    expect(await s.rebalancer.round()).toBe(40);
  });

  it('asks an agent that came straight back once more, and not a third time within the cool-down', async () => {
    const s = setup({ connected: 60, others: { b: 0, c: 0 } });
    expect(await s.rebalancer.round()).toBe(40);
    const first = s.asked[0]!;
    // A balancer that had not yet marked b and c up sent them back here: asked again.
    s.comeBack(first);
    expect(await s.rebalancer.round()).toBe(40);
    expect(new Set(s.asked[1])).toEqual(new Set(first));
    // Back a second time (the balancer keeps them here): they sit out the cool-down, and the
    // hub asks the agents it has not asked yet instead.
    s.comeBack(first);
    expect(await s.rebalancer.round()).toBe(20);
    expect(s.asked[2]!.some((id) => first.includes(id))).toBe(false);
    s.comeBack(s.asked[2]!);
    expect(await s.rebalancer.round()).toBe(20);
    s.comeBack(s.asked[3]!);
    expect(await s.rebalancer.round()).toBe(0);
    // The once-more is per cool-down: after it, a returning agent is forgiven again.
    s.advance(MOVE_COOLDOWN_MS);
    expect(await s.rebalancer.round()).toBe(40);
    s.comeBack(s.asked[4]!);
    expect(await s.rebalancer.round()).toBe(40);
  });

  it('remembers whom it asked across a restart, and leaves other hubs free to move them', async () => {
    const clock = { t: 10_000_000, now() { return this.t; } };
    const recentMoves = createMemorySharedCache(clock);
    const first = setup({ connected: 60, others: { b: 0, c: 0 }, recentMoves, clock });
    expect(await first.rebalancer.round()).toBe(40);
    const asked = first.asked[0]!;
    // Hub a restarts (a new rebalancer, the same shared cache) and its agents, unable to reach
    // the others, came back: it does not ask them again within the cool-down.
    const again = setup({ connected: 60, others: { b: 0, c: 0 }, recentMoves, clock });
    expect(await again.rebalancer.round()).toBe(20);
    expect(again.asked[0]!.some((id) => asked.includes(id))).toBe(false);
    // Hub b, crowded later (the next step of a rolling upgrade), may move the agents a sent it.
    const own = Array.from({ length: 30 }, (_, i) => `ag_b${String(i).padStart(15, '0')}`);
    const b = setup({ connected: 0, agentIds: [...own, ...asked], self: 'b', others: { a: 10, c: 10 }, recentMoves, clock });
    expect(await b.rebalancer.round()).toBe(40);
    expect(b.asked[0]!.every((id) => asked.includes(id))).toBe(true);
  });

  it('moves nobody when the cool-down cannot be recorded', async () => {
    const failing: SharedCache = { ...createMemorySharedCache({ now: () => 0 }), mark: async () => Promise.reject(new Error('Redis is unreachable')) };
    const s = setup({ connected: 60, others: { b: 0, c: 0 }, recentMoves: failing });
    await expect(s.rebalancer.round()).rejects.toThrow('Redis is unreachable');
    expect(s.asked).toEqual([]);
  });

  it('leaves a hub within its share alone', async () => {
    const s = setup({ connected: 100, others: { b: 95, c: 105 } });
    expect(await s.rebalancer.round()).toBe(0);
    expect(s.asked).toEqual([]);
  });
});
