import { z } from 'zod';
import { ContainerSampleSchema, DockerStatusSchema, MAX_CONTAINERS_PER_SAMPLE } from './docker.js';

/**
 * How far ahead of the hub's clock a sample may be stamped: a sample from the future would stay
 * the machine's "latest" and freeze its card. Skew beyond this is refused (fix the clock: NTP).
 */
export const MAX_SAMPLE_FUTURE_SKEW_MS = 5 * 60_000;
/** Oldest sample the hub stores (a backfill after a month offline is history nobody keeps). */
export const MAX_SAMPLE_AGE_MS = 30 * 86_400_000;

const Percent = z.number().min(0).max(1000).describe('Percent: normally 0..100; the schema allows up to 1000 because some kernels report more per core or per process');
const Bytes = z.number().nonnegative().describe('Bytes');
const Rate = z.number().nonnegative().describe('Bytes per second');
const ShortText = (max: number) => z.string().max(max);

/** A process among the top consumers. */
export const ProcessSampleSchema = z.object({
  pid: z.number().int().nonnegative(),
  name: ShortText(256),
  command: ShortText(1024).optional(),
  user: ShortText(128).optional(),
  cpu: z.number().nonnegative().describe('CPU percent of one core'),
  memory: Percent.describe('Memory percent of total'),
  rss: Bytes,
});
export type ProcessSample = z.infer<typeof ProcessSampleSchema>;

export const FilesystemSampleSchema = z.object({
  mount: ShortText(1024),
  device: ShortText(1024),
  type: ShortText(64),
  size: Bytes,
  used: Bytes,
  percent: Percent,
});
export type FilesystemSample = z.infer<typeof FilesystemSampleSchema>;

export const GpuSampleSchema = z.object({
  index: z.number().int().nonnegative(),
  name: ShortText(256),
  utilization: Percent.nullable(),
  memoryUsed: Bytes.nullable().describe('Bytes (nvidia-smi reports MiB: multiply by 1,048,576)'),
  memoryTotal: Bytes.nullable().describe('Bytes'),
  temperature: z.number().nullable().describe('°C'),
  powerWatts: z.number().nonnegative().nullable(),
});
export type GpuSample = z.infer<typeof GpuSampleSchema>;

export const NetworkInterfaceSampleSchema = z.object({
  name: ShortText(128),
  rxBps: Rate,
  txBps: Rate,
});

/**
 * One heartbeat's measurements. Fields a collector could not read are null (or an empty list):
 * a failing collector never stops the heartbeat.
 */
export const HeartbeatSampleSchema = z
  .object({
    ts: z
      .number()
      .int()
      .positive()
      .describe('When the agent took the sample, ms since epoch (agent clock). Unique per agent: a second sample with the same ts is a duplicate. The hub refuses ts more than 5 min (maxSampleFutureSkewMs) ahead of its clock or older than 30 days (maxSampleAgeMs)'),
    cpu: z.object({
      total: Percent.nullable(),
      perCore: z.array(Percent).max(1024),
      load: z.tuple([z.number(), z.number(), z.number()]).nullable().describe('1, 5, 15 min load average'),
    }),
    memory: z
      .object({
        total: Bytes,
        used: Bytes,
        available: Bytes,
        percent: Percent,
        swapTotal: Bytes,
        swapUsed: Bytes,
        swapPercent: Percent,
      })
      .nullable(),
    filesystems: z.array(FilesystemSampleSchema).max(256),
    diskIo: z.object({ readBps: Rate, writeBps: Rate }).nullable(),
    network: z
      .object({ rxBps: Rate, txBps: Rate, interfaces: z.array(NetworkInterfaceSampleSchema).max(256) })
      .nullable(),
    uptimeSeconds: z.number().nonnegative().nullable(),
    processCount: z.number().int().nonnegative().nullable(),
    topCpu: z.array(ProcessSampleSchema).max(10),
    topMemory: z.array(ProcessSampleSchema).max(10),
    temperatures: z
      .object({ cpu: z.number().nullable(), max: z.number().nullable() })
      .nullable()
      .describe('°C where the platform exposes sensors'),
    gpus: z.array(GpuSampleSchema).max(64),
    docker: DockerStatusSchema.optional().describe('Docker engine reachability (absent from agents before containers were reported)'),
    containers: z
      .array(ContainerSampleSchema)
      .max(MAX_CONTAINERS_PER_SAMPLE)
      .optional()
      .describe('Containers on the machine plus watched ones that are missing; absent from older agents'),
  })
  .meta({ id: 'HeartbeatSample' });
