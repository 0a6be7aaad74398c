import {
  summarizeAgent,
  type Agent,
  type AgentStatus,
  type AgentStatusEvent,
  type AgentSummary,
  type AgentUpdatedEvent,
  type Labels,
  type MetricsUpdateEvent,
} from '@farol/protocol';

/** How many recent CPU values a card's sparkline shows. */
export const SPARKLINE_POINTS = 30;

/** How often, at most, incoming events reach React. */
export const FLUSH_INTERVAL_MS = 500;

export interface CpuPoint {
  ts: number;
  value: number;
}

/** What the fleet page knows about one machine: the agent row, reduced to what cards show. */
export interface FleetMachine {
  id: string;
  name: string;
  hostname: string;
  status: AgentStatus;
  labels: Labels;
  os: string | null;
  distro: string | null;
  arch: string | null;
  cpuCores: number | null;
  /** What the agent reported at its last hello; absent from an older hub. */
  agentVersion?: string | null;
  lastSeen: number | null;
  heartbeatIntervalMs: number | null;
  cpu: number | null;
  memory: number | null;
  disk: number | null;
  /** Containers with a newer digest in their registry (issue #18); null until checked; absent from an older hub. */
  updatesAvailable?: number | null;
  /** When the newest sample was taken (agent clock). */
  sampleTs: number | null;
  /** Oldest first, at most SPARKLINE_POINTS. */
  cpuHistory: readonly CpuPoint[];
  /** When this browser heard the last status event for it (not from a list). */
  statusHeardAt: number | null;
}

/** A live event from /ui, as the store queues it. */
export type FleetEvent =
  | { type: 'status'; event: AgentStatusEvent; receivedAt: number }
  | { type: 'metrics'; event: MetricsUpdateEvent; receivedAt: number }
  | { type: 'updated'; event: AgentUpdatedEvent }
  | { type: 'removed'; agentId: string };

export interface FleetSnapshot {
  /** Unchanged machines keep their object identity from one snapshot to the next. */
  machines: ReadonlyMap<string, FleetMachine>;
  /** Increases with every published change. */
  version: number;
  /** False until the first agent list arrived. */
  loaded: boolean;
}

/** Timers, injected so tests can flush by hand. */
export interface FlushScheduler {
  /** Runs `task` after `delayMs`. */
  later(task: () => void, delayMs: number): void;
  /** Runs `task` before the next paint (requestAnimationFrame in the browser). */
  frame(task: () => void): void;
  now(): number;
}

export const browserScheduler: FlushScheduler = {
  later: (task, delayMs) => void setTimeout(task, delayMs),
  frame: (task) => void requestAnimationFrame(() => task()),
  now: () => performance.now(),
};

export interface FleetStore {
  getSnapshot(): FleetSnapshot;
  subscribe(listener: () => void): () => void;
  /**
   * Replaces the fleet with a fresh list (start, reconnect), keeping the sparklines. Published
   * at once. `requestedAt` (when the list was asked for) lets a status or sample heard over the
   * socket after that win over the list, which may have been computed before it.
   */
  load(agents: readonly AgentSummary[], requestedAt?: number): void;
  /** Adds or refreshes one machine (one that appeared after the list was loaded). */
  upsert(agent: AgentSummary): void;
  /** Queues a live event; applied with the next flush. */
  enqueue(event: FleetEvent): void;
  /** Fills a sparkline from history, under the points live events already added. */
  seedHistory(agentId: string, points: readonly CpuPoint[]): void;
  /** Publishes queued changes now (the scheduler calls it; tests may too). */
  flush(): void;
}

/** A machine from the fleet list (`view=summary`), keeping a sparkline it already had. */
export function machineFromSummary(summary: AgentSummary, cpuHistory: readonly CpuPoint[] = []): FleetMachine {
  const history = summary.sampleTs !== null && summary.cpu !== null ? appendPoint(cpuHistory, summary.sampleTs, summary.cpu) : cpuHistory;
  return { ...summary, cpuHistory: history, statusHeardAt: null };
}

/** A machine from a full agent record (the machine page, a machine that appeared later). */
export function machineFromAgent(agent: Agent, cpuHistory: readonly CpuPoint[] = []): FleetMachine {
  return machineFromSummary(summarizeAgent(agent), cpuHistory);
}

/** A machine from a fresh list, keeping what the socket said since the list was requested. */
function mergeLoaded(fresh: FleetMachine, previous: FleetMachine | undefined, requestedAt: number): FleetMachine {
  if (!previous) return fresh;
  const merged = { ...fresh, lastSeen: Math.max(fresh.lastSeen ?? 0, previous.lastSeen ?? 0) || null };
  if (previous.statusHeardAt !== null && previous.statusHeardAt >= requestedAt) {
    merged.status = previous.status;
    merged.statusHeardAt = previous.statusHeardAt;
  }
  if (previous.sampleTs !== null && (fresh.sampleTs === null || previous.sampleTs > fresh.sampleTs)) {
    merged.cpu = previous.cpu;
    merged.memory = previous.memory;
    merged.disk = previous.disk;
    merged.sampleTs = previous.sampleTs;
  }
  return merged;
}

