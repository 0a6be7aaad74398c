import { describe, expect, it } from 'vitest';
import { createOutboxWorker, type OutboxWorkerDeps, type WorkerTimers } from './outbox-worker.js';

const T0 = Date.UTC(2026, 11, 6, 6, 0, 0);
const IDLE = 30_000;

/** Timers that only record what was armed; the test fires them. */
function manualTimers() {
  let nextHandle = 0;
  const armed = new Map<number, { callback: () => void; delayMs: number }>();
  const timers: WorkerTimers = {
    set: (callback, delayMs) => {
      armed.set(++nextHandle, { callback, delayMs });
      return nextHandle;
    },
    clear: (handle) => void armed.delete(handle as number),
  };
  return {
    timers,
    /** The one armed delay (the worker keeps at most one timer). */
    armedDelays: () => [...armed.values()].map((t) => t.delayMs),
    fire(): void {
      const [first] = [...armed];
      if (!first) throw new Error('no timer is armed');
      armed.delete(first[0]);
      first[1].callback();
    },
  };
}

/** Lets every pending promise continuation run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function worker(overrides: Partial<OutboxWorkerDeps> & Pick<OutboxWorkerDeps, 'clock' | 'timers'>) {
  return createOutboxWorker({
    scan: async () => undefined,
    afterScan: async () => undefined,
    nextDueAt: async () => null,
    isDelivering: () => false,
    idlePollMs: IDLE,
    busyPollMs: 1_000,
    onError: (error) => {
      throw error;
    },
    ...overrides,
  });
}

describe('the outbox worker arms its timer for the earliest due row (#21)', () => {
  it('arms for a pending row\'s next attempt at start, not the idle poll', async () => {
    const clock = { t: T0, now: () => clock.t };
    const timers = manualTimers();
    const w = worker({ clock, timers: timers.timers, nextDueAt: async () => T0 + 4_200 });
    w.start();
    await settle();
    expect(timers.armedDelays()).toEqual([4_200]);
    await w.stop();
  });

  it('looks again at once when its timer fired a millisecond early and the scan missed the row', async () => {
    const clock = { t: T0, now: () => clock.t };
    const timers = manualTimers();
    const due = T0 + 5_000;
    let delivered = false;
    const w = worker({
      clock,
      timers: timers.timers,
      scan: async () => {
        if (clock.t >= due) delivered = true;
        // The scan's own queries take a moment: by the next reading the row is due.
        clock.t += 1;
      },
      nextDueAt: async () => (delivered ? null : due),
    });
    w.start();
    await settle();
    expect(timers.armedDelays()).toEqual([4_999]);
    // The timer fires a millisecond before the row is due by the clock.
    clock.t = due - 1;
    timers.fire();
    await settle();
    expect(delivered).toBe(false);
    expect(timers.armedDelays()).toEqual([0]);
    timers.fire();
    await settle();
    expect(delivered).toBe(true);
    expect(timers.armedDelays()).toEqual([IDLE]);
    await w.stop();
  });

  it('never arms from a reading taken before a wake-up that happened during the pass', async () => {
    const clock = { t: T0, now: () => clock.t };
    const timers = manualTimers();
    // The first reading is held until a delivery has rescheduled the row and woken the worker.
    let next = T0;
    let releaseFirstReading: (() => void) | undefined;
    let readings = 0;
    const w = worker({
      clock,
      timers: timers.timers,
      isDelivering: () => true,
      nextDueAt: async () => {
        readings++;
        const seen = next;
        if (readings === 1) await new Promise<void>((resolve) => (releaseFirstReading = resolve));
        return seen;
      },
    });
    w.start();
    await settle();
    // The delivery fails and is rescheduled 5 s later; its end wakes the worker.
    next = T0 + 5_000;
    w.wake();
    releaseFirstReading!();
    await settle();
    expect(readings).toBe(2);
    expect(timers.armedDelays()).toEqual([5_000]);
    await w.stop();
  });

  it('polls while a delivery runs and a row is already due, and at the idle poll when nothing is pending', async () => {
    const clock = { t: T0, now: () => clock.t };
    const timers = manualTimers();
    let next: number | null = T0 - 10;
    const w = worker({ clock, timers: timers.timers, isDelivering: () => true, nextDueAt: async () => next });
    w.start();
    await settle();
    expect(timers.armedDelays()).toEqual([1_000]);
    next = null;
    timers.fire();
    await settle();
    expect(timers.armedDelays()).toEqual([IDLE]);
    await w.stop();
    expect(timers.armedDelays()).toEqual([]);
  });
});
