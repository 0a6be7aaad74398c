import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HeartbeatSample } from '@farol/protocol';
import { createLogger } from '../../infra/logger.js';
import { createSampleFollower, DEFAULT_FOLLOWER_TIMINGS, type StoredSample } from './sample-follower.js';

const logger = createLogger('silent');
const sample = (ts: number) => ({ ts }) as unknown as HeartbeatSample;

describe('sample follower (the leader reading what other hubs stored, issue #14)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('reads from one period before it started, then from the newest row seen minus the overlap', async () => {
    const stored: StoredSample[] = [];
    const reads: number[] = [];
    const seen: Array<[string, number]> = [];
    const follower = createSampleFollower({
      read: async (since) => {
        reads.push(since);
        return stored.filter((row) => row.storedAt > since).toSorted((a, b) => a.storedAt - b.storedAt);
      },
      onSample: (agentId, s) => void seen.push([agentId, s.ts]),
      now: () => Date.now(),
      logger,
    });
    const { everyMs, overlapMs } = DEFAULT_FOLLOWER_TIMINGS;
    stored.push({ agentId: 'old', storedAt: 1_000_000 - everyMs - overlapMs - 1, sample: sample(1) });
    stored.push({ agentId: 'a', storedAt: 999_500, sample: sample(2) });
    follower.start();
    await vi.advanceTimersByTimeAsync(everyMs);
    expect(reads).toEqual([1_000_000 - everyMs - overlapMs]);
    expect(seen).toEqual([['a', 2]]);
    // A row committed late with an older storedAt, inside the overlap, is still read.
    stored.push({ agentId: 'b', storedAt: 999_000, sample: sample(3) });
    stored.push({ agentId: 'c', storedAt: 1_001_500, sample: sample(4) });
    await vi.advanceTimersByTimeAsync(everyMs);
    expect(reads[1]).toBe(999_500 - overlapMs);
    expect(seen.slice(1)).toEqual([['b', 3], ['a', 2], ['c', 4]]);
    await follower.stop();
    await vi.advanceTimersByTimeAsync(everyMs * 3);
    expect(reads).toHaveLength(2);
  });

  it('keeps reading after a failed read', async () => {
    let calls = 0;
    const follower = createSampleFollower({
      read: async () => {
        calls++;
        if (calls === 1) throw new Error('database gone');
        return [];
      },
      onSample: () => undefined,
      now: () => Date.now(),
      logger,
    });
    follower.start();
    await vi.advanceTimersByTimeAsync(DEFAULT_FOLLOWER_TIMINGS.everyMs * 2);
    expect(calls).toBe(2);
    await follower.stop();
  });
});
