import os from 'node:os';
import { HeartbeatSampleSchema, type FilesystemSample, type GpuSample, type HeartbeatSample } from '@farol/protocol';
import type { ContainersReading } from '../docker/containers.collector.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';
import { defaultCollectorSource, type Collector, type CollectorSource } from './collector.js';
import { createCpuCollector, type CpuReading } from './cpu.collector.js';
import { createDiskIoCollector, type DiskIoReading } from './disk-io.collector.js';
import { createFilesystemCollector } from './filesystem.collector.js';
import { createGpuCollector } from './gpu.collector.js';
import { createLoadCollector, type LoadAverage } from './load.collector.js';
import { createMemoryCollector, type MemoryReading } from './memory.collector.js';
import { createNetworkCollector, type NetworkReading } from './network.collector.js';
import { createProcessesCollector, type ProcessesReading } from './processes.collector.js';
import { createTemperatureCollector, type TemperatureReading } from './temperature.collector.js';
import { createUptimeCollector } from './uptime.collector.js';

/** One collector per part of a heartbeat sample. */
export interface SampleCollectors {
  cpu: Collector<CpuReading>;
  load: Collector<LoadAverage | null>;
  memory: Collector<MemoryReading>;
  filesystems: Collector<FilesystemSample[]>;
  diskIo: Collector<DiskIoReading>;
  network: Collector<NetworkReading>;
  uptime: Collector<number | null>;
  processes: Collector<ProcessesReading>;
  temperatures: Collector<TemperatureReading>;
  gpus: Collector<GpuSample[]>;
}

type CollectorKey = keyof SampleCollectors;
type ReadingOf<K extends CollectorKey> = SampleCollectors[K]['fallback'];
type Readings = { [K in CollectorKey]: ReadingOf<K> };

/** The real collectors for this machine. */
export function createDefaultCollectors(options: {
  clock: Clock;
  logger: Logger;
  source?: CollectorSource;
  env?: NodeJS.ProcessEnv;
}): SampleCollectors {
  const source = options.source ?? defaultCollectorSource();
  return {
    cpu: createCpuCollector(),
    load: createLoadCollector(),
    memory: createMemoryCollector(source),
    filesystems: createFilesystemCollector(source, options.logger),
    diskIo: createDiskIoCollector(source, options.clock),
    network: createNetworkCollector(source, options.clock),
    uptime: createUptimeCollector(),
    processes: createProcessesCollector(source, { clock: options.clock, logger: options.logger, totalMemory: () => os.totalmem() }),
    temperatures: createTemperatureCollector(source),
    gpus: createGpuCollector({ logger: options.logger, ...(options.env ? { env: options.env } : {}) }),
  };
}

/** Takes heartbeat samples; never throws because of a collector. */
export interface Sampler {
  /** Runs every collector once to set rate baselines (CPU, disk, network, process CPU). */
  prime(): Promise<void>;
  sample(): Promise<HeartbeatSample>;
}

/** The collector responsible for the field at `path` of a sample. */
function ownerOf(path: PropertyKey[]): CollectorKey | null {
  const [top, second] = path;
  if (top === 'cpu') return second === 'load' ? 'load' : 'cpu';
  if (top === 'processCount' || top === 'topCpu' || top === 'topMemory') return 'processes';
  if (top === 'uptimeSeconds') return 'uptime';
  if (typeof top === 'string' && top in FIELD_OWNERS) return FIELD_OWNERS[top]!;
  return null;
}

const FIELD_OWNERS: Record<string, CollectorKey> = {
  memory: 'memory',
  filesystems: 'filesystems',
  diskIo: 'diskIo',
  network: 'network',
  temperatures: 'temperatures',
  gpus: 'gpus',
};

/**
 * Combines the collectors into schema-valid samples. A collector that throws, or whose output
 * fails the schema, is logged once (warn) per failure streak, then at debug until it recovers,
 * and its part of the sample is its fallback.
 */
