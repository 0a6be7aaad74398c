import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckStatus } from '@farol/protocol';
import { createMemoryBus } from '../../infra/bus.js';
import type { Db } from '../../infra/database.js';
import { createLogger } from '../../infra/logger.js';
import { migrations } from '../../infra/migrations.js';
import { openTestDatabase } from '../../testing/test-database.js';
import { createChecksRepository, type CheckBucket, type ChecksRepository, type ResultRecord } from './checks.repository.js';
import { createChecksService, type ChecksRetention } from './checks.service.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1); // midnight UTC
const AGENT = 'ag_edge00000000001';
const logger = createLogger('silent');

let db: Db;
let close: () => Promise<void>;
let repo: ChecksRepository;

/** SQLite in the `int` project, PostgreSQL in `int-pg` (FAROL_TEST_DB=postgres). */
beforeEach(async () => {
  ({ db, close } = await openTestDatabase('check-history'));
  repo = createChecksRepository(db);
  await repo.insert({
    id: 'chk_a',
    name: 'api',
    description: null,
    probe: { kind: 'tcp', host: '127.0.0.1', port: 1 },
    runOn: { agents: [AGENT] },
    intervalMs: 60_000,
    timeoutMs: 5_000,
    enabled: true,
    source: 'api',
    createdAt: START,
    updatedAt: START,
  });
});
afterEach(async () => {
  await close();
});

