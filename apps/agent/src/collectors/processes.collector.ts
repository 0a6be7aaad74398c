import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { ProcessSample } from '@farol/protocol';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../logging/logger.js';
import { loadSystemInformation, round2, type Collector, type CollectorSource } from './collector.js';
import { parsePasswd, parseProcStat, parseStatusUid, type ProcStat } from './procfs.js';

/** Process count and top consumers. */
export interface ProcessesReading {
  count: number | null;
  topCpu: ProcessSample[];
  topMemory: ProcessSample[];
}

const TOP = 5;
const COMMAND_MAX = 1024;
/** USER_HZ: the unit of /proc tick counters, 100 on every Linux architecture in use. */
const CLOCK_TICKS_PER_SECOND = 100;
const PASSWD_REFRESH_MS = 5 * 60_000;

const SECRET_FLAG = /^--?[\w.-]*(token|password|passwd|secret|api[-_]?key|credential)[\w.-]*$/i;
const SECRET_ASSIGNMENT = /^(--?[\w.-]*(?:token|password|passwd|secret|api[-_]?key|credential)[\w.-]*=)(.+)$/i;

/**
 * Masks values of arguments that look like secrets (`--token X`, `--password=X`), since top
 * process command lines go to the hub and into every dashboard. The agent's own join token
 * would otherwise be the first thing shown.
 */
export function redactSecrets(args: string[]): string[] {
  return args.map((arg, index) => {
    const assignment = SECRET_ASSIGNMENT.exec(arg);
    if (assignment) return `${assignment[1]}***`;
    const previous = args[index - 1];
    if (previous !== undefined && SECRET_FLAG.test(previous) && !arg.startsWith('-')) return '***';
    return arg;
  });
}

/** Reads a /proc file, or null when the process exited in between (ENOENT, ESRCH) or is not ours to read. */
function readProcFile(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch (error) {
    // Processes come and go between readdir and read; that is the normal case, not a failure.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES' || code === 'EPERM') return null;
    throw error;
  }
}

/**
 * The kernel page size, which /proc/<pid>/stat counts RSS in: 4 KiB on x86, 16 or 64 KiB on
 * some ARM kernels. Derived from our own process (VmRSS in kB vs resident pages) since Node
 * has no sysconf.
 */
export function detectPageSize(): number {
  const status = readProcFile('/proc/self/status');
  const statm = readProcFile('/proc/self/statm');
  const rssKb = status ? Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]) : NaN;
  const rssPages = statm ? Number(statm.split(' ')[1]) : NaN;
  if (!(rssKb > 0 && rssPages > 0)) return 4096;
  const estimate = (rssKb * 1024) / rssPages;
  return 2 ** Math.round(Math.log2(estimate));
}

interface ProcfsProcessesOptions {
  clock: Clock;
  logger: Logger;
  totalMemory: () => number;
  top: number;
}

