import os from 'node:os';
import { round2, type Collector } from './collector.js';

export type LoadAverage = [number, number, number];

/** 1, 5 and 15 minute load averages; null on Windows, which has no such thing (os returns zeros). */
export function createLoadCollector(platform: NodeJS.Platform = process.platform): Collector<LoadAverage | null> {
  return {
    name: 'load',
    fallback: null,
    async collect() {
      if (platform === 'win32') return null;
      const [one = 0, five = 0, fifteen = 0] = os.loadavg();
      return [round2(one), round2(five), round2(fifteen)];
    },
  };
}
