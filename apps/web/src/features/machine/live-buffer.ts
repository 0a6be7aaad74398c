import type { HeartbeatSample } from '@farol/protocol';

/** Live samples kept while a machine page is open: 5 minutes at one a second. */
export const LIVE_CAPACITY = 300;

/** Appends a live sample, dropping repeats and out-of-order ones and keeping the newest `capacity`. */
export function appendLiveSample(samples: readonly HeartbeatSample[], sample: HeartbeatSample, capacity = LIVE_CAPACITY): readonly HeartbeatSample[] {
  const last = samples.at(-1);
  if (last && sample.ts <= last.ts) return samples;
  const next = samples.length >= capacity ? samples.slice(samples.length - capacity + 1) : samples.slice();
  next.push(sample);
  return next;
}

/** Columns for the live charts: x in seconds (uPlot's unit), one array per series. */
export interface LiveSeries {
  x: number[];
  cpu: (number | null)[];
  memory: (number | null)[];
  rx: (number | null)[];
  tx: (number | null)[];
  read: (number | null)[];
  write: (number | null)[];
}

export function toLiveSeries(samples: readonly HeartbeatSample[]): LiveSeries {
  const series: LiveSeries = { x: [], cpu: [], memory: [], rx: [], tx: [], read: [], write: [] };
  for (const sample of samples) {
    series.x.push(sample.ts / 1000);
    series.cpu.push(sample.cpu.total);
    series.memory.push(sample.memory?.percent ?? null);
    series.rx.push(sample.network?.rxBps ?? null);
    series.tx.push(sample.network?.txBps ?? null);
    series.read.push(sample.diskIo?.readBps ?? null);
    series.write.push(sample.diskIo?.writeBps ?? null);
  }
  return series;
}