/** Appends a point unless it is not newer than the last one (a duplicate or a backfilled sample). */
export function appendPoint(history: readonly CpuPoint[], ts: number, value: number): readonly CpuPoint[] {
  const last = history.at(-1);
  if (last && ts <= last.ts) return history;
  const next = [...history, { ts, value }];
  return next.length > SPARKLINE_POINTS ? next.slice(-SPARKLINE_POINTS) : next;
}

/**
 * The fleet in memory, fed by /ui events. Events are applied to a draft as they arrive and the
 * draft is published at most every FLUSH_INTERVAL_MS, on an animation frame: 1,000 machines
 * reporting every 10 s (100 events a second) become two renders a second, and only the cards
 * whose machine changed re-render, because unchanged machines keep their identity. Memory stays
 * bounded by the fleet size even while frames are paused (a hidden tab).
 */
export function createFleetStore({
  scheduler = browserScheduler,
  flushIntervalMs = FLUSH_INTERVAL_MS,
  onUnknownAgents,
}: {
  scheduler?: FlushScheduler;
  flushIntervalMs?: number;
  /** Ids seen in events but not in the fleet: machines that enrolled after the list was loaded. */
  onUnknownAgents?: (agentIds: string[]) => void;
} = {}): FleetStore {
  let snapshot: FleetSnapshot = { machines: new Map(), version: 0, loaded: false };
  let draft: Map<string, FleetMachine> | null = null;
  let unknown = new Set<string>();
  let scheduled = false;
  let lastFlushAt = Number.NEGATIVE_INFINITY;
  const listeners = new Set<() => void>();

  const publish = (machines: Map<string, FleetMachine>, loaded = snapshot.loaded) => {
    snapshot = { machines, version: snapshot.version + 1, loaded };
    listeners.forEach((listener) => listener());
  };

  const editable = (): Map<string, FleetMachine> => (draft ??= new Map(snapshot.machines));

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    const wait = Math.max(0, lastFlushAt + flushIntervalMs - scheduler.now());
    scheduler.later(() => scheduler.frame(flush), wait);
  };

  function apply(machines: Map<string, FleetMachine>, fleetEvent: FleetEvent): void {
    if (fleetEvent.type === 'removed') {
      machines.delete(fleetEvent.agentId);
      unknown.delete(fleetEvent.agentId);
      return;
    }
    const agentId = fleetEvent.event.agentId;
    const machine = machines.get(agentId);
    if (!machine) {
      unknown.add(agentId);
      return;
    }
    if (fleetEvent.type === 'updated') {
      const { name, labels } = fleetEvent.event;
      machines.set(agentId, { ...machine, name, labels });
      return;
    }
    if (fleetEvent.type === 'status') {
      const { status, name, lastSeen } = fleetEvent.event;
      machines.set(agentId, { ...machine, status, name, lastSeen: lastSeen ?? machine.lastSeen, statusHeardAt: fleetEvent.receivedAt });
      return;
    }
    const { ts, values } = fleetEvent.event;
    machines.set(agentId, {
      ...machine,
      // The hub publishes updates only for connected agents.
      status: 'online',
      cpu: values.cpu ?? null,
      memory: values.memory ?? null,
      disk: values.disk ?? null,
      sampleTs: ts,
      lastSeen: Math.max(machine.lastSeen ?? 0, fleetEvent.receivedAt),
      cpuHistory: values.cpu == null ? machine.cpuHistory : appendPoint(machine.cpuHistory, ts, values.cpu),
    });
  }

  function flush(): void {
    scheduled = false;
    lastFlushAt = scheduler.now();
    const reported = unknown;
    unknown = new Set();
    if (draft) {
      const next = draft;
      draft = null;
      publish(next);
    }
    if (reported.size > 0) onUnknownAgents?.([...reported]);
  }

  return {
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    load(agents, requestedAt = Number.POSITIVE_INFINITY) {
      const previous = draft ?? snapshot.machines;
      const machines = new Map<string, FleetMachine>();
      for (const agent of agents) {
        const known = previous.get(agent.id);
        machines.set(agent.id, mergeLoaded(machineFromSummary(agent, known?.cpuHistory), known, requestedAt));
      }
      draft = null;
      unknown = new Set();
      publish(machines, true);
    },
    upsert(agent) {
      const machines = editable();
      machines.set(agent.id, machineFromSummary(agent, machines.get(agent.id)?.cpuHistory));
      schedule();
    },
    enqueue(fleetEvent) {
      // Before the first list there is nothing to update; the list will include the change.
      if (!snapshot.loaded) return;
      apply(editable(), fleetEvent);
      schedule();
    },
    seedHistory(agentId, points) {
      const machines = editable();
      const machine = machines.get(agentId);
      if (!machine) return;
      const firstLive = machine.cpuHistory[0]?.ts ?? Number.POSITIVE_INFINITY;
      const older = points.filter((point) => point.ts < firstLive);
      machines.set(agentId, { ...machine, cpuHistory: [...older, ...machine.cpuHistory].slice(-SPARKLINE_POINTS) });
      schedule();
    },
    flush,
  };
}
