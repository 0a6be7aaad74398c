import { FarolError, type HeartbeatSample } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Logger } from '../../infra/logger.js';
import type { PresenceService } from '../agents/presence.service.js';

/** How often a watched machine streams samples. */
export const LIVE_INTERVAL_MS = 1_000;

/**
 * Live mode: while anyone watches a machine, its agent streams a sample every second; when
 * the last watcher leaves, it goes back to its normal interval. Live samples are relayed to
 * the watchers over the bus, not stored.
 */
export function createLiveService({ presence, bus, logger }: { presence: PresenceService; bus: Bus; logger: Logger }) {
  const watchers = new Map<string, Set<string>>();

  function tellAgent(agentId: string, intervalMs: number | null): void {
    presence.sessionOf(agentId)?.send('telemetry:live', { intervalMs });
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
      }
      return { intervalMs: LIVE_INTERVAL_MS, online: presence.isOnline(agentId) };
    },

    unwatch(agentId: string, watcherId: string): void {
      const set = watchers.get(agentId);
      if (!set?.delete(watcherId) || set.size > 0) return;
      watchers.delete(agentId);
      logger.debug({ agentId }, 'live mode off');
      tellAgent(agentId, null);
    },

    /** A watcher went away: stop everything it watched. */
    unwatchAll(watcherId: string): void {
      for (const agentId of [...watchers.keys()]) this.unwatch(agentId, watcherId);
    },

    /** An agent (re)connected and said hello: resume live mode if someone is watching. */
    agentReady(agentId: string): void {
      if (watchers.has(agentId)) tellAgent(agentId, LIVE_INTERVAL_MS);
    },

    relay(agentId: string, sample: HeartbeatSample): void {
      // A sample that arrives after the last watcher left is dropped; the agent is told to stop.
      if (!watchers.has(agentId)) {
        tellAgent(agentId, null);
        return;
      }
      bus.publish('metrics.live', { agentId, sample });
    },

    watcherCount(agentId: string): number {
      return watchers.get(agentId)?.size ?? 0;
    },
  };
}
export type LiveService = ReturnType<typeof createLiveService>;
