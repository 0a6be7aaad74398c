import type { HistoryMetric, MetricsResponse } from '@farol/protocol';

export const HISTORY_RANGES = ['1h', '24h', '7d', '30d', '1y'] as const;
export type HistoryRange = (typeof HISTORY_RANGES)[number];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const RANGE_MS: Record<HistoryRange, number> = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY, '1y': 365 * DAY };

/** How often a range is refreshed while shown: short ranges move, long ones barely do. */
export const RANGE_REFRESH_MS: Record<HistoryRange, number> = { '1h': 30_000, '24h': 60_000, '7d': 300_000, '30d': 600_000, '1y': 600_000 };

/** The request for a range ending at `now`; the hub picks the resolution (raw ≤ 3 h, 1 min ≤ 2 d, else 1 h). */
export function rangeQuery(range: HistoryRange, now: number): { from: number; to: number } {
  return { from: now - RANGE_MS[range], to: now };
}

/** One chart's columns: x in seconds, then avg, and min/max when the tier has them. */
export interface HistorySeries {
  x: number[];
  avg: (number | null)[];
  min: (number | null)[] | null;
  max: (number | null)[] | null;
}

/**
 * Turns a history response into chart columns for one metric. A gap longer than 2.5 steps (the
 * machine was off) becomes a null point, so the line breaks instead of bridging the outage.
 * Raw points carry only averages, so they get no band.
 */
export function toHistorySeries(response: MetricsResponse, metric: HistoryMetric): HistorySeries {
  const withBand = response.resolution !== 'raw';
  const series: HistorySeries = { x: [], avg: [], min: withBand ? [] : null, max: withBand ? [] : null };
  const gap = response.stepMs * 2.5;
  let previousTs: number | null = null;
  for (const point of response.points) {
    if (previousTs !== null && point.ts - previousTs > gap) {
      series.x.push((previousTs + response.stepMs) / 1000);
      series.avg.push(null);
      series.min?.push(null);
      series.max?.push(null);
    }
    const value = point.values[metric];
    series.x.push(point.ts / 1000);
    series.avg.push(value?.avg ?? null);
    series.min?.push(value?.min ?? null);
    series.max?.push(value?.max ?? null);
    previousTs = point.ts;
  }
  return series;
}

/** True when a metric has at least one value in the response (GPU and temperature often have none). */
export function hasValues(response: MetricsResponse, metric: HistoryMetric): boolean {
  return response.points.some((point) => point.values[metric]?.avg != null);
}
