import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Repositories, UnitOfWork } from '../repositories.js';
import type { TelemetryRepository } from './telemetry.repository.js';
import type { Retention } from './telemetry.service.js';
import { yieldToEventLoop } from '../../infra/pause.js';

const WATERMARK_KEY = 'rollup.raw_id';
/** Raw rows up to this id are in the hour tier too (the minute tier is at WATERMARK_KEY). */
const HOUR_WATERMARK_KEY = 'rollup.hour_raw_id';
/**
 * Minute buckets recomputed per transaction. SQLite work blocks the event loop, so a pass is cut
 * into small transactions with a yield between them: heartbeats keep flowing while it runs. Each
 * bucket reads its minute's raw samples (6 at 10 s, 60 at 1 s): at 1 s, 100 buckets hold the
 * loop ~15 ms. With 250, 2,000 agents at 1 s had a heartbeat commit-lag p99 of 67–96 ms against
 * 33–48 ms with 100 (issue #16, docs/benchmarks.md, sixth round).
 */
const MINUTE_BUCKETS_PER_CHUNK = 100;
/**
 * Raw rows whose minute buckets are gathered at once. Each bucket is recomputed once per window
 * (issue #16): when each chunk of 2,000 raw rows recomputed the buckets it touched, 2,000 agents at
 * 1 s had every bucket recomputed ~60 times a minute, reading 7 million raw rows where 120,000
 * arrived. Reading the window's buckets is one statement (on SQLite, on the event loop).
 */
const MINUTE_WINDOW_ROWS = 30_000;
/** Raw rows deleted per transaction by retention. */
const CHUNK_ROWS = 2_000;
/**
 * Hour buckets recomputed per transaction (each reads up to 60 minute rows: ~20 ms on SQLite). The hour tier is
 * rolled up once per pass, not once per chunk of raw rows: 10,000 agents at 10 s make 30 chunks a
 * minute, and each recomputed the hour of every agent it touched, up to 60 minute rows each, so
 * late in the hour a pass read millions of minute rows (issue #16).
 */
const HOUR_BUCKETS_PER_CHUNK = 100;
/** Raw rows whose hours are gathered at once (a backlog after downtime goes in steps). */
const HOUR_WINDOW_ROWS = 200_000;

/** How one tier is rolled up: its watermark on raw row ids, its window, its chunk, its recompute. */
interface Tier {
  watermark: string;
  bucketMs: number;
  windowRows: number;
  perChunk: number;
  recompute(telemetry: TelemetryRepository, buckets: ReadonlyArray<{ agentSeq: number; bucket: number }>): Promise<number>;
}

const MINUTE_TIER: Tier = {
  watermark: WATERMARK_KEY,
  bucketMs: 60_000,
  windowRows: MINUTE_WINDOW_ROWS,
  perChunk: MINUTE_BUCKETS_PER_CHUNK,
  recompute: (telemetry, buckets) => telemetry.rollupMinuteBuckets(buckets),
};

const HOUR_TIER: Tier = {
  watermark: HOUR_WATERMARK_KEY,
  bucketMs: 3_600_000,
  windowRows: HOUR_WINDOW_ROWS,
  perChunk: HOUR_BUCKETS_PER_CHUNK,
  recompute: (telemetry, buckets) => telemetry.rollupHours(buckets),
};

/**
 * Keeps the 1-minute and 1-hour tiers up to date and applies retention (on PostgreSQL it also
 * prepares the next raw hour partitions, packs closed hours and drops expired days whole). Progress is a
 * watermark on raw row ids stored in the database, so nothing is missed across restarts and
 * late (backfilled) samples are rolled into their buckets when they arrive.
 */
