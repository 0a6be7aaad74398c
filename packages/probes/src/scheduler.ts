import type { CheckAssignment, CheckRunResult } from '@farol/protocol';

/** Runs assigned checks at their intervals, one run of a check at a time (hub and agent alike). */
export interface CheckScheduler {
  /** Replaces the assignments; unchanged checks keep their cadence, removed ones stop. */
  assign(checks: readonly CheckAssignment[]): void;
  /** Runs these assigned checks at once (a run already under way is not doubled). */
  runNow(checkIds: readonly string[]): void;
  assigned(): CheckAssignment[];
  /** Stops the timers and waits for runs under way. */
  stop(): Promise<void>;
}

interface Entry {
  check: CheckAssignment;
  key: string;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  removed: boolean;
}

export interface CheckSchedulerOptions {
  run(check: CheckAssignment): Promise<CheckRunResult>;
  /** Every result, with the time its run started. */
  onResult(check: CheckAssignment, result: CheckRunResult, ts: number): void;
  now?: () => number;
  random?: () => number;
  /** A new check's first run comes within this long (spread, so a fleet does not probe in step). */
  firstRunSpreadMs?: number;
}

export function createCheckScheduler(options: CheckSchedulerOptions): CheckScheduler {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const spread = options.firstRunSpreadMs ?? 5_000;
  const entries = new Map<string, Entry>();
  let stopped = false;

  function schedule(entry: Entry, delayMs: number): void {
    if (stopped || entry.removed) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => start(entry), Math.max(0, delayMs));
    entry.timer.unref();
  }

  function start(entry: Entry): void {
    if (entry.running || stopped || entry.removed) return;
    clearTimeout(entry.timer);
    const startedAt = now();
    const check = entry.check;
    entry.running = options
      .run(check)
      .catch((error: unknown): CheckRunResult => ({ status: 'unknown', latencyMs: null, message: `probe failed: ${(error as Error).message}`.slice(0, 1024), certDaysLeft: null, perfdata: [] }))
      .then((result) => {
        if (!entry.removed) options.onResult(check, result, startedAt);
      })
      .finally(() => {
        entry.running = undefined;
        schedule(entry, startedAt + entry.check.intervalMs - now());
      });
  }

  return {
    assign(checks) {
      const wanted = new Map(checks.map((check) => [check.id, check]));
      for (const [id, entry] of entries) {
        if (!wanted.has(id)) {
          entry.removed = true;
          clearTimeout(entry.timer);
          entries.delete(id);
        }
      }
      for (const check of wanted.values()) {
        const key = JSON.stringify(check);
        const entry = entries.get(check.id);
        if (entry && entry.key === key) continue;
        if (entry) {
          entry.check = check;
          entry.key = key;
          if (!entry.running) schedule(entry, random() * Math.min(spread, check.intervalMs));
          continue;
        }
        const fresh: Entry = { check, key, timer: undefined, running: undefined, removed: false };
        entries.set(check.id, fresh);
        schedule(fresh, random() * Math.min(spread, check.intervalMs));
      }
    },
    runNow(checkIds) {
      for (const id of checkIds) {
        const entry = entries.get(id);
        if (entry) start(entry);
      }
    },
    assigned: () => [...entries.values()].map((entry) => entry.check),
    async stop() {
      stopped = true;
      const running: Array<Promise<void>> = [];
      for (const entry of entries.values()) {
        clearTimeout(entry.timer);
        if (entry.running) running.push(entry.running);
      }
      await Promise.allSettled(running);
    },
  };
}
