import type { AgentStatusEvent, AgentUpdatedEvent, JobOutputEvent, JobTargetEvent, JobUpdateEvent, MetricsLiveEvent, MetricsUpdateEvent } from '@farol/protocol';
import type { AlertChangedEvent, HeartbeatSample, Labels } from '@farol/protocol';
import type { CheckKind, CheckLocationState } from '@farol/protocol';
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
  /** `agentIds`: the job's machines (a scoped /ui socket gets the job only when it sees them all); broadcast with the rest. */
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
  /** Service checks were created, changed or deleted (issue #19): every hub re-sends assignments. */
  'checks.changed': { checkIds: string[] };
  /** A check's current state at each location that reported recently (alerts read it); `deleted`: deleted or disabled. */
  'check.state': { checkId: string; checkName: string; kind: CheckKind; locations: CheckLocationState[]; deleted: boolean };
  /** An agent answered `agent:hello` on `hubId` (issue #14): every hub sends it the commands it owns for it. */
  'agent.ready': { agentId: string; hubId: string };
  /**
   * A hub took or let go of an agent's connection (issue #14; `hubId` null: let go). Keeps every
   * hub's presence mirror current between its periodic reloads from Redis.
   */
  'presence.held': { agentId: string; hubId: string | null; sessionId: string; lastHeard: number; intervalMs: number };
  /** Whether anyone on `hubId` watches `agentId` live (issue #14): the agent's hub keeps relaying while someone anywhere does. */
  'live.watching': { agentId: string; hubId: string; watching: boolean };
  /**
   * Access rules moved without narrowing anyone's (issue #14): a custom role was created
   * (`roles`: every hub re-reads them) or someone stepped up. Every hub moves its generation, so
   * open sockets re-read their credential at their next event.
   */
  'auth.refreshed': { roles: boolean };
  /**
   * A hub learned a secret's value (set, or read through from a backend) (issue #14). Never the
   * value: every other hub reads it itself (from the database, or the backend) and redacts it.
   */
  'secret.known': { name: string; version: number };
  /**
   * Alert rules, silences or an acknowledgement changed on hub `origin` (issue #14): the other
   * hubs re-read rules and silences; the leader's engine settles the alerts of changed rules and
   * takes the acknowledgement into its live alert.
   */
  'alerts.config': { origin: string; rules: boolean; silences: boolean; acknowledged: { alertId: string; at: number; by: string; note: string | null } | null };
  /** A hub queued notifications in the outbox (issue #14): the leader's worker looks now instead of at its next poll. */
  'outbox.queued': { origin: string };
  /** Event-webhook subscriptions were created, changed or deleted on some hub (issue #14): the leader reads them again. */
  'notify.webhooks': Record<string, never>;
  /**
   * Local (several hubs): Redis came back after `lostForMs` without it, so this hub may have
   * missed broadcasts meanwhile, and they are not replayed. Each follower of a broadcast that
   * keeps state re-reads it from the database: roles and open sockets' credentials, alert rules,
   * silences and machines, secrets to redact, webhooks, checks, the commands its agents are owed.
   */
  'broadcasts.resumed': { lostForMs: number };
}
export type BusTopic = keyof BusEvents;
type Handler<T extends BusTopic> = (event: BusEvents[T]) => void;

/**
 * Topics every hub must see (issue #14): every hub's dashboards and caches follow them, so with
 * several hubs they travel over Redis pub/sub as JSON (infra/redis-bus.ts). Every other topic
 * is *local*: it stays in the process that published it, either because it is heavy and only
 * this hub's consumers need it (`metrics.sample`, the full sample of every heartbeat), or
 * because it is work that exactly one hub must do.
 *
 * Adding a broadcast topic is one line: declare its event in `BusEvents` above (JSON-safe:
 * plain objects, arrays, strings, numbers, booleans, null; Buffers survive too) and add its
 * name here. Subscribers on every hub then receive it once, the publishing hub's synchronously.
 */
export const BROADCAST_TOPICS: ReadonlySet<BusTopic> = new Set<BusTopic>([
  'agent.status',
  'agent.removed',
  'agent.updated',
  'auth.changed',
  'metrics.update',
  'metrics.live',
  'job.update',
  'job.target',
  'job.output',
  'alert.changed',
  'checks.changed',
  // Not `check.state`: every hub derives it from `check_latest`, which all hubs write and each
  // follows by `stored_at` (checks.service, ADR 0028); the leader's alerts engine hears its
  // own hub's events, already complete, so a broadcast would only repeat them.
  'agent.ready',
  'presence.held',
  'live.watching',
  'auth.refreshed',
  'secret.known',
  'alerts.config',
  'outbox.queued',
  'notify.webhooks',
]);

/** Where a bus reports a publish it could not carry to the other hubs (Redis lost). */
export type PublishFailure = (topic: BusTopic, error: unknown) => void;

/**
 * The seam between producers (presence, telemetry) and consumers (dashboard, alerts,
 * webhooks). In-memory for one hub (createMemoryBus); Redis for several (createRedisBus).
 *
 * `publish` stays synchronous for its callers: subscribers in this process run at once, and a
 * broadcast that cannot reach the other hubs goes to the bus's `onPublishFailure` (logged and
 * counted), so the ~40 call sites keep one line each and a lost Redis never throws into a
 * heartbeat or a job.
 */
export interface Bus {
  publish<T extends BusTopic>(topic: T, event: BusEvents[T]): void;
  subscribe<T extends BusTopic>(topic: T, handler: Handler<T>): () => void;
}

/** The in-process half every bus has: handlers by topic; a throwing subscriber is logged and does not stop the others. */
export function createLocalDelivery(logger: Logger) {
  const handlers = new Map<BusTopic, Set<Handler<BusTopic>>>();
  return {
    deliver<T extends BusTopic>(topic: T, event: BusEvents[T]): void {
      for (const handler of handlers.get(topic) ?? []) {
        try {
          (handler as Handler<T>)(event);
        } catch (error) {
          logger.error({ err: error, topic }, 'bus subscriber failed');
        }
      }
    },
    subscribe<T extends BusTopic>(topic: T, handler: Handler<T>): () => void {
      let set = handlers.get(topic);
      if (!set) handlers.set(topic, (set = new Set()));
      set.add(handler as Handler<BusTopic>);
      return () => set.delete(handler as Handler<BusTopic>);
    },
  };
}

/** In-process bus (one hub): every topic is local. */
export function createMemoryBus(logger: Logger): Bus {
  const local = createLocalDelivery(logger);
  return { publish: local.deliver, subscribe: local.subscribe };
}
