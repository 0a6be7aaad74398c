import type { HeartbeatSample, MetricPoint, MetricsResponse } from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { hasValues, rangeQuery, toHistorySeries } from './history.js';
import { appendLiveSample, toLiveSeries } from './live-buffer.js';

function point(ts: number, cpu: number | null, spread = 0): MetricPoint {
  const empty = { avg: null, min: null, max: null };
  return {
    ts,
    values: {
      cpu: cpu === null ? empty : { avg: cpu, min: cpu - spread, max: cpu + spread },
      memory: empty, swap: empty, disk: empty, load1: empty, netRx: empty, netTx: empty,
      diskRead: empty, diskWrite: empty, temperature: empty, gpu: empty,
    },
  };
}

function response(resolution: MetricsResponse['resolution'], stepMs: number, points: MetricPoint[]): MetricsResponse {
  return { agentId: 'ag_aaaaaaaaaaaaaaaa', from: 0, to: 0, resolution, stepMs, points };
}

describe('history', () => {
  it('asks for the range ending now', () => {
    expect(rangeQuery('24h', 100_000_000)).toEqual({ from: 100_000_000 - 86_400_000, to: 100_000_000 });
  });

  it('draws rollups as an average with a min–max band, in seconds', () => {
    const series = toHistorySeries(response('1m', 60_000, [point(60_000, 10, 5), point(120_000, 20, 5)]), 'cpu');
    expect(series).toEqual({ x: [60, 120], avg: [10, 20], min: [5, 15], max: [15, 25] });
  });

  it('gives raw points no band', () => {
    const series = toHistorySeries(response('raw', 10_000, [point(10_000, 1), point(20_000, 2)]), 'cpu');
    expect(series.min).toBeNull();
    expect(series.max).toBeNull();
  });

  it('breaks the line where the machine was silent', () => {
    const series = toHistorySeries(response('1m', 60_000, [point(60_000, 1), point(120_000, 2), point(600_000, 3)]), 'cpu');
    expect(series.x).toEqual([60, 120, 180, 600]);
    expect(series.avg).toEqual([1, 2, null, 3]);
  });

  it('knows when a metric has no values at all (no GPU)', () => {
    const data = response('raw', 10_000, [point(10_000, 5)]);
    expect(hasValues(data, 'cpu')).toBe(true);
    expect(hasValues(data, 'gpu')).toBe(false);
  });
});

describe('the live buffer', () => {
  const sample = (ts: number, cpu: number) => ({ ts, cpu: { total: cpu, perCore: [], load: null }, memory: null, network: { rxBps: 1, txBps: 2, interfaces: [] }, diskIo: null }) as unknown as HeartbeatSample;

  it('keeps the newest samples in order and drops repeats', () => {
    let samples: readonly HeartbeatSample[] = [];
    for (let i = 1; i <= 5; i += 1) samples = appendLiveSample(samples, sample(i * 1_000, i), 3);
    samples = appendLiveSample(samples, sample(4_000, 99), 3);
    expect(samples.map((s) => s.ts)).toEqual([3_000, 4_000, 5_000]);
  });

  it('turns samples into chart columns', () => {
    const series = toLiveSeries([sample(1_000, 10), sample(2_000, 20)]);
    expect(series.x).toEqual([1, 2]);
    expect(series.cpu).toEqual([10, 20]);
    expect(series.memory).toEqual([null, null]);
    expect(series.tx).toEqual([2, 2]);
  });
});
