import type { Logger } from '../../infra/logger.js';
import type { PresenceDirectory } from '../../infra/presence-directory.js';
import type { SharedCache } from '../../infra/shared-cache.js';
import type { PresenceService } from './presence.service.js';

/** A hub moves agents only when it holds more than its share by this much (percent), and by at least MIN_EXCESS agents. */
export const DEFAULT_REBALANCE_TOLERANCE = 20;
/** Fewer extra agents than this are not worth moving (a handful over an even split is noise). */
export const MIN_EXCESS = 10;
/** At most this many agents are asked to move per round; the next round looks again with fresh counts. */
export const MAX_MOVES_PER_ROUND = 2_000;
/** Moved agents are asked back at about this many a second, spread from 0 s, so the receiving hubs see no stampede. */
export const MOVES_PER_SECOND = 200;
/** An agent asked to move that no hub holds this long after its `retryAfterMs` is offline. */
export const MOVE_GRACE_MS = 30_000;
/**
 * An agent a hub asked to move is not asked again by that hub for this long (one that cannot
 * reach the others comes back and stays put). Other hubs may move it: the hub it arrived on
 * sends it on only if that hub becomes crowded itself, which is when moving it again is wanted
 * (the next step of a rolling upgrade).
 */
export const MOVE_COOLDOWN_MS = 15 * 60_000;
/** Candidates looked up in the cool-down at a time. */
const COOLDOWN_LOOKUP_BATCH = 500;
/**
 * A hub this hub has seen for less than this long (and less than one rebalancing interval) is not
 * moved to yet: a load balancer's health check needs a few seconds to send it connections
 * (HAProxy's defaults, two checks 2 s apart; Kubernetes readiness every 10 s), and agents asked to
 * move before then come straight back.
 */
export const MIN_SETTLE_MS = 10_000;

/**
 * The cool-down's key: which hub asked which agent. Kept in the shared cache rather than in the
 * hub's memory, so a hub that restarts remembers whom it asked.
 */
export const movedKey = (hubId: string, agentId: string): string => `moved:${hubId}:${agentId}`;
/**
 * Set when an agent that hub asked to move came back to it and its cool-down was lifted: that
 * happens once per MOVE_COOLDOWN_MS, so a balancer that keeps sending an agent back (source
 * hashing, a hub it cannot reach) does not make the agent move every round.
 */
export const returnedKey = (hubId: string, agentId: string): string => `returned:${hubId}:${agentId}`;

/**
 * How many of its agents hub `self` should ask to move so the live hubs end near an even share.
 * Zero while it holds at most `fair × (1 + tolerance%)` or fewer than MIN_EXCESS over its fair
 * share; otherwise what it holds above its share, rounded up, at most MAX_MOVES_PER_ROUND. Each
 * hub sheds only its own excess, so hubs deciding at once do not move more than needed.
 */
export function agentsToShed(loads: ReadonlyMap<string, number>, self: string, tolerancePercent = DEFAULT_REBALANCE_TOLERANCE): number {
  if (loads.size < 2 || !loads.has(self)) return 0;
  let total = 0;
  for (const count of loads.values()) total += count;
  const fair = total / loads.size;
  const mine = loads.get(self)!;
  if (mine <= fair * (1 + tolerancePercent / 100)) return 0;
  const excess = mine - Math.ceil(fair);
  if (excess < MIN_EXCESS) return 0;
  return Math.min(excess, MAX_MOVES_PER_ROUND);
}

/**
 * Where the agents a hub moves should go: the hubs under an even share, each as many times as
 * it is short of it, the shortest first (ties by id). Hubs that advertise no URL are left out:
 * agents sent without a hint go to the next hub of their own order.
 */
export function moveTargets(loads: ReadonlyMap<string, number>, urls: ReadonlyMap<string, string>, self: string, count: number): string[] {
  let total = 0;
  for (const load of loads.values()) total += load;
  const share = Math.ceil(total / Math.max(1, loads.size));
  const short = [...loads]
    .filter(([hub, load]) => hub !== self && load < share && urls.has(hub))
    .map(([hub, load]) => ({ url: urls.get(hub)!, missing: share - load, hub }))
    .sort((a, b) => b.missing - a.missing || a.hub.localeCompare(b.hub));
  const targets: string[] = [];
  // Round robin over the hubs still short, so a round split between them ends even.
  while (targets.length < count && short.some((hub) => hub.missing > 0)) {
    for (const hub of short) {
      if (targets.length >= count) break;
      if (hub.missing <= 0) continue;
      targets.push(hub.url);
      hub.missing--;
    }
  }
  return targets;
}

/** The `retryAfterMs` of the `index`-th agent asked to move: spread evenly at MOVES_PER_SECOND, at most 10 s. */
export function moveRetryAfterMs(index: number): number {
  return Math.min(10_000, Math.floor((index / MOVES_PER_SECOND) * 1000));
}

/**
 * Rebalancing of agents over several hubs (issue #14, ADR 0033). Agents stay on the hub that
 * works, so after every hub restarted (the first one up takes most of the fleet) or a rolling
 * upgrade (the last hub restarted gets nobody) the hubs stay uneven for good. Every
 * `intervalMs` (with jitter) each hub compares what the live hubs hold (the presence
 * directory) and asks its excess to move, each agent pointed at a hub short of its share
 * (`moveTargets`): `hub:draining` with reason `rebalance`, newest
 * connections first, never a machine with an open terminal or a live view, never one moved in
 * the last MOVE_COOLDOWN_MS by this hub (`recentMoves`, in the shared cache so that it outlives
 * a restart), except once for an agent that came straight back. A round is skipped while agents of the previous one are still on their way, and while a hub has been seen for less than `settleMs` (load balancers' health checks). Every
 * hub decides for itself from shared counts, so it needs no leader.
 */
