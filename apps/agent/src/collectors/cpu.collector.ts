import os from 'node:os';
import { round2, type Collector } from './collector.js';

/** CPU busy percent, total and per core. */
export interface CpuReading {
  total: number | null;
  perCore: number[];
}

interface CoreTimes {
  busy: number;
  all: number;
}

type CpuTimesSource = () => os.CpuInfo[];

function timesOf(cpu: os.CpuInfo): CoreTimes {
  const { user, nice, sys, idle, irq } = cpu.times;
  const all = user + nice + sys + idle + irq;
  return { busy: all - idle, all };
}

function percent(busy: number, all: number): number {
  return all > 0 ? round2(Math.min(100, Math.max(0, (busy / all) * 100))) : 0;
}

/**
 * CPU busy percent, total and per core, over the time since the previous call (the first call
 * covers the time since boot). Uses os.cpus(), which reads the kernel's counters on every
 * platform: the same figures systeminformation's currentLoad computes, without loading it.
 */
export function createCpuCollector(readTimes: CpuTimesSource = () => os.cpus()): Collector<CpuReading> {
  let previous: CoreTimes[] = [];
  return {
    name: 'cpu',
    fallback: { total: null, perCore: [] },
    async collect() {
      const current = readTimes().map(timesOf);
      if (current.length === 0) throw new Error('the platform reports no CPUs');
      // A CPU hot-plugged in or out changes the count: restart the baseline from boot.
      const base = previous.length === current.length ? previous : current.map(() => ({ busy: 0, all: 0 }));
      previous = current;
      let busy = 0;
      let all = 0;
      const perCore = current.map((core, index) => {
        const dBusy = core.busy - base[index]!.busy;
        const dAll = core.all - base[index]!.all;
        busy += dBusy;
        all += dAll;
        return percent(dBusy, dAll);
      });
      return { total: percent(busy, all), perCore: perCore.slice(0, 1024) };
    },
  };
}