function createProcfsReader(options: ProcfsProcessesOptions): () => Promise<ProcessesReading> {
  const pageSize = detectPageSize();
  let previousTicks = new Map<number, number>();
  let previousAtMs: number | null = null;
  let users = new Map<number, string>();
  let usersReadAtMs = -Infinity;

  function userOf(pid: number): string | undefined {
    const status = readProcFile(`/proc/${pid}/status`);
    const uid = status === null ? null : parseStatusUid(status);
    if (uid === null) return undefined;
    const now = options.clock.now();
    if (!users.has(uid) && now - usersReadAtMs > PASSWD_REFRESH_MS) {
      usersReadAtMs = now;
      const passwd = readProcFile('/etc/passwd');
      users = passwd === null ? new Map() : parsePasswd(passwd);
    }
    return (users.get(uid) ?? String(uid)).slice(0, 128);
  }

  function commandOf(pid: number): string | undefined {
    const cmdline = readProcFile(`/proc/${pid}/cmdline`);
    if (!cmdline) return undefined; // kernel threads have no command line
    const args = cmdline.split('\0').filter((arg) => arg !== '');
    return redactSecrets(args).join(' ').slice(0, COMMAND_MAX) || undefined;
  }

  return async () => {
    const now = options.clock.now();
    const uptimeSeconds = os.uptime();
    const stats: Array<ProcStat & { cpu: number }> = [];
    const ticks = new Map<number, number>();
    const elapsedSeconds = previousAtMs === null ? 0 : (now - previousAtMs) / 1000;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const text = readProcFile(`/proc/${entry}/stat`);
      const stat = text === null ? null : parseProcStat(text);
      if (stat === null) continue;
      ticks.set(stat.pid, stat.cpuTicks);
      const before = previousTicks.get(stat.pid);
      let cpu: number;
      if (before !== undefined && elapsedSeconds > 0) {
        cpu = (stat.cpuTicks - before) / CLOCK_TICKS_PER_SECOND / elapsedSeconds;
      } else if (elapsedSeconds > 0) {
        // Started since the previous reading: all of its CPU time falls in this window.
        cpu = stat.cpuTicks / CLOCK_TICKS_PER_SECOND / elapsedSeconds;
      } else {
        // First reading: the average over the process's life is the best figure there is.
        const lifeSeconds = uptimeSeconds - stat.startTicks / CLOCK_TICKS_PER_SECOND;
        cpu = lifeSeconds > 0 ? stat.cpuTicks / CLOCK_TICKS_PER_SECOND / lifeSeconds : 0;
      }
      stats.push({ ...stat, cpu: Math.max(0, cpu * 100) });
    }
    previousTicks = ticks;
    previousAtMs = now;

    const totalMemory = options.totalMemory();
    const toSample = (stat: ProcStat & { cpu: number }): ProcessSample => {
      const rss = stat.rssPages * pageSize;
      const user = userOf(stat.pid);
      const command = commandOf(stat.pid);
      return {
        pid: stat.pid,
        name: stat.comm.slice(0, 256),
        ...(command === undefined ? {} : { command }),
        ...(user === undefined ? {} : { user }),
        cpu: round2(stat.cpu),
        memory: totalMemory > 0 ? round2(Math.min(100, (rss / totalMemory) * 100)) : 0,
        rss,
      };
    };
    const topCpu = stats.toSorted((a, b) => b.cpu - a.cpu).slice(0, options.top);
    const topMemory = stats.toSorted((a, b) => b.rssPages - a.rssPages).slice(0, options.top);
    return { count: stats.length, topCpu: topCpu.map(toSample), topMemory: topMemory.map(toSample) };
  };
}

function fromSystemInformation(process: {
  pid: number;
  name: string;
  command: string;
  params: string;
  user: string;
  cpu: number;
  mem: number;
  memRss: number;
}): ProcessSample {
  const command = redactSecrets([process.command, ...process.params.split(' ')].filter(Boolean)).join(' ').slice(0, COMMAND_MAX);
  return {
    pid: process.pid,
    name: process.name.slice(0, 256),
    ...(command ? { command } : {}),
    ...(process.user ? { user: process.user.slice(0, 128) } : {}),
    cpu: round2(Math.max(0, process.cpu)),
    memory: round2(Math.min(100, Math.max(0, process.mem))),
    // systeminformation reports RSS in KiB.
    rss: Math.max(0, process.memRss) * 1024,
  };
}

/** The number of processes and the top five (or `top`) by CPU and by resident memory. */
export function createProcessesCollector(
  source: CollectorSource,
  options: { clock: Clock; logger: Logger; totalMemory?: () => number; top?: number },
): Collector<ProcessesReading> {
  const top = options.top ?? TOP;
  const readProcfs =
    source === 'procfs'
      ? createProcfsReader({ clock: options.clock, logger: options.logger, totalMemory: options.totalMemory ?? (() => os.totalmem()), top })
      : null;
  return {
    name: 'processes',
    fallback: { count: null, topCpu: [], topMemory: [] },
    async collect() {
      if (readProcfs) return readProcfs();
      const si = await loadSystemInformation();
      const data = await si.processes();
      return {
        count: data.all,
        topCpu: data.list.toSorted((a, b) => b.cpu - a.cpu).slice(0, top).map(fromSystemInformation),
        topMemory: data.list.toSorted((a, b) => b.memRss - a.memRss).slice(0, top).map(fromSystemInformation),
      };
    },
  };
}
