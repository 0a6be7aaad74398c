/** Where an agent's connection is held (issue #14). */
export interface HeldAgent {
  hubId: string;
  /** The connection's id on that hub (a replaced connection's late close must not free the new one). */
  sessionId: string;
  lastHeard: number;
  intervalMs: number;
}

/** What the directory tells presence about agents it did not see come or go itself. */
export interface DirectoryHooks {
  /** These agents were held by a hub whose lease expired, and no hub holds them now: they are offline. */
  lost(agentIds: string[]): Promise<void>;
  /** These agents, connected here, had been swept while this hub could not renew its lease: online again. */
  regained(agentIds: string[]): Promise<void>;
}

/**
 * Which hub holds each agent's connection, and when it was last heard (issue #14). Reads are
 * synchronous (presence answers `isOnline` on every heartbeat and API row): the shared
 * implementation keeps a mirror it refreshes from Redis; writes go to the shared store.
 *
 * One hub: createMemoryPresenceDirectory, a map. Several: createRedisPresenceDirectory, where
 * each hub also holds a lease and sweeps the agents of hubs whose lease expired.
 */
export interface PresenceDirectory {
  readonly hubId: string;
  /** This hub holds the agent's connection `sessionId` from now on. */
  hold(agentId: string, entry: Omit<HeldAgent, 'hubId'>): Promise<void>;
  /**
   * This hub's connection `sessionId` to the agent ended. True when nobody holds the agent now
   * (it is offline); false when a newer connection does, here or on another hub (it moved: no
   * offline event, no flap).
   */
  release(agentId: string, sessionId: string): Promise<boolean>;
  /**
   * This hub's connection `sessionId` to the agent ended because this hub asked it to move
   * (rebalancing). The entry stays under this hub, no longer refreshed, until a hub holds the
   * agent again (its `hold` replaces the entry) or this hub `release`s it once the move's
   * deadline passed. So the machine does not flap offline while it moves, and should this hub
   * die meanwhile, its lease's expiry takes the machine offline on the hubs that remain: the
   * decision never lives only in one process's memory.
   */
  handOver(agentId: string, sessionId: string): void;
  /** The agent spoke on this hub (kept in memory; shared stores get it in batches). */
  heard(agentId: string, lastHeard: number, intervalMs: number): void;
  holderOf(agentId: string): HeldAgent | undefined;
  /** Agents some other hub holds now (at start: the rest of those stored online are offline). */
  heldElsewhere(): Promise<Set<string>>;
  /**
   * How many agents each live hub holds, this one included (a hub with none is listed with 0):
   * what rebalancing compares (modules/agents/rebalance.ts). Other hubs' figures are as of the
   * last mirror reload, at most a directory tick old.
   */
  hubLoads(): Promise<Map<string, number>>;
  /**
   * The URL each live hub gave for agents to reach it (FAROL_PUBLIC_URL, else its listening
   * address): where rebalancing points the agents it moves. A hub that gave none is not listed.
   */
  hubUrls(): Promise<Map<string, string>>;
  /**
   * This hub accepts agents now, at `url` when known: from here on it is listed among the live
   * hubs (`hubLoads`, `hubUrls`). Called once the hub listens, so no hub points agents at one
   * that would refuse them.
   */
  announce(url: string | undefined): Promise<void>;
  start(hooks: DirectoryHooks): Promise<void>;
  stop(): Promise<void>;
}

/** One hub: the directory is this process's own connections. */
export function createMemoryPresenceDirectory(hubId: string): PresenceDirectory {
  const held = new Map<string, HeldAgent>();
  let advertised: string | undefined;
  return {
    hubId,
    async hold(agentId, entry) {
      held.set(agentId, { hubId, ...entry });
    },
    async release(agentId, sessionId) {
      const entry = held.get(agentId);
      if (entry && entry.sessionId !== sessionId) return false;
      held.delete(agentId);
      return true;
    },
    // One process: the entry simply stays until the agent comes back (hold) or release.
    handOver: () => undefined,
    heard(agentId, lastHeard, intervalMs) {
      const entry = held.get(agentId);
      if (!entry) return;
      entry.lastHeard = lastHeard;
      entry.intervalMs = intervalMs;
    },
    holderOf: (agentId) => held.get(agentId),
    heldElsewhere: async () => new Set(),
    hubLoads: async () => new Map([[hubId, held.size]]),
    hubUrls: async () => new Map(advertised ? [[hubId, advertised]] : []),
    announce: async (url) => {
      advertised = url;
    },
    start: async () => {},
    stop: async () => {},
  };
}