export function createSampler(options: {
  collectors: SampleCollectors;
  clock: Clock;
  logger: Logger;
  /** Docker containers; when given, every sample carries `docker` and `containers`. */
  containers?: Collector<ContainersReading>;
}): Sampler {
  const { collectors, logger } = options;
  const failing = new Set<CollectorKey>();

  /** The containers part; the collector handles Docker's absence itself, so a throw is a bug worth a warning. */
  async function runContainers(): Promise<ContainersReading | null> {
    const collector = options.containers;
    if (!collector) return null;
    try {
      return await collector.collect();
    } catch (error) {
      logger.warn({ collector: collector.name, err: error }, 'containers collector failed; this sample carries none');
      return collector.fallback;
    }
  }

  function reportFailure(key: CollectorKey, error: unknown): void {
    if (failing.has(key)) {
      logger.debug({ collector: collectors[key].name, err: error }, 'collector still failing');
      return;
    }
    failing.add(key);
    logger.warn({ collector: collectors[key].name, err: error }, 'collector failed; reporting no value until it recovers');
  }

  async function run<K extends CollectorKey>(key: K): Promise<ReadingOf<K>> {
    const collector = collectors[key];
    try {
      const value = (await collector.collect()) as ReadingOf<K>;
      if (failing.delete(key)) logger.info({ collector: collector.name }, 'collector recovered');
      return value;
    } catch (error) {
      reportFailure(key, error);
      return collector.fallback as ReadingOf<K>;
    }
  }

  function assemble(parts: Readings, ts: number): HeartbeatSample {
    return {
      ts,
      cpu: { total: parts.cpu.total, perCore: parts.cpu.perCore, load: parts.load },
      memory: parts.memory,
      filesystems: parts.filesystems,
      diskIo: parts.diskIo,
      network: parts.network,
      uptimeSeconds: parts.uptime,
      processCount: parts.processes.count,
      topCpu: parts.processes.topCpu,
      topMemory: parts.processes.topMemory,
      temperatures: parts.temperatures,
      gpus: parts.gpus,
    };
  }

  async function collectAll(): Promise<Readings> {
    const [cpu, load, memory, filesystems, diskIo, network, uptime, processes, temperatures, gpus] = await Promise.all([
      run('cpu'),
      run('load'),
      run('memory'),
      run('filesystems'),
      run('diskIo'),
      run('network'),
      run('uptime'),
      run('processes'),
      run('temperatures'),
      run('gpus'),
    ]);
    return { cpu, load, memory, filesystems, diskIo, network, uptime, processes, temperatures, gpus };
  }

  return {
    async prime() {
      await collectAll();
    },
    async sample() {
      const ts = options.clock.now();
      const [parts, containers] = await Promise.all([collectAll(), runContainers()]);
      const sample = assemble(parts, ts);
      if (containers) Object.assign(sample, { docker: containers.docker, containers: containers.containers });
      let checked = HeartbeatSampleSchema.safeParse(sample);
      const containersIssue = checked.error?.issues.find((issue) => issue.path[0] === 'containers' || issue.path[0] === 'docker');
      if (containersIssue) {
        logger.warn({ collector: 'containers', reason: containersIssue.message, path: containersIssue.path.join('.') }, 'containers failed the schema; this sample carries none');
        checked = HeartbeatSampleSchema.safeParse(assemble(parts, ts));
      }
      if (checked.success) return checked.data;
      // A collector produced something the hub would refuse: blank that collector's part
      // rather than lose the whole heartbeat.
      const culprits = new Set(checked.error.issues.map((issue) => ownerOf(issue.path)));
      for (const key of culprits) {
        if (key === null) throw new Error('heartbeat sample failed validation outside any collector', { cause: checked.error });
        reportFailure(key, new Error(`output failed the schema: ${checked.error.issues.find((i) => ownerOf(i.path) === key)?.message}`));
        (parts as Record<CollectorKey, unknown>)[key] = collectors[key].fallback;
      }
      return HeartbeatSampleSchema.parse(assemble(parts, ts));
    },
  };
}
