import { readFile } from 'node:fs/promises';
import type { HeartbeatSample } from '@farol/protocol';
import { loadSystemInformation, round2, type Collector, type CollectorSource } from './collector.js';
import { parseMeminfo } from './procfs.js';

export type MemoryReading = HeartbeatSample['memory'];

function toReading(total: number, available: number, swapTotal: number, swapUsed: number): NonNullable<MemoryReading> {
  // "Used" is what applications hold: total minus what the kernel could hand out now
  // (free memory plus reclaimable caches), as `free` and htop count it.
  const used = Math.max(0, total - available);
  return {
    total,
    used,
    available,
    percent: total > 0 ? round2((used / total) * 100) : 0,
    swapTotal,
    swapUsed,
    swapPercent: swapTotal > 0 ? round2((swapUsed / swapTotal) * 100) : 0,
  };
}

/** Memory and swap, in bytes. */
export function createMemoryCollector(source: CollectorSource): Collector<MemoryReading> {
  return {
    name: 'memory',
    fallback: null,
    async collect() {
      if (source === 'procfs') {
        const info = parseMeminfo(await readFile('/proc/meminfo', 'latin1'));
        return toReading(info.total, info.available, info.swapTotal, Math.max(0, info.swapTotal - info.swapFree));
      }
      const si = await loadSystemInformation();
      const mem = await si.mem();
      return toReading(mem.total, mem.available, mem.swaptotal, mem.swapused);
    },
  };
}
