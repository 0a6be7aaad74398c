/** Percentiles of heartbeat latency, in ms. */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Collects latencies compactly (8 bytes each, in growing typed arrays). */
export interface LatencyRecorder {
  record(ms: number): void;
  summary(): LatencySummary;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** An empty recorder. */
export function createLatencyRecorder(): LatencyRecorder {
  let values = new Float64Array(4096);
  let count = 0;
  const round = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 100) / 100);
  return {
    record(ms) {
      if (count === values.length) {
        const grown = new Float64Array(values.length * 2);
        grown.set(values);
        values = grown;
      }
      values[count++] = ms;
    },
    summary() {
      const sorted = values.slice(0, count).sort();
      let sum = 0;
      for (const value of sorted) sum += value;
      return {
        count,
        p50: round(percentile(sorted, 50)),
        p90: round(percentile(sorted, 90)),
        p99: round(percentile(sorted, 99)),
        max: round(count === 0 ? null : sorted[count - 1]!),
        mean: round(count === 0 ? null : sum / count),
      };
    },
  };
}
