import { describe, expect, it } from 'vitest';
import { createLatencyRecorder } from './latency-recorder.js';

describe('latency recorder', () => {
  it('reports nearest-rank percentiles over every recorded value', () => {
    const recorder = createLatencyRecorder();
    for (let ms = 100; ms >= 1; ms--) recorder.record(ms);
    expect(recorder.summary()).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
  });

  it('keeps every value past its initial capacity', () => {
    const recorder = createLatencyRecorder();
    for (let i = 0; i < 10_000; i++) recorder.record(i === 9_999 ? 5_000 : 1);
    expect(recorder.summary()).toMatchObject({ count: 10_000, p99: 1, max: 5_000 });
  });

  it('says null rather than zero when nothing was measured', () => {
    expect(createLatencyRecorder().summary()).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null, mean: null });
  });
});
