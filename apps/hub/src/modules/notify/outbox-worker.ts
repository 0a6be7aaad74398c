import type { Clock } from '../../infra/clock.js';

/** The timer functions the worker arms; tests pass their own to drive it without waiting. */
export interface WorkerTimers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: WorkerTimers = {
  set: (callback, delayMs) => setTimeout(callback, delayMs),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface OutboxWorkerDeps {
  /** Starts delivering what is due now; does not wait for the deliveries. */
  scan(): Promise<void>;
  /** Housekeeping between a scan and the next arming (pruning old rows). */
  afterScan(): Promise<void>;
  /** The earliest `next_attempt_at` of a pending row, or null when nothing is pending. */
  nextDueAt(): Promise<number | null>;
  /** True while some delivery runs: its end wakes the worker again. */
  isDelivering(): boolean;
  clock: Clock;
  timers: WorkerTimers;
  /** Even with nothing due, look again this often (rows written by another hub, clock jumps). */
  idlePollMs: number;
  /** While a delivery runs and a row is already due, look again this often. */
  busyPollMs: number;
  onError(error: unknown): void;
}

/**
 * When the outbox looks at its rows: at once when woken, then at the earliest row's due time.
 * One pass (scan, housekeeping, reading the next due time, arming) runs at a time, and a wake-up
 * during a pass runs another pass after it, so the timer is always armed from a reading taken
 * after the last change. A row found due by that reading but missed by the scan (a timer fires a
 * millisecond before the row is due by the clock) is looked at again at once, not at the idle
 * poll (#21: a restarted hub retried a pending delivery 30 s late).
 */
export function createOutboxWorker(deps: OutboxWorkerDeps) {
  const { clock, timers } = deps;
  let timer: unknown;
  let running: Promise<void> | undefined;
  let again = false;
  let active = false;

  function arm(delayMs: number): void {
    if (!active) return;
    if (timer !== undefined) timers.clear(timer);
    timer = timers.set(() => {
      timer = undefined;
      wake();
    }, Math.max(0, Math.min(delayMs, deps.idlePollMs)));
  }

  /** How long to wait after a pass, from the next due time read at its end. */
  function delayAfter(next: number | null): number {
    if (next === null) return deps.idlePollMs;
    const now = clock.now();
    if (next > now) return next - now;
    // Due already: a running delivery holds it (its end wakes us), or the scan just missed it.
    return deps.isDelivering() ? deps.busyPollMs : 0;
  }

  async function pass(): Promise<number> {
    await deps.scan();
    await deps.afterScan();
    return delayAfter(await deps.nextDueAt());
  }

  /** Runs a pass now, or right after the one in progress. */
  function wake(): void {
    if (!active) return;
    if (running) {
      again = true;
      return;
    }
    again = false;
    running = pass()
      .catch((error: unknown) => {
        deps.onError(error);
        return deps.idlePollMs;
      })
      .then((delayMs) => {
        running = undefined;
        // Something changed while this pass read the rows: its reading may be stale.
        if (again) wake();
        else arm(delayMs);
      });
  }

  return {
    start(): void {
      active = true;
      wake();
    },
    wake,
    /** Stops arming and waits for the pass in progress (not for the deliveries it started). */
    async stop(): Promise<void> {
      active = false;
      if (timer !== undefined) timers.clear(timer);
      timer = undefined;
      await running;
    },
  };
}
export type OutboxWorker = ReturnType<typeof createOutboxWorker>;
