import type { HeartbeatSample } from '@farol/protocol';
import type { Logger } from '../../infra/logger.js';

/** A machine's newest sample as the database has it, with when a hub stored it (that hub's clock). */
export interface StoredSample {
  agentId: string;
  storedAt: number;
  sample: HeartbeatSample;
}

export interface SampleFollowerTimings {
  /** How often the database is read. */
  everyMs: number;
  /** Each read starts this far before the newest `storedAt` seen: commits land out of order and hub clocks differ a little. */
  overlapMs: number;
  /** Most rows per read. */
  batch: number;
}

export const DEFAULT_FOLLOWER_TIMINGS: SampleFollowerTimings = { everyMs: 2_000, overlapMs: 2_000, batch: 20_000 };

/**
 * Several hubs (issue #14, ADR 0011): the alerts engine runs on the leader, but a full sample
 * stays in the hub that received it. The leader reads back what every hub stored in
 * `agent_latest` since its last read and hands each row to `onSample`, which drops a sample it
 * already evaluated (the overlap reads some rows twice; the leader's own agents arrive on the
 * bus too).
 */
export function createSampleFollower({
  read,
  onSample,
  now,
  logger,
  timings = DEFAULT_FOLLOWER_TIMINGS,
}: {
  read: (since: number, limit: number) => Promise<StoredSample[]>;
  onSample: (agentId: string, sample: HeartbeatSample) => void;
  now: () => number;
  logger: Logger;
  timings?: SampleFollowerTimings;
}) {
  let timer: NodeJS.Timeout | undefined;
  let reading: Promise<void> | undefined;
  let cursor = 0;
  let active = false;

  async function readOnce(): Promise<void> {
    const rows = await read(cursor - timings.overlapMs, timings.batch);
    for (const row of rows) {
      if (!active) return;
      if (row.storedAt > cursor) cursor = row.storedAt;
      onSample(row.agentId, row.sample);
    }
  }

  function schedule(): void {
    if (!active) return;
    timer = setTimeout(() => {
      timer = undefined;
      reading = readOnce()
        .catch((error: unknown) => logger.error({ err: error }, 'reading samples stored by other hubs failed'))
        .finally(() => {
          reading = undefined;
          schedule();
        });
    }, timings.everyMs);
    timer.unref();
  }

  return {
    /** From now on: rows stored from one period before now (what the previous leader may not have seen). */
    start(): void {
      if (active) return;
      active = true;
      cursor = now() - timings.everyMs;
      schedule();
    },
    async stop(): Promise<void> {
      active = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await reading;
    },
  };
}
export type SampleFollower = ReturnType<typeof createSampleFollower>;