export function createAgentRebalancer({
  presence,
  directory,
  busyAgents,
  recentMoves,
  logger,
  intervalMs,
  tolerancePercent = DEFAULT_REBALANCE_TOLERANCE,
  onMoved,
  random = Math.random,
  now = Date.now,
  settleMs = Math.max(intervalMs, MIN_SETTLE_MS),
}: {
  presence: Pick<PresenceService, 'connections' | 'shed' | 'movingCount' | 'takeReturned'>;
  directory: Pick<PresenceDirectory, 'hubLoads' | 'hubUrls' | 'hubId'>;
  /** Agents not to move now (open terminals, live views), across hubs. */
  busyAgents: () => Promise<Set<string>>;
  /** Which agents this hub asked to move within MOVE_COOLDOWN_MS (the shared cache, keys `movedKey` and `returnedKey`). */
  recentMoves: Pick<SharedCache, 'mark' | 'marked' | 'unmark'>;
  logger: Logger;
  intervalMs: number;
  tolerancePercent?: number;
  onMoved?: (count: number) => void;
  random?: () => number;
  now?: () => number;
  /** How long another hub must have been seen before agents are moved anywhere (MIN_SETTLE_MS). */
  settleMs?: number;
}) {
  const keyOf = (agentId: string): string => movedKey(directory.hubId, agentId);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let stopped = false;
  /** When this hub first saw each live hub (forgotten when it leaves the list). */
  const firstSeen = new Map<string, number>();

  /** The hubs seen for less than `settleMs`: while there is one, nobody is moved. */
  function unsettled(loads: ReadonlyMap<string, number>): string[] {
    const at = now();
    for (const hub of firstSeen.keys()) if (!loads.has(hub)) firstSeen.delete(hub);
    const waiting: string[] = [];
    for (const hub of loads.keys()) {
      if (hub === directory.hubId) continue;
      const seen = firstSeen.get(hub);
      if (seen === undefined) firstSeen.set(hub, at);
      if (at - (seen ?? at) < settleMs) waiting.push(hub);
    }
    return waiting;
  }

  /**
   * Agents asked to move that came straight back (a load balancer whose health check had not yet
   * seen the hub short of agents) may be asked once more: their first cool-down is lifted.
   */
  async function forgiveReturned(): Promise<void> {
    const back = presence.takeReturned();
    if (back.length === 0) return;
    const returnedKeys = back.map((agentId) => returnedKey(directory.hubId, agentId));
    const before = await recentMoves.marked(returnedKeys);
    const fresh = back.flatMap((agentId, i) => (before.has(returnedKeys[i]!) ? [] : [i]));
    if (fresh.length > 0) {
      await recentMoves.mark(fresh.map((i) => returnedKeys[i]!), MOVE_COOLDOWN_MS);
      await recentMoves.unmark(fresh.map((i) => keyOf(back[i]!)));
    }
    logger.info(
      { returned: back.length, askAgain: fresh.length },
      'agents asked to move came back to this hub (a load balancer may not have seen the other hubs up yet); those back for the first time may be asked again',
    );
  }

  async function round(): Promise<number> {
    await forgiveReturned();
    if (presence.movingCount() > 0) return 0;
    const loads = await directory.hubLoads();
    const waiting = unsettled(loads);
    const wanted = agentsToShed(loads, directory.hubId, tolerancePercent);
    if (wanted === 0) return 0;
    if (waiting.length > 0) {
      logger.info({ hubs: waiting, settleMs }, 'holding more than its share, but waiting until hubs that just appeared have been up a while (load balancers must see them first)');
      return 0;
    }
    const busy = await busyAgents();
    const candidates = presence.connections().flatMap(({ agentId }) => (busy.has(agentId) ? [] : [agentId]));
    const chosen: string[] = [];
    for (let i = 0; i < candidates.length && chosen.length < wanted; i += COOLDOWN_LOOKUP_BATCH) {
      const batch = candidates.slice(i, i + COOLDOWN_LOOKUP_BATCH);
      const keys = batch.map(keyOf);
      const cooling = await recentMoves.marked(keys);
      for (let j = 0; j < batch.length && chosen.length < wanted; j++) if (!cooling.has(keys[j]!)) chosen.push(batch[j]!);
    }
    if (chosen.length === 0) return 0;
    // Recorded before anyone is asked: should the shared store fail, the round moves nobody.
    await recentMoves.mark(chosen.map(keyOf), MOVE_COOLDOWN_MS);
    // Pointed at the hubs short of their share, so an agent does not land on another hub that has too many.
    const targets = moveTargets(loads, await directory.hubUrls(), directory.hubId, chosen.length);
    const asked = presence.shed(chosen, moveRetryAfterMs, MOVE_GRACE_MS, (index) => targets[index]);
    logger.info({ asked, wanted, loads: Object.fromEntries(loads) }, 'this hub holds more than its share of the fleet; asked agents to move to another hub');
    onMoved?.(asked);
    return asked;
  }

  function schedule(): void {
    if (stopped) return;
    // ±25 % jitter: hubs started together do not decide in the same instant.
    const delay = Math.round(intervalMs * (0.75 + random() * 0.5));
    timer = setTimeout(() => {
      running = round()
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'rebalancing round failed; trying again next round');
          return 0;
        })
        .finally(() => {
          running = null;
          schedule();
        });
    }, delay);
    timer.unref();
  }

  return {
    /** One round now (tests and the first round after start); resolves with how many agents were asked to move. */
    round,
    start(): void {
      stopped = false;
      schedule();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      if (running) await running;
    },
  };
}
export type AgentRebalancer = ReturnType<typeof createAgentRebalancer>;
