import type { NetworkRttHistory } from '@farol/protocol';

export const RTT_RANGES = ['1h', '24h', '7d'] as const;
export type RttRange = (typeof RTT_RANGES)[number];
/** Hours asked of `GET /api/network/rtt/:id` per range (per minute up to 48 h, per hour beyond). */
export const RTT_RANGE_HOURS: Record<RttRange, number> = { '1h': 1, '24h': 24, '7d': 168 };
/** A round trip is measured every 25 s: short ranges move, the week barely does. */
export const RTT_REFRESH_MS: Record<RttRange, number> = { '1h': 30_000, '24h': 60_000, '7d': 300_000 };

/** Chart columns: x in seconds, the median, and the min–max band. */
export interface RttSeries {
  x: number[];
  p50: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
}

/**
 * A machine's hub round trips as chart columns. A gap longer than 2.5 steps (the machine was
 * off or away) becomes a null point, so the line breaks instead of bridging it.
 */
export function toRttSeries(history: NetworkRttHistory): RttSeries {
  const stepMs = history.resolution === '1m' ? 60_000 : 3_600_000;
  const series: RttSeries = { x: [], p50: [], min: [], max: [] };
  let previousTs: number | null = null;
  for (const point of history.points) {
    if (previousTs !== null && point.ts - previousTs > stepMs * 2.5) {
      series.x.push((previousTs + stepMs) / 1000);
      series.p50.push(null);
      series.min.push(null);
      series.max.push(null);
    }
    series.x.push(point.ts / 1000);
    series.p50.push(point.p50Ms);
    series.min.push(point.minMs);
    series.max.push(point.maxMs);
    previousTs = point.ts;
  }
  return series;
}

/** Lost replies in percent (0–100), null when nothing was sent. */
export function lossPercent(sent: number, received: number): number | null {
  return sent > 0 ? Math.round(((sent - received) / sent) * 1000) / 10 : null;
}
