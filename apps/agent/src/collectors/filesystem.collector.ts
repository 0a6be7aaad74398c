import { readFile, statfs } from 'node:fs/promises';
import type { FilesystemSample } from '@farol/protocol';
import type { Logger } from '../logging/logger.js';
import { loadSystemInformation, round2, type Collector, type CollectorSource } from './collector.js';
import { parseMounts, type MountEntry } from './procfs.js';

/** Filesystems that hold no user data: kernel interfaces, RAM disks, container layers, images. */
const PSEUDO_FILESYSTEMS = new Set([
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devfs', 'devpts', 'devtmpfs',
  'efivarfs', 'fusectl', 'hugetlbfs', 'mqueue', 'nsfs', 'nfsd', 'overlay', 'overlayfs', 'proc', 'pstore',
  'ramfs', 'rpc_pipefs', 'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs', 'tracefs', 'aufs',
  'fuse.lxcfs', 'fuse.gvfsd-fuse', 'fuse.portal', 'fuse.snapfuse', 'iso9660', 'udf', 'none', 'nullfs',
  'map', 'lofs', 'fdesc',
]);

/** True for filesystems worth reporting (real disks, network shares, ZFS datasets). */
export function isRealFilesystem(type: string): boolean {
  const lower = type.toLowerCase();
  return !PSEUDO_FILESYSTEMS.has(lower) && !lower.startsWith('cgroup');
}

/** A hung NFS server makes statfs block; give up on that mount for this sample after this. */
const STATFS_TIMEOUT_MS = 2_000;

function toSample(entry: MountEntry, size: number, used: number, available: number): FilesystemSample {
  return {
    mount: entry.mount.slice(0, 1024),
    device: entry.device.slice(0, 1024),
    type: entry.type.slice(0, 64),
    size,
    used,
    // As df computes Use%: blocks reserved for root count as neither used nor available.
    percent: used + available > 0 ? round2((used / (used + available)) * 100) : 0,
  };
}

/** Keeps the first mount of each device: bind mounts repeat the same filesystem. */
function uniqueRealMounts(entries: MountEntry[]): MountEntry[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    if (!isRealFilesystem(entry.type) || seen.has(entry.device)) return false;
    seen.add(entry.device);
    return true;
  });
}

/** Every real filesystem with size, used bytes and percent used. */
export function createFilesystemCollector(source: CollectorSource, logger: Logger): Collector<FilesystemSample[]> {
  // Mounts whose statfs has not returned: never stack a second call on a hung server.
  const pending = new Set<string>();

  async function statMount(entry: MountEntry): Promise<FilesystemSample | null> {
    if (pending.has(entry.mount)) return null;
    pending.add(entry.mount);
    const call = statfs(entry.mount).finally(() => pending.delete(entry.mount));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STATFS_TIMEOUT_MS);
    });
    try {
      const stats = await Promise.race([call, timeout]);
      if (stats === 'timeout') {
        logger.debug({ mount: entry.mount }, 'statfs timed out; skipping this mount for now');
        return null;
      }
      const size = stats.blocks * stats.bsize;
      if (size === 0) return null;
      return toSample(entry, size, (stats.blocks - stats.bfree) * stats.bsize, stats.bavail * stats.bsize);
    } catch (error) {
      // A mount we may not read (EACCES) or that vanished since /proc/mounts was read is
      // simply not reported.
      logger.debug({ mount: entry.mount, err: error }, 'cannot stat mount');
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    name: 'filesystems',
    fallback: [],
    async collect() {
      if (source === 'procfs') {
        const mounts = uniqueRealMounts(parseMounts(await readFile('/proc/self/mounts', 'utf8')));
        const samples = await Promise.all(mounts.map(statMount));
        return samples.filter((sample): sample is FilesystemSample => sample !== null).slice(0, 256);
      }
      const si = await loadSystemInformation();
      const sizes = await si.fsSize();
      const real = new Set(uniqueRealMounts(sizes.map((fs) => ({ device: fs.fs, mount: fs.mount, type: fs.type }))).map((e) => e.mount));
      const samples = sizes
        .filter((fs) => fs.size > 0 && real.has(fs.mount))
        .map((fs) =>
          toSample({ device: fs.fs, mount: fs.mount, type: fs.type }, fs.size, fs.used, fs.available ?? Math.max(0, fs.size - fs.used)),
        );
      return samples.slice(0, 256);
    },
  };
}