export type HeartbeatSample = z.infer<typeof HeartbeatSampleSchema>;

export const IpAddressSchema = z.object({
  interface: ShortText(128),
  address: ShortText(64),
  family: z.enum(['IPv4', 'IPv6']),
  isTailscale: z.boolean().describe('In 100.64.0.0/10 or fd7a:115c:a1e0::/48'),
  prefixLength: z.number().int().min(0).max(128).optional().describe('Netmask length of the interface address (issue #19, network view); absent from older agents'),
});
export type IpAddress = z.infer<typeof IpAddressSchema>;

/** Facts about a machine that change rarely: sent at hello and when they change. */
export const SystemInfoSchema = z
  .object({
    hostname: ShortText(255),
    os: ShortText(64).describe('Platform as Node names it: linux, darwin, win32, freebsd, openbsd, sunos, aix (lower case)'),
    distro: ShortText(128).describe('Distribution name, e.g. Debian, Ubuntu, macOS, Windows (/etc/os-release NAME); empty when unknown'),
    release: ShortText(128).describe('Distribution release, e.g. 13, 24.04 (/etc/os-release VERSION_ID); empty when unknown'),
    kernel: ShortText(128).describe('Kernel release, e.g. 6.12.48+deb13-amd64 (uname -r)'),
    arch: ShortText(32).describe('CPU architecture as Node names it: x64, arm64, arm, ia32, riscv64, ppc64, s390x (uname -m x86_64 is x64, aarch64 is arm64)'),
    cpuModel: ShortText(256),
    cpuCores: z.number().int().nonnegative().describe('Logical CPUs'),
    memoryTotal: Bytes,
    agentVersion: ShortText(64).describe('Free text, e.g. 0.4.1 or python-agent/0.1'),
    ips: z.array(IpAddressSchema).max(256),
  })
  .meta({ id: 'SystemInfo' });
export type SystemInfo = z.infer<typeof SystemInfoSchema>;

/**
 * The numeric series kept in history (raw, 1-minute and 1-hour tiers), each derived from a
 * sample by one function so hub, alerts and dashboard agree on what "disk" means.
 */
export const HISTORY_METRICS = [
  'cpu',
  'memory',
  'swap',
  'disk',
  'load1',
  'netRx',
  'netTx',
  'diskRead',
  'diskWrite',
  'temperature',
  'gpu',
] as const;
export type HistoryMetric = (typeof HISTORY_METRICS)[number];
export type HistoryValues = Record<HistoryMetric, number | null>;

/** Reduces a sample to the series kept in history. `disk` is the fullest filesystem. */
export function toHistoryValues(sample: HeartbeatSample): HistoryValues {
  const fullest = sample.filesystems.reduce<number | null>(
    (max, fs) => (max === null || fs.percent > max ? fs.percent : max),
    null,
  );
  const busiestGpu = sample.gpus.reduce<number | null>(
    (max, gpu) => (gpu.utilization !== null && (max === null || gpu.utilization > max) ? gpu.utilization : max),
    null,
  );
  return {
    cpu: sample.cpu.total,
    memory: sample.memory?.percent ?? null,
    swap: sample.memory?.swapPercent ?? null,
    disk: fullest,
    load1: sample.cpu.load?.[0] ?? null,
    netRx: sample.network?.rxBps ?? null,
    netTx: sample.network?.txBps ?? null,
    diskRead: sample.diskIo?.readBps ?? null,
    diskWrite: sample.diskIo?.writeBps ?? null,
    temperature: sample.temperatures?.max ?? sample.temperatures?.cpu ?? null,
    gpu: busiestGpu,
  };
}
