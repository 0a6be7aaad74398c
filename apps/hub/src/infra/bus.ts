import type { AgentStatusEvent, AgentUpdatedEvent, JobOutputEvent, JobTargetEvent, JobUpdateEvent, MetricsLiveEvent, MetricsUpdateEvent } from '@farol/protocol';
import type { AlertChangedEvent, HeartbeatSample, Labels } from '@farol/protocol';
import type { Logger } from './logger.js';

/** Every event that crosses the hub's internal bus, by topic. */
export interface BusEvents {
  'agent.status': AgentStatusEvent;
  'agent.removed': { agentId: string };
  /** Someone's access narrowed (role, scope, disabled, token revoked): their sockets re-check or close. */
  'auth.changed': { userId: string | null; tokenId: string | null; reason: string };
  'agent.updated': AgentUpdatedEvent;
  'metrics.update': MetricsUpdateEvent;
  'metrics.live': MetricsLiveEvent;
  /** `agentIds`: the job's machines, in process only (a scoped /ui socket gets the job only when it sees them all). */
  'job.update': JobUpdateEvent & { agentIds: readonly string[] };
  'job.target': JobTargetEvent;
  'job.output': JobOutputEvent;
  /** The newest full sample of an agent, in process only (alerts read disks, GPUs, containers). */
  'metrics.sample': { agentId: string; sample: HeartbeatSample };
  /**
   * An alert changed state or a notice about it went out (alerts engine), with the labels of its
   * machine (what its notices carry; event webhooks need them; /ui gets only `{event, alert}`).
   */
  'alert.changed': AlertChangedEvent & { labels: Labels };
}
export type BusTopic = keyof BusEvents;
type Handler<T extends BusTopic> = (event: BusEvents[T]) => void;

/**
 * The seam between producers (presence, telemetry) and consumers (dashboard, alerts,
 * webhooks). In-memory for one hub; a Redis implementation replaces it for several hubs.
 */
export interface Bus {
  publish<T extends BusTopic>(topic: T, event: BusEvents[T]): void;
  subscribe<T extends BusTopic>(topic: T, handler: Handler<T>): () => void;
}

/** In-process bus; a throwing subscriber is logged and does not stop the others. */
export function createMemoryBus(logger: Logger): Bus {
  const handlers = new Map<BusTopic, Set<Handler<BusTopic>>>();
  return {
    publish(topic, event) {
      for (const handler of handlers.get(topic) ?? []) {
        try {
          (handler as Handler<typeof topic>)(event);
        } catch (error) {
          logger.error({ err: error, topic }, 'bus subscriber failed');
        }
      }
    },
    subscribe(topic, handler) {
      let set = handlers.get(topic);
      if (!set) handlers.set(topic, (set = new Set()));
      set.add(handler as Handler<BusTopic>);
      return () => set.delete(handler as Handler<BusTopic>);
    },
  };
}
