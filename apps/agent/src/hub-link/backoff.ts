import type { RandomSource } from '../runtime/clock.js';

/** Parameters of the reconnect backoff. */
export interface BackoffOptions {
  /** First ceiling, ms (1 s in production). */
  baseMs: number;
  /** Largest ceiling, ms (`--reconnect-max`). */
  capMs: number;
  random: RandomSource;
}

/** Reconnect delays: exponential growth with full jitter, reset after a good session. */
export interface Backoff {
  /** The delay before the next attempt; each call counts one more failed attempt. */
  next(): number;
  /** Call after a verified hello, so the next outage starts from the base again. */
  reset(): void;
  readonly attempt: number;
}

/**
 * Full jitter (delay = random(0, min(cap, base * 2^attempt))): with thousands of agents
 * reconnecting after a hub restart, spreading them over the whole window avoids a thundering
 * herd, which "exponential plus a little jitter" does not.
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions): number {
  // 2^attempt overflows to Infinity long after it passes any cap; min() keeps it finite.
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** attempt);
  return Math.floor(options.random() * ceiling);
}

/** A backoff counter starting at attempt 0. */
export function createBackoff(options: BackoffOptions): Backoff {
  let attempt = 0;
  return {
    next() {
      const delay = fullJitterDelay(attempt, options);
      // Stop counting once the ceiling is the cap, so the exponent stays small.
      if (options.baseMs * 2 ** attempt < options.capMs) attempt++;
      return delay;
    },
    reset() {
      attempt = 0;
    },
    get attempt() {
      return attempt;
    },
  };
}
