import { readdir, readFile } from 'node:fs/promises';
import type { HeartbeatSample } from '@farol/protocol';
import type { Clock } from '../runtime/clock.js';
import { createRateMeter, loadSystemInformation, round2, type Collector, type CollectorSource } from './collector.js';
import { isPhysicalDisk, parseDiskstats } from './procfs.js';

export type DiskIoReading = HeartbeatSample['diskIo'];

/**
 * Bytes per second read from and written to physical disks, summed, since the previous call.
 * Null on the first call (no baseline yet) and where the platform does not expose it.
 */
export function createDiskIoCollector(source: CollectorSource, clock: Clock): Collector<DiskIoReading> {
  const meter = createRateMeter();
  return {
    name: 'diskIo',
    fallback: null,
    async collect() {
      if (source === 'portable') {
        const si = await loadSystemInformation();
        // fsStats gives bytes (disksIO gives operation counts); null where unsupported (Windows).
        const stats = await si.fsStats();
        if (stats?.rx_sec == null || stats.wx_sec == null) return null;
        return { readBps: round2(Math.max(0, stats.rx_sec)), writeBps: round2(Math.max(0, stats.wx_sec)) };
      }
      // /sys/block names the whole disks ("cciss!c0d0" is "cciss/c0d0" in diskstats).
      const disks = new Set((await readdir('/sys/block')).filter(isPhysicalDisk).map((name) => name.replaceAll('!', '/')));
      const counters = parseDiskstats(await readFile('/proc/diskstats', 'latin1')).filter((c) => disks.has(c.name));
      const read = counters.reduce((sum, c) => sum + c.read, 0);
      const written = counters.reduce((sum, c) => sum + c.written, 0);
      // One meter key for the sum: a disk appearing between samples resets the baseline once.
      const rate = meter.update(`disks:${counters.length}`, read, written, clock.now());
      meter.prune(new Set([`disks:${counters.length}`]));
      return rate === null ? null : { readBps: round2(rate.read), writeBps: round2(rate.written) };
    },
  };
}
