/**
 * Waits `ms`, or less when `signal` aborts; never rejects. The abort listener is removed when
 * the wait ends by itself, so a loop that pauses on one long-lived signal (a leader's poller
 * waits every 15 s for as long as it leads) does not pile listeners up on it.
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const stop = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal.addEventListener('abort', stop, { once: true });
  });
}

/** Lets the event loop run what waits (socket reads, timers) before the caller goes on: long work in steps. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
