import os from 'node:os';
import {
  CONTAINER_STATES,
  MAX_CONTAINERS_PER_SAMPLE,
  type ContainerHealth,
  type ContainerSample,
  type ContainerState,
  type DockerStatus,
} from '@farol/protocol';
import type { Collector } from '../collectors/collector.js';
import { round2 } from '../collectors/collector.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';
import { DockerUnavailableError, containerPath, type DockerClient } from './docker-engine.client.js';
import type { UpdateChecker } from './update-check.js';
import type { WatchList } from './watch-list.js';

/** What the containers part of a heartbeat carries. */
export interface ContainersReading {
  docker: DockerStatus;
  containers: ContainerSample[];
}

/** Per-container requests (inspect, stats) in flight at once: a busy engine is not flooded. */
export const DEFAULT_DOCKER_CONCURRENCY = 4;
/** Longest a heartbeat waits for Docker; what is not in by then keeps its last known value. */
export const DEFAULT_DOCKER_BUDGET_MS = 2_000;

/** The subset of `GET /containers/json` the agent reads. */
interface ListedContainer {
  Id: string;
  Names?: string[];
  Image?: string;
  State?: string;
  Status?: string;
  Created?: number;
  ImageID?: string;
  Labels?: Record<string, string> | null;
}

/** The subset of `GET /containers/{id}/json`. */
interface InspectedContainer {
  RestartCount?: number;
  Config?: { Image?: string };
  State?: {
    Status?: string;
    ExitCode?: number;
    StartedAt?: string;
    Health?: { Status?: string };
  };
}

/** The subset of `GET /containers/{id}/stats?stream=false&one-shot=true`. */
interface ContainerStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

interface Remembered {
  restartCount: number;
  health: ContainerHealth;
  startedAt: number | null;
  exitCode: number | null;
  cpu: { total: number; system: number } | null;
  cpuPercent: number | null;
}

export interface ContainersCollectorOptions {
  client: DockerClient;
  watch: WatchList;
  clock: Clock;
  logger: Logger;
  budgetMs?: number;
  concurrency?: number;
  /** Registry digest checks (issue #18); without it samples carry no digest fields. */
  updates?: UpdateChecker;
}

