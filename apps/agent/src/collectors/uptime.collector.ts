import os from 'node:os';
import type { Collector } from './collector.js';

/** Seconds since the machine booted. */
export function createUptimeCollector(): Collector<number | null> {
  return {
    name: 'uptime',
    fallback: null,
    async collect() {
      return Math.floor(os.uptime());
    },
  };
}
