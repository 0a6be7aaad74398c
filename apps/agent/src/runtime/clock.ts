/** Time, injected wherever behaviour depends on it so tests control it. */
export interface Clock {
  /** Milliseconds since epoch. */
  now(): number;
}

/** A source of uniform random numbers in [0, 1), injected so tests control jitter. */
export type RandomSource = () => number;

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Math.random as a RandomSource (not for secrets: those use node:crypto). */
export const mathRandom: RandomSource = () => Math.random();

/**
 * Resolves after `ms`, or early (without rejecting) when `signal` aborts: every wait in the
 * agent must end promptly on shutdown.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Limits how many async tasks run at once (enrollment and connection storms). */
export interface Gate {
  run<T>(task: () => Promise<T>): Promise<T>;
}

/** A counting semaphore: at most `limit` tasks inside `run` at once, the rest queue FIFO. */
export function createGate(limit: number): Gate {
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return {
    async run(task) {
      if (active < limit) active++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