/** A repeatable mix of statuses and latencies (a small linear congruential generator). */
function synthetic(from: number, to: number, stepMs: number, seed: number): ResultRecord[] {
  let state = seed;
  const next = (): number => (state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const out: ResultRecord[] = [];
  for (let ts = from; ts < to; ts += stepMs) {
    for (const location of ['hub', AGENT]) {
      const roll = next();
      const status: CheckStatus = roll < 0.7 ? 'ok' : roll < 0.8 ? 'warning' : roll < 0.95 ? 'critical' : 'unknown';
      out.push({
        checkId: 'chk_a',
        location,
        agentId: location === 'hub' ? null : location,
        ts: ts + (location === 'hub' ? 0 : 7_000),
        status,
        latencyMs: status === 'critical' || status === 'unknown' ? null : Math.round(5 + next() * 495),
        message: status,
        certDaysLeft: null,
        perfdata: [],
      });
    }
  }
  return out;
}

async function recordAll(results: ResultRecord[], batch = 250): Promise<void> {
  for (let i = 0; i < results.length; i += batch) await repo.record(results.slice(i, i + batch), results[i]!.ts);
}

/** What a tier must hold, computed here from the raw results. */
function expectedBuckets(results: ResultRecord[], width: number): Map<string, Omit<CheckBucket, 'agentId'>> {
  const out = new Map<string, Omit<CheckBucket, 'agentId'> & { latencySum: number; latencyN: number }>();
  for (const r of results) {
    const ts = Math.floor(r.ts / width) * width;
    const key = `${r.location}|${ts}`;
    let bucket = out.get(key);
    if (!bucket) {
      bucket = { location: r.location, ts, ok: 0, warning: 0, critical: 0, unknown: 0, latencyAvg: null, latencyMin: null, latencyMax: null, latencySum: 0, latencyN: 0 };
      out.set(key, bucket);
    }
    bucket[r.status]++;
    if (r.latencyMs !== null) {
      bucket.latencySum += r.latencyMs;
      bucket.latencyN++;
      bucket.latencyMin = Math.min(bucket.latencyMin ?? Infinity, r.latencyMs);
      bucket.latencyMax = Math.max(bucket.latencyMax ?? -Infinity, r.latencyMs);
    }
  }
  return new Map(
    [...out].map(([key, { latencySum, latencyN, ...bucket }]) => [key, { ...bucket, latencyAvg: latencyN === 0 ? null : latencySum / latencyN }]),
  );
}

function expectTier(stored: CheckBucket[], expected: Map<string, Omit<CheckBucket, 'agentId'>>): void {
  expect(stored.length).toBe(expected.size);
  for (const bucket of stored) {
    const want = expected.get(`${bucket.location}|${bucket.ts}`);
    expect(want, `${bucket.location} ${new Date(bucket.ts).toISOString()}`).toBeDefined();
    const { latencyAvg, ...counts } = bucket;
    const { latencyAvg: wantAvg, ...wantCounts } = want!;
    expect({ ...counts, agentId: undefined }).toEqual({ ...wantCounts, agentId: undefined });
    if (wantAvg === null) expect(latencyAvg).toBeNull();
    else expect(latencyAvg).toBeCloseTo(wantAvg, 6);
  }
}

/** Uptime % the way the API states it, from raw results, over whole hours from `since`'s hour. */
function uptimeOf(results: ResultRecord[], since: number, location?: string): number | null {
  const from = Math.floor(since / HOUR) * HOUR;
  let up = 0;
  let down = 0;
  for (const r of results) {
    if (r.ts < from || (location !== undefined && r.location !== location)) continue;
    if (r.status === 'ok' || r.status === 'warning') up++;
    else if (r.status === 'critical') down++;
  }
  return up + down === 0 ? null : Math.round((up / (up + down)) * 100_000) / 1000;
}

function service(now: () => number, retention: ChecksRetention) {
  return createChecksService({
    repo,
    agents: { list: async () => [{ id: AGENT, name: 'edge-1', labels: {} }], findByIdOrName: async () => ({ id: AGENT, name: 'edge-1', labels: {} }) },
    send: () => false,
    bus: createMemoryBus(logger),
    clock: { now },
    logger,
    audit: { record: async () => undefined },
    retention,
    timers: false,
  });
}

const everything = { from: 0, to: Number.MAX_SAFE_INTEGER };

describe('check history tiers (#19)', () => {
  it('rolls results up into 1-minute and 1-hour buckets that equal the raw results, late ones included', async () => {
    const now = START + 3 * HOUR;
    const checks = service(() => now, { rawMs: 2 * DAY, minuteMs: 30 * DAY, hourMs: 365 * DAY });
    await checks.start();
    const results = synthetic(START, now, 20_000, 7);
    const half = results.length / 2;
    await recordAll(results.slice(0, half));
    await checks.rollupAndPrune();
    // After a pass: more results, and a late one into a minute and an hour already rolled up.
    const late: ResultRecord = { ...results[10]!, ts: results[10]!.ts + 1_000, status: 'critical', latencyMs: null, message: 'late' };
    await recordAll([...results.slice(half), late]);
    const all = [...results, late];
    // Before the next pass, charts add the results not rolled up yet to the stored buckets.
    expectTier(await repo.buckets('chk_a', '1m', everything), expectedBuckets(all, MINUTE));
    expectTier(await repo.buckets('chk_a', '1h', everything), expectedBuckets(all, HOUR));
    await checks.rollupAndPrune();

    // Nothing left outside the rollups: the buckets are the stored tiers alone.
    expect(await repo.rollupProgress()).toEqual({ done: all.length, newest: all.length });
    expectTier(await repo.buckets('chk_a', '1m', everything), expectedBuckets(all, MINUTE));
    expectTier(await repo.buckets('chk_a', '1h', everything), expectedBuckets(all, HOUR));
    // A pass with nothing new changes nothing.
    await checks.rollupAndPrune();
    expectTier(await repo.buckets('chk_a', '1h', everything), expectedBuckets(all, HOUR));

    // Charts read the tier that fits the range, with machine names.
    const week = await checks.series('api', { since: now - 7 * DAY });
    expect(week.resolution).toBe('1h');
    expect(week.points.filter((p) => p.location === 'edge-1')).toHaveLength(3);
    expect(week.points.find((p) => p.location === 'edge-1')).toMatchObject({ agentId: AGENT, ts: START });
    expect((await checks.series('api', { since: now - DAY })).resolution).toBe('1m');
    const hour = await checks.series('api', { since: now - HOUR, location: 'edge-1' });
    expect(hour.resolution).toBe('raw');
    expect(hour.points).toHaveLength(all.filter((r) => r.location === AGENT && r.ts >= now - HOUR).length);
    await checks.stop();
  });

  it('keeps 30-day uptime exact from the rollups once raw results are pruned, and counts results not rolled up yet once', async () => {
    let now = START + 32 * DAY;
    const retention: ChecksRetention = { rawMs: 2 * DAY, minuteMs: 3 * DAY, hourMs: 31 * DAY };
    const checks = service(() => now, retention);
    await checks.start();
    const results = synthetic(START, now - 5 * MINUTE, 10 * MINUTE, 11);
    await recordAll(results, 1_000);
    const before = await checks.history('api', { limit: 1 });
    await checks.rollupAndPrune();

    // Raw results are gone up to the hour before the raw retention; the rollups answer for them.
    const rawKept = await repo.results('chk_a', { since: 0, limit: 100_000 });
    const rawEdge = Math.floor((now - retention.rawMs) / HOUR) * HOUR;
    expect(Math.min(...rawKept.map((r) => r.ts))).toBeGreaterThanOrEqual(rawEdge);
    expect(rawKept.length).toBe(results.filter((r) => r.ts >= rawEdge).length);
    expect(rawKept.length).toBeLessThan(results.length / 10);

    const after = await checks.history('api', { limit: 1 });
    const want = { h24: uptimeOf(results, now - DAY), d7: uptimeOf(results, now - 7 * DAY), d30: uptimeOf(results, now - 30 * DAY) };
    expect(want.d30).not.toBeNull();
    expect(after.uptime).toEqual(want);
    expect(before.uptime).toEqual(want);
    const edge = after.locations.find((l) => l.location === 'edge-1');
    expect(edge?.uptime.d30).toBe(uptimeOf(results, now - 30 * DAY, AGENT));
    expect((await checks.get('api')).uptime).toEqual(want);

    // New results count at once (read beside the rollups), and exactly once after the next pass.
    now += 10 * MINUTE;
    const fresh = synthetic(now - 8 * MINUTE, now - 2 * MINUTE, 2 * MINUTE, 3);
    await recordAll(fresh);
    const all = [...results, ...fresh];
    const wantNow = { h24: uptimeOf(all, now - DAY), d7: uptimeOf(all, now - 7 * DAY), d30: uptimeOf(all, now - 30 * DAY) };
    expect((await checks.history('api', { limit: 1 })).uptime).toEqual(wantNow);
    await checks.rollupAndPrune();
    expect((await checks.history('api', { limit: 1 })).uptime).toEqual(wantNow);
    // The status page's hourly totals: the same runs.
    const hours = await checks.hourlyTotals(['chk_a'], now - 30 * DAY);
    const totals = hours.reduce((sum, h) => ({ up: sum.up + h.up, down: sum.down + h.down }), { up: 0, down: 0 });
    expect(Math.round((totals.up / (totals.up + totals.down)) * 100_000) / 1000).toBe(wantNow.d30);
    await checks.stop();
  });

  it('applies retention to every tier and never prunes a raw result the rollups lack', async () => {
    let now = START + 40 * DAY;
    const retention: ChecksRetention = { rawMs: 2 * DAY, minuteMs: 5 * DAY, hourMs: 31 * DAY };
    const checks = service(() => now, retention);
    await checks.start();
    const results = synthetic(START, now, HOUR, 5);
    await recordAll(results, 500);
    // The pass's raw pruning waits for its own rollup: an old result stored but not rolled up stays.
    expect((await repo.prune({ raw: now, minute: 0, hour: 0 })).raw).toBe(0);
    await checks.rollupAndPrune();
    const minutes = await repo.buckets('chk_a', '1m', everything);
    const hours = await repo.buckets('chk_a', '1h', everything);
    expect(Math.min(...minutes.map((b) => b.ts))).toBeGreaterThanOrEqual(now - retention.minuteMs);
    expect(minutes.length).toBe(2 * 5 * 24);
    expect(Math.min(...hours.map((b) => b.ts))).toBeGreaterThanOrEqual(now - retention.hourMs);
    expect(hours.length).toBe(2 * 31 * 24);
    expect((await repo.results('chk_a', { since: 0, limit: 10_000 })).length).toBe(2 * 2 * 24);

    // A day later the next pass moves every edge on by a day.
    now += DAY;
    await checks.rollupAndPrune();
    expect((await repo.buckets('chk_a', '1h', everything)).length).toBe(2 * 30 * 24);
    expect((await repo.buckets('chk_a', '1m', everything)).length).toBe(2 * 4 * 24);
    expect((await repo.results('chk_a', { since: 0, limit: 10_000 })).length).toBe(2 * 24);

    // Deleting the check deletes every tier.
    await repo.delete('chk_a');
    expect(await repo.buckets('chk_a', '1h', everything)).toEqual([]);
    expect(await repo.buckets('chk_a', '1m', everything)).toEqual([]);
    await checks.stop();
  });

  it('upgrades the hourly counters of earlier versions: older hours copied, newer ones rebuilt from raw results', async () => {
    // The database as 0140 left it: counters per hour beside raw results (the oldest hour partly pruned).
    const now = START + 10 * DAY;
    const anyDb = db as unknown as Parameters<NonNullable<(typeof migrations)[string]>['up']>[0];
    await anyDb.schema.dropTable('check_1m').execute();
    await anyDb.schema.dropTable('check_1h').execute();
    await anyDb.schema
      .createTable('check_hourly')
      .addColumn('check_id', 'text', (c) => c.notNull())
      .addColumn('location', 'text', (c) => c.notNull())
      .addColumn('hour', 'bigint', (c) => c.notNull())
      .addColumn('up', 'integer', (c) => c.notNull())
      .addColumn('down', 'integer', (c) => c.notNull())
      .addColumn('unknown', 'integer', (c) => c.notNull())
      .addColumn('latency_sum', 'real', (c) => c.notNull())
      .addColumn('latency_n', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('check_hourly_pk', ['check_id', 'location', 'hour'])
      .execute();
    const results = synthetic(now - 3 * DAY, now, 20 * MINUTE, 13);
    const hourly = new Map<number, { up: number; down: number; unknown: number; latency_sum: number; latency_n: number }>();
    for (const r of [...synthetic(now - 9 * DAY, now - 3 * DAY, 20 * MINUTE, 17), ...results].filter((r) => r.location === 'hub')) {
      const hour = Math.floor(r.ts / HOUR) * HOUR;
      const row = hourly.get(hour) ?? { up: 0, down: 0, unknown: 0, latency_sum: 0, latency_n: 0 };
      if (r.status === 'ok' || r.status === 'warning') row.up++;
      else if (r.status === 'critical') row.down++;
      else row.unknown++;
      row.latency_sum += r.latencyMs ?? 0;
      row.latency_n += r.latencyMs === null ? 0 : 1;
      hourly.set(hour, row);
    }
    for (const [hour, row] of hourly) await anyDb.insertInto('check_hourly').values({ check_id: 'chk_a', location: 'hub', hour, ...row }).execute();
    // Raw results from the middle of an hour on (pruning was not hour-aligned).
    const raw = results.filter((r) => r.location === 'hub' && r.ts >= now - 3 * DAY + 20 * MINUTE);
    await recordAll(raw);
    await migrations['0230_check_rollups']!.up(anyDb);

    const edge = now - 3 * DAY + HOUR;
    const copied = await repo.buckets('chk_a', '1h', { from: 0, to: edge - 1 });
    expect(copied.map((b) => b.ts)).toEqual([...hourly.keys()].filter((hour) => hour < edge).sort((a, b) => a - b));
    expect(copied.at(-1)).toMatchObject({ ok: hourly.get(edge - HOUR)!.up, critical: hourly.get(edge - HOUR)!.down });
    // The partial hour's raw results went; everything after it is rebuilt from raw by the first pass.
    expect((await repo.results('chk_a', { since: 0, limit: 10_000 })).every((r) => r.ts >= edge)).toBe(true);
    const checks = service(() => now, { rawMs: 7 * DAY, minuteMs: 30 * DAY, hourMs: 365 * DAY });
    await checks.start();
    await checks.rollupAndPrune();
    expectTier(await repo.buckets('chk_a', '1h', { from: edge, to: now }), expectedBuckets(raw.filter((r) => r.ts >= edge), HOUR));
    const day = (await checks.history('api', { limit: 1 })).uptime.h24;
    expect(day).toBe(uptimeOf(raw, now - DAY));
    await checks.stop();
  });

  it('keeps the newest result per location whatever order they arrive in, with when they were stored', async () => {
    const at = START + HOUR;
    const result = (ts: number, status: CheckStatus): ResultRecord => ({ checkId: 'chk_a', location: 'hub', agentId: null, ts, status, latencyMs: null, message: status, certDaysLeft: null, perfdata: [] });
    await repo.record([result(at, 'ok'), result(at + 1_000, 'critical')], at + 2_000);
    await repo.record([result(at - 5_000, 'ok')], at + 3_000);
    expect(await repo.latest('chk_a')).toEqual([expect.objectContaining({ status: 'critical', ts: at + 1_000 })]);
    expect(await repo.latestStoredSince(at + 2_000, 10)).toEqual([expect.objectContaining({ status: 'critical', storedAt: at + 2_000 })]);
    expect(await repo.latestStoredSince(at + 2_001, 10)).toEqual([]);
  });
});
