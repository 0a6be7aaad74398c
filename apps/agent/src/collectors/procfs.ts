/**
 * Parsers for Linux /proc and /etc text. On Linux the collectors read these files directly
 * instead of calling systeminformation, which shells out (`lsblk`, `cat`, `ps`, `df`) on every
 * call: at a 10 s heartbeat that would cost far more than the agent's 0.5 % CPU budget.
 * Everything here is a pure function of the file's text.
 */

export interface MemInfo {
  total: number;
  available: number;
  swapTotal: number;
  swapFree: number;
}

/** /proc/meminfo → bytes. Kernels before 3.14 lack MemAvailable: estimate it as free + caches. */
export function parseMeminfo(text: string): MemInfo {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (match) kb.set(match[1]!, Number(match[2]));
  }
  const total = kb.get('MemTotal');
  if (total === undefined) throw new Error('/proc/meminfo has no MemTotal');
  const available =
    kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  return {
    total: total * 1024,
    available: Math.min(available, total) * 1024,
    swapTotal: (kb.get('SwapTotal') ?? 0) * 1024,
    swapFree: (kb.get('SwapFree') ?? 0) * 1024,
  };
}

/** One line of /proc/self/mounts. */
export interface MountEntry {
  device: string;
  mount: string;
  type: string;
}

/** Mount paths in /proc/mounts escape space, tab, newline and backslash as octal (\040). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** /proc/self/mounts → entries, in mount order. */
export function parseMounts(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 3) continue;
    entries.push({ device: unescapeMountField(fields[0]!), mount: unescapeMountField(fields[1]!), type: fields[2]! });
  }
  return entries;
}

/** Cumulative byte counters of one interface or disk. */
export interface ByteCounters {
  name: string;
  read: number;
  written: number;
}

/** /proc/net/dev → received (read) and transmitted (written) bytes per interface. */
export function parseNetDev(text: string): ByteCounters[] {
  const counters: ByteCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    if (fields.length < 9) continue;
    counters.push({ name, read: Number(fields[0]), written: Number(fields[8]) });
  }
  return counters;
}

/** The kernel counts disk I/O in 512-byte sectors whatever the device's real sector size. */
const SECTOR_BYTES = 512;

/** /proc/diskstats → bytes read and written per block device. */
export function parseDiskstats(text: string): ByteCounters[] {
  const counters: ByteCounters[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    counters.push({
      name: fields[2]!,
      read: Number(fields[5]) * SECTOR_BYTES,
      written: Number(fields[9]) * SECTOR_BYTES,
    });
  }
  return counters;
}

/**
 * Whole disks worth summing. Partitions are not in /sys/block; device-mapper, md RAID and
 * loop devices sit on top of real disks, so counting them would count the same bytes twice.
 */
export function isPhysicalDisk(name: string): boolean {
  return !/^(loop|ram|zram|dm-|md|nbd|fd|sr|drbd)\d/.test(name);
}

/** The fields of /proc/<pid>/stat the process collector uses. */
export interface ProcStat {
  pid: number;
  comm: string;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Start time after boot, in clock ticks. */
  startTicks: number;
  /** Resident set, in pages. */
  rssPages: number;
}

/** /proc/<pid>/stat. `comm` may contain spaces and parentheses, so split after the last ')'. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // Fields after ")" start at field 3 (state); field n of proc(5) is rest[n - 3].
  const rest = text.slice(close + 2).split(' ');
  if (rest.length < 22) return null;
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    cpuTicks: Number(rest[11]) + Number(rest[12]),
    startTicks: Number(rest[19]),
    rssPages: Number(rest[21]),
  };
}

/** The real uid from /proc/<pid>/status, or null. */
export function parseStatusUid(text: string): number | null {
  const match = /^Uid:\s+(\d+)/m.exec(text);
  return match ? Number(match[1]) : null;
}

/** /etc/passwd → uid to user name. */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 3 || line.startsWith('#')) continue;
    const uid = Number(fields[2]);
    if (Number.isInteger(uid) && !users.has(uid)) users.set(uid, fields[0]!);
  }
  return users;
}

/** /etc/os-release (shell-style KEY="value" lines) → map. */
export function parseOsRelease(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    let value = match[2]!;
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    values.set(match[1]!, value.replace(/\\(["$`\\])/g, '$1'));
  }
  return values;
}
