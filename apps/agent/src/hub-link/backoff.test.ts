import { describe, expect, it } from 'vitest';
import { createBackoff, fullJitterDelay } from './backoff.js';

const almostOne = 0.999_999;

describe('reconnect backoff', () => {
  it('doubles the ceiling per attempt from a 1 s base until the cap', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7, 20].map((attempt) =>
      fullJitterDelay(attempt, { baseMs: 1_000, capMs: 60_000, random: () => almostOne }),
    );
    expect(ceilings).toEqual([999, 1_999, 3_999, 7_999, 15_999, 31_999, 59_999, 59_999, 59_999]);
  });

  it('can wait zero: full jitter draws from the whole window, not just its upper half', () => {
    expect(fullJitterDelay(5, { baseMs: 1_000, capMs: 60_000, random: () => 0 })).toBe(0);
  });

  it('stays within [0, min(cap, base * 2^attempt)) for any random draw', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const backoff = createBackoff({ baseMs: 1_000, capMs: 10_000, random });
    for (let attempt = 0; attempt < 50; attempt++) {
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(10_000, 1_000 * 2 ** attempt));
    }
  });

  it('starts again from the base after a successful hello', () => {
    const backoff = createBackoff({ baseMs: 1_000, capMs: 60_000, random: () => almostOne });
    for (let i = 0; i < 10; i++) backoff.next();
    expect(backoff.next()).toBe(59_999);
    backoff.reset();
    expect(backoff.next()).toBe(999);
    expect(backoff.next()).toBe(1_999);
  });

  it('never exceeds the cap even after thousands of failures', () => {
    const backoff = createBackoff({ baseMs: 1_000, capMs: 60_000, random: () => almostOne });
    let last = 0;
    for (let i = 0; i < 5_000; i++) last = backoff.next();
    expect(last).toBe(59_999);
    expect(backoff.attempt).toBeLessThan(10);
  });
});
