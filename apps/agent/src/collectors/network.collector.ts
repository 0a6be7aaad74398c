import { readFile } from 'node:fs/promises';
import type { HeartbeatSample } from '@farol/protocol';
import type { Clock } from '../runtime/clock.js';
import { createRateMeter, loadSystemInformation, round2, type Collector, type CollectorSource } from './collector.js';
import { parseNetDev } from './procfs.js';

export type NetworkReading = HeartbeatSample['network'];

/** Loopback carries no traffic into or out of the machine. */
export function isLoopbackInterface(name: string): boolean {
  return name === 'lo' || name === 'lo0' || /loopback/i.test(name);
}

const MAX_INTERFACES = 256;

/**
 * Received and transmitted bytes per second, total and per interface (loopback excluded),
 * since the previous call. Null on the first call, which only sets the baseline.
 */
export function createNetworkCollector(source: CollectorSource, clock: Clock): Collector<NetworkReading> {
  const meter = createRateMeter();
  return {
    name: 'network',
    fallback: null,
    async collect() {
      let interfaces: Array<{ name: string; rxBps: number; txBps: number }> = [];
      if (source === 'procfs') {
        const now = clock.now();
        const counters = parseNetDev(await readFile('/proc/net/dev', 'latin1')).filter((c) => !isLoopbackInterface(c.name));
        let withoutBaseline = 0;
        for (const counter of counters) {
          const rate = meter.update(counter.name, counter.read, counter.written, now);
          if (rate === null) {
            // A new interface (or the first call) has no baseline yet; it counts from the next sample.
            withoutBaseline++;
            continue;
          }
          interfaces.push({ name: counter.name.slice(0, 128), rxBps: round2(rate.read), txBps: round2(rate.written) });
        }
        meter.prune(new Set(counters.map((c) => c.name)));
        if (counters.length > 0 && withoutBaseline === counters.length) return null;
      } else {
        const si = await loadSystemInformation();
        const stats = await si.networkStats('*');
        interfaces = stats
          .filter((s) => !isLoopbackInterface(s.iface) && Number.isFinite(s.rx_sec) && Number.isFinite(s.tx_sec))
          .map((s) => ({ name: s.iface.slice(0, 128), rxBps: round2(Math.max(0, s.rx_sec)), txBps: round2(Math.max(0, s.tx_sec)) }));
        if (interfaces.length === 0 && stats.some((s) => !isLoopbackInterface(s.iface))) return null;
      }
      const rxBps = round2(interfaces.reduce((sum, i) => sum + i.rxBps, 0));
      const txBps = round2(interfaces.reduce((sum, i) => sum + i.txBps, 0));
      if (interfaces.length > MAX_INTERFACES) {
        // Hosts with thousands of veth pairs: list the busiest (the totals still count all).
        interfaces = interfaces.toSorted((a, b) => b.rxBps + b.txBps - (a.rxBps + a.txBps)).slice(0, MAX_INTERFACES);
      }
      return { rxBps, txBps, interfaces };
    },
  };
}
