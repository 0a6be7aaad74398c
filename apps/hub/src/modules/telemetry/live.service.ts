import { FarolError, type HeartbeatSample } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Logger } from '../../infra/logger.js';
import type { AgentChannel } from '../agents/agent-channel.js';

/** How often a watched machine streams samples. */
export const LIVE_INTERVAL_MS = 1_000;
/** After Redis came back: when this hub's watches are announced again. */
const RESUMED_ANNOUNCE_MS = 3_000;

/**
 * Live mode: while anyone watches a machine, its agent streams a sample every second; when
 * the last watcher leaves, it goes back to its normal interval. Live samples are relayed to
 * the watchers over the bus, not stored.
 */
export function createLiveService({ channel, hubId, bus, logger }: { channel: AgentChannel; hubId: string; bus: Bus; logger: Logger }) {
  const watchers = new Map<string, Set<string>>();
  /**
   * Several hubs (issue #14): the other hubs where someone watches each agent (`live.watching`
   * on the bus), so the hub holding the agent keeps relaying while anyone anywhere watches.
   */
  const watchedElsewhere = new Map<string, Set<string>>();
  const unsubscribe = bus.subscribe('live.watching', (event) => {
    if (event.hubId === hubId) return;
    let hubs = watchedElsewhere.get(event.agentId);
    if (event.watching) {
      if (!hubs) watchedElsewhere.set(event.agentId, (hubs = new Set()));
      hubs.add(event.hubId);
    } else if (hubs) {
      hubs.delete(event.hubId);
      if (hubs.size === 0) watchedElsewhere.delete(event.agentId);
    }
  });
  const watchedAnywhere = (agentId: string): boolean => watchers.has(agentId) || watchedElsewhere.has(agentId);
  // Redis came back: a watch started here meanwhile reached neither the other hubs nor an agent
  // held by one. Said again once every hub had time to subscribe again.
  let resumed: NodeJS.Timeout | undefined;
  const unsubscribeResumed = bus.subscribe('broadcasts.resumed', () => {
    clearTimeout(resumed);
    resumed = setTimeout(() => {
      for (const agentId of watchers.keys()) {
        bus.publish('live.watching', { agentId, hubId, watching: true });
        tellAgent(agentId, LIVE_INTERVAL_MS);
      }
    }, RESUMED_ANNOUNCE_MS);
    resumed.unref();
  });

  function tellAgent(agentId: string, intervalMs: number | null): void {
    void channel.send(agentId, 'telemetry:live', { intervalMs }).then((delivery) => {
      // Offline: it is told again at its next hello (agentReady).
      if (delivery === 'failed') logger.warn({ agentId, intervalMs }, 'could not tell an agent to change its live mode');
    });
  }

  return {
    /** `watcherId` (a dashboard connection) starts watching `agentId`. */
    watch(agentId: string, watcherId: string, agentExists: boolean): { intervalMs: number; online: boolean } {
      if (!agentExists) throw new FarolError('not_found', `no agent ${agentId}`);
      let set = watchers.get(agentId);
      if (!set) watchers.set(agentId, (set = new Set()));
      const first = set.size === 0;
      set.add(watcherId);
      if (first) {
        logger.debug({ agentId }, 'live mode on');
        tellAgent(agentId, LIVE_INTERVAL_MS);
        bus.publish('live.watching', { agentId, hubId, watching: true });
      }
      return { intervalMs: LIVE_INTERVAL_MS, online: channel.isConnected(agentId) };
    },

    unwatch(agentId: string, watcherId: string): void {
      const set = watchers.get(agentId);
      if (!set?.delete(watcherId) || set.size > 0) return;
      watchers.delete(agentId);
      bus.publish('live.watching', { agentId, hubId, watching: false });
      if (watchedElsewhere.has(agentId)) return;
      logger.debug({ agentId }, 'live mode off');
      tellAgent(agentId, null);
    },

    /** A watcher went away: stop everything it watched. */
    unwatchAll(watcherId: string): void {
      for (const agentId of [...watchers.keys()]) this.unwatch(agentId, watcherId);
    },

    /** An agent (re)connected and said hello: resume live mode if someone is watching. */
    agentReady(agentId: string): void {
      if (watchedAnywhere(agentId)) tellAgent(agentId, LIVE_INTERVAL_MS);
    },

    relay(agentId: string, sample: HeartbeatSample): void {
      // A sample that arrives after the last watcher left is dropped; the agent is told to stop.
      if (!watchedAnywhere(agentId)) {
        tellAgent(agentId, null);
        return;
      }
      bus.publish('metrics.live', { agentId, sample });
    },

    watcherCount(agentId: string): number {
      return watchers.get(agentId)?.size ?? 0;
    },

    /** Machines someone watches live, on this hub or another (rebalancing leaves them where they are). */
    watchedAgents(): Set<string> {
      return new Set([...watchers.keys(), ...watchedElsewhere.keys()]);
    },

    stop(): void {
      unsubscribe();
      unsubscribeResumed();
      clearTimeout(resumed);
    },
  };
}
export type LiveService = ReturnType<typeof createLiveService>;