/** A Docker timestamp in ms; null for Go's zero time ("never"). */
export function parseDockerTime(text: string | undefined): number | null {
  if (!text || text.startsWith('0001-')) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

/** Health as the list's human status shows it: "Up 3 minutes (healthy)", "(health: starting)". */
export function healthFromStatus(status: string | undefined): ContainerHealth {
  if (!status) return 'none';
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}

function toHealth(value: string | undefined): ContainerHealth {
  return value === 'healthy' || value === 'unhealthy' || value === 'starting' ? value : 'none';
}

function toState(value: string | undefined): ContainerState {
  // An engine newer than this agent may add a state: shown as `dead` (not running, not known).
  return (CONTAINER_STATES as readonly string[]).includes(value ?? '') && value !== 'missing' ? (value as ContainerState) : 'dead';
}

/**
 * CPU percent of one core between two one-shot readings, as `docker stats` computes it
 * (container delta / host delta × CPUs); null without a usable previous reading.
 */
export function cpuPercent(previous: { total: number; system: number } | null, current: { total: number; system: number }, cpus: number): number | null {
  if (!previous) return null;
  const cpuDelta = current.total - previous.total;
  const systemDelta = current.system - previous.system;
  if (systemDelta <= 0 || cpuDelta < 0) return null;
  return round2((cpuDelta / systemDelta) * cpus * 100);
}

/** Memory as `docker stats` shows it: usage minus the inactive page cache (cgroup v1 and v2 names). */
export function memoryUsed(stats: ContainerStats['memory_stats']): number | null {
  if (!stats || typeof stats.usage !== 'number') return null;
  const cache = stats.stats?.total_inactive_file ?? stats.stats?.inactive_file ?? 0;
  return Math.max(0, stats.usage - (cache < stats.usage ? cache : 0));
}

/** Runs `work` over `items` with at most `limit` at once; stops starting new ones once `signal` aborts. */
async function eachLimited<T>(items: readonly T[], limit: number, signal: AbortSignal, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A `missing` entry for a watched container that does not exist. */
export function missingContainer(entry: string): ContainerSample {
  return {
    id: '',
    name: entry,
    image: '',
    state: 'missing',
    status: 'not found on this machine',
    health: 'none',
    restartCount: 0,
    exitCode: null,
    cpuPercent: null,
    memoryBytes: null,
    memoryLimitBytes: null,
    createdAt: null,
    startedAt: null,
    watched: true,
  };
}

/**
 * The containers of this machine for every heartbeat: the list, then per container an
 * inspect (restart count, health, start time) and one-shot stats (CPU, memory), a few at a
 * time, all within a time budget so a slow engine never delays the heartbeat. Whether Docker
 * is there at all is tracked as a status that is logged when it changes, not at every beat.
 */
export function createContainersCollector(options: ContainersCollectorOptions): Collector<ContainersReading> & { status(): DockerStatus } {
  const { client, watch, clock, logger } = options;
  const budgetMs = options.budgetMs ?? DEFAULT_DOCKER_BUDGET_MS;
  const concurrency = options.concurrency ?? DEFAULT_DOCKER_CONCURRENCY;
  const endpoint = client.endpoint.label;
  const remembered = new Map<string, Remembered>();
  let status: DockerStatus = { state: 'unavailable', endpoint, version: null, error: 'not checked yet', since: clock.now() };
  let checked = false;

  function setStatus(state: DockerStatus['state'], error: string | null, version: string | null): void {
    const changed = !checked || state !== status.state;
    checked = true;
    if (!changed) {
      status = { ...status, error, version: version ?? status.version };
      return;
    }
    status = { state, endpoint, version, error, since: clock.now() };
    if (state === 'available') logger.info({ endpoint, version }, 'Docker engine reachable; reporting containers');
    else if (state === 'unavailable') logger.info({ endpoint, reason: error }, 'no Docker engine; containers are not reported until one appears');
    else logger.warn({ endpoint, reason: error }, 'Docker engine answered with an error; containers are not reported until it recovers');
  }

  async function engineVersion(signal: AbortSignal): Promise<string | null> {
    if (status.state === 'available' && status.version) return status.version;
    try {
      const version = await client.json<{ Version?: string }>({ path: '/version', signal });
      return typeof version.Version === 'string' ? version.Version.slice(0, 64) : null;
    } catch (error) {
      // The version is informative only; the list already proved the engine answers.
      logger.debug({ err: error }, 'cannot read the Docker engine version');
      return null;
    }
  }

  async function detail(sample: ContainerSample, signal: AbortSignal): Promise<void> {
    const memory = remembered.get(sample.id);
    if (memory) {
      sample.restartCount = memory.restartCount;
      sample.startedAt = memory.startedAt;
      sample.exitCode = memory.exitCode;
    }
    try {
      const inspected = await client.json<InspectedContainer>({ path: containerPath(sample.id, '/json'), signal });
      const state = inspected.State ?? {};
      sample.restartCount = Math.max(0, Math.trunc(inspected.RestartCount ?? 0));
      // The reference it was created from: the list shows the image id once the tag has moved on
      // (a newer image pulled under it), and the update check needs the tag.
      if (typeof inspected.Config?.Image === 'string' && inspected.Config.Image !== '') sample.image = inspected.Config.Image.slice(0, 1024);
      sample.startedAt = parseDockerTime(state.StartedAt);
      sample.health = state.Health ? toHealth(state.Health.Status) : sample.health;
      sample.exitCode = sample.state === 'running' || typeof state.ExitCode !== 'number' ? null : state.ExitCode;
      if (state.Status) sample.state = toState(state.Status);
    } catch (error) {
      if (signal.aborted) return;
      logger.debug({ err: error, container: sample.name }, 'cannot inspect a container');
    }
    let cpu: Remembered['cpu'] = null;
    let percent: number | null = null;
    if (sample.state === 'running') {
      try {
        const stats = await client.json<ContainerStats>({ path: containerPath(sample.id, '/stats'), query: { stream: false, 'one-shot': true }, signal });
        const usage = stats.cpu_stats;
        if (typeof usage?.cpu_usage?.total_usage === 'number' && typeof usage.system_cpu_usage === 'number') {
          const reading = { total: usage.cpu_usage.total_usage, system: usage.system_cpu_usage };
          if (memory?.cpu && reading.system === memory.cpu.system) {
            // The engine refreshes stats about once a second: a second read within that period
            // is the same reading, so keep the figure and the older baseline.
            cpu = memory.cpu;
            percent = memory.cpuPercent;
          } else {
            cpu = reading;
            const cpus = usage.online_cpus ?? usage.cpu_usage.percpu_usage?.length ?? os.availableParallelism();
            percent = cpuPercent(memory?.cpu ?? null, reading, cpus);
          }
          sample.cpuPercent = percent;
        }
        sample.memoryBytes = memoryUsed(stats.memory_stats);
        sample.memoryLimitBytes = typeof stats.memory_stats?.limit === 'number' && stats.memory_stats.limit > 0 ? stats.memory_stats.limit : null;
      } catch (error) {
        if (!signal.aborted) logger.debug({ err: error, container: sample.name }, 'cannot read container stats');
      }
    }
    remembered.set(sample.id, {
      restartCount: sample.restartCount,
      health: sample.health,
      startedAt: sample.startedAt,
      exitCode: sample.exitCode,
      cpu: cpu ?? (sample.state === 'running' ? memory?.cpu ?? null : null),
      cpuPercent: percent,
    });
  }

  function fromList(listed: ListedContainer): ContainerSample {
    const name = (listed.Names?.[0] ?? listed.Id.slice(0, 12)).replace(/^\//, '');
    return {
      id: listed.Id,
      name: name.slice(0, 256),
      image: (listed.Image ?? '').slice(0, 1024),
      state: toState(listed.State),
      status: (listed.Status ?? '').slice(0, 256),
      health: healthFromStatus(listed.Status),
      restartCount: 0,
      exitCode: null,
      cpuPercent: null,
      memoryBytes: null,
      memoryLimitBytes: null,
      createdAt: typeof listed.Created === 'number' ? listed.Created * 1000 : null,
      startedAt: null,
      watched: watch.matches(name),
    };
  }

  const missingOnly = (): ContainerSample[] => watch.missing([]).map(missingContainer);

  async function collect(): Promise<ContainersReading> {
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(), budgetMs);
    try {
      let listed: ListedContainer[];
      try {
        listed = await client.json<ListedContainer[]>({ path: '/containers/json', query: { all: true }, signal: budget.signal });
      } catch (error) {
        if (error instanceof DockerUnavailableError) {
          setStatus('unavailable', error.message, null);
          remembered.clear();
          // No engine at all: nothing that is watched can be running.
          return { docker: status, containers: missingOnly() };
        }
        const reason = budget.signal.aborted ? `the Docker engine did not list containers within ${budgetMs} ms` : (error as Error).message;
        setStatus('error', reason.slice(0, 1_000), null);
        return { docker: status, containers: [] };
      }
      const version = await engineVersion(budget.signal);
      setStatus('available', null, version);
      const samples = listed.filter((entry) => typeof entry.Id === 'string').map(fromList);
      // Watched first, so a machine with too many containers never cuts a watched one.
      samples.sort((a, b) => Number(b.watched) - Number(a.watched));
      const reported = samples.slice(0, MAX_CONTAINERS_PER_SAMPLE);
      const liveIds = new Set(reported.map((sample) => sample.id));
      for (const id of remembered.keys()) if (!liveIds.has(id)) remembered.delete(id);
      await eachLimited(reported, concurrency, budget.signal, (sample) => detail(sample, budget.signal));
      if (options.updates) {
        try {
          options.updates.annotate(reported, listed);
        } catch (error) {
          // Digests are informative; the heartbeat goes on without them.
          logger.debug({ err: error }, 'cannot annotate containers with image digests');
        }
      }
      const missing = watch.missing(samples.map((sample) => sample.name)).map(missingContainer);
      const ordered = [...reported.filter((sample) => sample.watched), ...missing, ...reported.filter((sample) => !sample.watched)];
      return { docker: status, containers: ordered.slice(0, MAX_CONTAINERS_PER_SAMPLE) };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    name: 'containers',
    collect,
    get fallback(): ContainersReading {
      return { docker: status, containers: [] };
    },
    status: () => status,
  };
}

/** The subset of `GET /containers/{id}/json` that describes one container fully. */
export interface InspectedContainerFull extends InspectedContainer {
  Id: string;
  Name?: string;
  Created?: string;
  Config?: { Image?: string; Tty?: boolean };
}

/** One container as `inspect` shows it (no resource figures: those need stats). */
export function sampleFromInspect(inspected: InspectedContainerFull, watch: WatchList): ContainerSample {
  const name = (inspected.Name ?? inspected.Id.slice(0, 12)).replace(/^\//, '').slice(0, 256);
  const state = toState(inspected.State?.Status);
  const health = toHealth(inspected.State?.Health?.Status);
  return {
    id: inspected.Id,
    name,
    image: (inspected.Config?.Image ?? '').slice(0, 1024),
    state,
    status: `${state}${health === 'none' ? '' : ` (${health})`}`,
    health,
    restartCount: Math.max(0, Math.trunc(inspected.RestartCount ?? 0)),
    exitCode: state === 'running' || typeof inspected.State?.ExitCode !== 'number' ? null : inspected.State.ExitCode,
    cpuPercent: null,
    memoryBytes: null,
    memoryLimitBytes: null,
    createdAt: parseDockerTime(inspected.Created),
    startedAt: parseDockerTime(inspected.State?.StartedAt),
    watched: watch.matches(name),
  };
}
