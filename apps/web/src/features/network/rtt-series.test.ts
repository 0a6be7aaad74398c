import { describe, expect, it } from 'vitest';
import { lossPercent, toRttSeries } from './rtt-series.js';

const agentId = 'ag_aaaaaaaaaaaaaaaa';
const point = (ts: number, p50Ms: number | null) => ({ ts, p50Ms, minMs: (p50Ms ?? 5) - 1, maxMs: (p50Ms ?? 5) + 1, n: 2 });

describe('the hub round-trip chart (#19)', () => {
  it('draws the median with a min–max band, in seconds', () => {
    expect(toRttSeries({ agentId, resolution: '1m', points: [point(60_000, 10), point(120_000, 12)] })).toEqual({ x: [60, 120], p50: [10, 12], min: [9, 11], max: [11, 13] });
  });

  it('breaks the line where the machine was away, per minute and per hour', () => {
    expect(toRttSeries({ agentId, resolution: '1m', points: [point(60_000, 10), point(600_000, 12)] }).x).toEqual([60, 120, 600]);
    const hourly = toRttSeries({ agentId, resolution: '1h', points: [point(3_600_000, 10), point(7_200_000, 11), point(36_000_000, 12)] });
    expect(hourly.x).toEqual([3_600, 7_200, 10_800, 36_000]);
    expect(hourly.p50).toEqual([10, 11, null, 12]);
  });

  it('gives lost replies in percent', () => {
    expect(lossPercent(4, 4)).toBe(0);
    expect(lossPercent(3, 2)).toBe(33.3);
    expect(lossPercent(0, 0)).toBeNull();
  });
});