export function createRollupService({
  telemetry,
  unitOfWork,
  clock,
  logger,
  retention,
}: {
  telemetry: TelemetryRepository;
  unitOfWork: UnitOfWork;
  clock: Clock;
  logger: Logger;
  retention: Retention;
}) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let preparing: Promise<void> | undefined;

  async function rollupPending(): Promise<{ minutes: number; hours: number }> {
    const upTo = await telemetry.maxRawId();
    // A database from before the hour tier had its own watermark: both tiers were at the minute one.
    if ((await telemetry.getKv(HOUR_WATERMARK_KEY)) === undefined) await telemetry.setKv(HOUR_WATERMARK_KEY, (await telemetry.getKv(WATERMARK_KEY)) ?? '0');
    const minutes = await rollupTierUpTo(MINUTE_TIER, upTo);
    // The hours read the minute rows just stored.
    return { minutes, hours: await rollupTierUpTo(HOUR_TIER, upTo) };
  }

  /**
   * Recomputes each bucket of the tier touched by raw rows between its watermark and `upTo`, once
   * per window of raw rows, `perChunk` buckets per transaction with a yield between them.
   */
  async function rollupTierUpTo(tier: Tier, upTo: number): Promise<number> {
    let stored = 0;
    let from = Number((await telemetry.getKv(tier.watermark)) ?? 0);
    while (from < upTo) {
      const to = Math.min(upTo, from + tier.windowRows);
      const buckets = await telemetry.bucketsTouched(from, to, tier.bucketMs);
      // The window's watermark commits with its last buckets (fenced): a pass cut short does the
      // window again (buckets are recomputed whole, so twice gives the same), and a leader whose
      // term ended moves nothing.
      const done = (repos: Repositories): Promise<void> => repos.telemetry.setKv(tier.watermark, String(to));
      if (buckets.length === 0) await unitOfWork(done);
      for (let i = 0; i < buckets.length; i += tier.perChunk) {
        const last = i + tier.perChunk >= buckets.length;
        stored += await unitOfWork(async (repos) => {
          const count = await tier.recompute(repos.telemetry, buckets.slice(i, i + tier.perChunk));
          if (last) await done(repos);
          return count;
        });
        await yieldToEventLoop();
      }
      from = to;
    }
    return stored;
  }

  async function applyRetention(): Promise<{ raw: number; rawDays: number; minute: number; hour: number }> {
    const now = clock.now();
    const rawDays = await telemetry.dropRawDaysBefore(now - retention.raw);
    let raw = 0;
    for (;;) {
      const deleted = await telemetry.deleteOlderThan('raw', now - retention.raw, CHUNK_ROWS);
      raw += deleted;
      if (deleted < CHUNK_ROWS) break;
      await yieldToEventLoop();
    }
    const minute = await telemetry.deleteOlderThan('1m', now - retention.minute);
    const hour = await telemetry.deleteOlderThan('1h', now - retention.hour);
    return { raw, rawDays, minute, hour };
  }

  const service = {
    /** One full pass: roll up everything new, then drop what retention says is too old. */
    async runOnce(): Promise<void> {
      if (running) return running;
      running = (async () => {
        await telemetry.prepareRawDays(clock.now());
        const rolled = await rollupPending();
        // PostgreSQL: hours that are over and rolled up become one packed row per machine.
        const packed = await telemetry.packClosedRaw(clock.now(), Number((await telemetry.getKv(WATERMARK_KEY)) ?? 0));
        const removed = await applyRetention();
        logger.debug({ rolled, packed, removed }, 'rollup and retention pass');
      })().finally(() => {
        running = undefined;
      });
      return running;
    },

    start(everyMs: number): void {
      // Today's raw partition before the first samples of this run arrive, not a pass later.
      preparing = telemetry.prepareRawDays(clock.now()).then(
        () => undefined,
        (error: unknown) => logger.error({ err: error }, 'preparing raw history partitions failed'),
      );
      timer = setInterval(() => {
        service.runOnce().catch((error: unknown) => logger.error({ err: error }, 'rollup pass failed'));
      }, everyMs);
      timer.unref();
    },

    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await preparing;
      await running;
    },
  };
  return service;
}
export type RollupService = ReturnType<typeof createRollupService>;
