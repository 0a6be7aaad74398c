import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_METRICS, type HistoryValues } from '@farol/protocol';
import type { Db } from '../../infra/database.js';
import { createLogger } from '../../infra/logger.js';
import { openTestDatabase } from '../../testing/test-database.js';
import { createRepositories, createUnitOfWork, type Repositories, type UnitOfWork } from '../repositories.js';
import { createRollupService } from './rollup.service.js';
import { pickResolution } from './telemetry.service.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const START = Date.UTC(2026, 0, 1); // a synthetic day, aligned to midnight UTC
const retention = { raw: 2 * DAY, minute: 30 * DAY, hour: 365 * DAY };

let db: Db;
let close: () => Promise<void>;
let repos: Repositories;

function values(cpu: number | null): HistoryValues {
  const v = Object.fromEntries(HISTORY_METRICS.map((m) => [m, null])) as HistoryValues;
  v.cpu = cpu;
  v.memory = cpu === null ? null : 100 - cpu;
  return v;
}

/** A day of samples every 10 s; cpu follows a known saw-tooth, with a gap of nulls each hour. */
function syntheticCpu(ts: number): number | null {
  const second = (ts - START) / 1000;
  if (second % 3600 === 0) return null;
  return (second / 10) % 37;
}

beforeEach(async () => {
  ({ db, close } = await openTestDatabase('rollup'));
  repos = createRepositories(db);
  await repos.agents.insert({
    id: 'ag_rollup000000000',
    name: 'rollup',
    hostname: 'rollup',
    publicKey: 'x',
    keyFingerprint: 'fp',
    labels: {},
    system: null,
    createdAt: START,
    joinTokenId: 'jt',
  });
});
afterEach(async () => {
  await close();
});

function rollupAt(now: number, unitOfWork: UnitOfWork = createUnitOfWork(db)) {
  return createRollupService({ telemetry: repos.telemetry, unitOfWork, clock: { now: () => now }, logger: createLogger('silent'), retention });
}

describe('rollups', () => {
  it('computes exact 1-minute and 1-hour avg/min/max over a synthetic day', async () => {
    const agentSeq = 1;
    const rows = [];
    for (let ts = START; ts < START + DAY; ts += 10_000) rows.push({ agentSeq, ts, values: values(syntheticCpu(ts)) });
    await repos.telemetry.insertSamples(rows);
    await rollupAt(START + DAY).runOnce();

    const minutes = await repos.telemetry.queryRange(agentSeq, '1m', START, START + DAY);
    expect(minutes).toHaveLength(1440);
    for (const point of [minutes[0]!, minutes[61]!, minutes[777]!, minutes[1439]!]) {
      const cpus = [];
      for (let ts = point.ts; ts < point.ts + MINUTE; ts += 10_000) {
        const c = syntheticCpu(ts);
        if (c !== null) cpus.push(c);
      }
      expect(point.values.cpu!.avg).toBeCloseTo(cpus.reduce((a, b) => a + b, 0) / cpus.length, 9);
      expect(point.values.cpu!.min).toBe(Math.min(...cpus));
      expect(point.values.cpu!.max).toBe(Math.max(...cpus));
      expect(point.values.disk).toEqual({ avg: null, min: null, max: null });
    }

    const hours = await repos.telemetry.queryRange(agentSeq, '1h', START, START + DAY);
    expect(hours).toHaveLength(24);
    for (const point of hours) {
      const cpus = [];
      for (let ts = point.ts; ts < point.ts + HOUR; ts += 10_000) {
        const c = syntheticCpu(ts);
        if (c !== null) cpus.push(c);
      }
      expect(point.values.cpu!.avg).toBeCloseTo(cpus.reduce((a, b) => a + b, 0) / cpus.length, 9);
      expect(point.values.cpu!.min).toBe(Math.min(...cpus));
      expect(point.values.cpu!.max).toBe(Math.max(...cpus));
      expect(point.values.memory!.max).toBe(100 - Math.min(...cpus));
    }
  });

  it('folds late (backfilled) samples into buckets already rolled up', async () => {
    const t0 = START + 5 * HOUR;
    await repos.telemetry.insertSamples([{ agentSeq: 1, ts: t0, values: values(10) }]);
    await rollupAt(START + DAY).runOnce();
    await repos.telemetry.insertSamples([{ agentSeq: 1, ts: t0 + 20_000, values: values(30) }]);
    await rollupAt(START + DAY).runOnce();
    const [minute] = await repos.telemetry.queryRange(1, '1m', t0, t0);
    expect(minute!.values.cpu).toEqual({ avg: 20, min: 10, max: 30 });
    const [hour] = await repos.telemetry.queryRange(1, '1h', START + 5 * HOUR, START + 5 * HOUR);
    expect(hour!.values.cpu).toEqual({ avg: 20, min: 10, max: 30 });
  });

  it('rolls up the hours of a fleet once per pass, in several transactions, each hour exact (#16)', async () => {
    // More agents than one hour transaction takes (100), each with a minute of samples in two hours.
    const fleet = 1_100;
    for (let i = 2; i <= fleet; i++) {
      await repos.agents.insert({ id: `ag_rollup${String(i).padStart(9, '0')}`, name: `r-${i}`, hostname: `r-${i}`, publicKey: `k${i}`, keyFingerprint: `fp${i}`, labels: {}, system: null, createdAt: START, joinTokenId: 'jt' });
    }
    const seqs = (await repos.agents.list()).map((agent) => agent.seq);
    expect(seqs).toHaveLength(fleet);
    const rows = seqs.flatMap((agentSeq) => [0, 10_000, HOUR, HOUR + 30_000].map((offset) => ({ agentSeq, ts: START + offset, values: values((agentSeq % 50) + offset / 10_000) })));
    await repos.telemetry.insertSamples(rows);
    let transactions = 0;
    const counting: UnitOfWork = (work) => {
      transactions++;
      return createUnitOfWork(db)(work);
    };
    await rollupAt(START + DAY, counting).runOnce();
    // 4,400 raw rows in 2,200 minute buckets: 22 transactions of minutes (100 each); 2,200 hour buckets: 22 of hours.
    expect(transactions).toBe(22 + 22);
    for (const agentSeq of [seqs[0]!, seqs[49]!, seqs[50]!, seqs[fleet - 1]!]) {
      const base = agentSeq % 50;
      const hours = await repos.telemetry.queryRange(agentSeq, '1h', START, START + 2 * HOUR);
      expect(hours.map((h) => [h.ts, h.values.cpu])).toEqual([
        [START, { avg: base + 0.5, min: base, max: base + 1 }],
        [START + HOUR, { avg: base + 361.5, min: base + 360, max: base + 363 }],
      ]);
    }
  });

  it('recomputes each minute bucket once per pass, not once per chunk of raw rows: 100 agents at 1 s (#16)', async () => {
    const fleet = 100;
    for (let i = 2; i <= fleet; i++) {
      await repos.agents.insert({ id: `ag_second${String(i).padStart(10, '0')}`, name: `s-${i}`, hostname: `s-${i}`, publicKey: `k${i}`, keyFingerprint: `fp${i}`, labels: {}, system: null, createdAt: START, joinTokenId: 'jt' });
    }
    const seqs = (await repos.agents.list()).map((agent) => agent.seq);
    // A minute of heartbeats as they arrive: every second, one sample from each agent (6,000 raw rows).
    for (let second = 0; second < 60; second++) {
      await repos.telemetry.insertSamples(seqs.map((agentSeq) => ({ agentSeq, ts: START + second * 1000, values: values(agentSeq + second) })));
    }
    let transactions = 0;
    const counting: UnitOfWork = (work) => {
      transactions++;
      return createUnitOfWork(db)(work);
    };
    await rollupAt(START + DAY, counting).runOnce();
    // 100 minute buckets in one transaction (chunks of 2,000 raw rows took three, each recomputing
    // all 100 buckets), then the hours in one.
    expect(transactions).toBe(1 + 1);
    for (const agentSeq of [seqs[0]!, seqs[fleet - 1]!]) {
      const [minute] = await repos.telemetry.queryRange(agentSeq, '1m', START, START);
      expect(minute!.values.cpu).toEqual({ avg: agentSeq + 29.5, min: agentSeq, max: agentSeq + 59 });
    }
  });

  it('finishes the hours of a pass cut short by a failed write at the next pass (#16)', async () => {
    await repos.telemetry.insertSamples([
      { agentSeq: 1, ts: START, values: values(10) },
      { agentSeq: 1, ts: START + 20_000, values: values(20) },
    ]);
    // The minutes are stored, then the hour's write fails.
    let calls = 0;
    const failingHours: UnitOfWork = (work) => (++calls === 2 ? Promise.reject(new Error('disk I/O error')) : createUnitOfWork(db)(work));
    await expect(rollupAt(START + DAY, failingHours).runOnce()).rejects.toThrow('disk I/O error');
    expect(await repos.telemetry.queryRange(1, '1m', START, START)).toHaveLength(1);
    expect(await repos.telemetry.queryRange(1, '1h', START, START)).toHaveLength(0);
    await rollupAt(START + DAY).runOnce();
    const [hour] = await repos.telemetry.queryRange(1, '1h', START, START);
    expect(hour!.values.cpu).toEqual({ avg: 15, min: 10, max: 20 });
  });

  it('keeps the hours of a database rolled up before the hour tier had its own watermark (#16)', async () => {
    await repos.telemetry.insertSamples([{ agentSeq: 1, ts: START, values: values(10) }]);
    await rollupAt(START + DAY).runOnce();
    // As an older hub left it: only the minute watermark.
    await sql`delete from kv where key = 'rollup.hour_raw_id'`.execute(db);
    await repos.telemetry.insertSamples([{ agentSeq: 1, ts: START + 30_000, values: values(30) }]);
    await rollupAt(START + DAY).runOnce();
    const [hour] = await repos.telemetry.queryRange(1, '1h', START, START);
    expect(hour!.values.cpu).toEqual({ avg: 20, min: 10, max: 30 });
  });

  it('applies retention per tier', async () => {
    await repos.telemetry.insertSamples([
      { agentSeq: 1, ts: START, values: values(1) },
      { agentSeq: 1, ts: START + 3 * DAY, values: values(2) },
    ]);
    await rollupAt(START + 3 * DAY + MINUTE).runOnce();
    expect(await repos.telemetry.queryRange(1, 'raw', 0, START + 4 * DAY)).toHaveLength(1);
    expect(await repos.telemetry.queryRange(1, '1m', 0, START + 4 * DAY)).toHaveLength(2);
    await rollupAt(START + 40 * DAY).runOnce();
    expect(await repos.telemetry.queryRange(1, '1m', 0, START + 4 * DAY)).toHaveLength(0);
    expect(await repos.telemetry.queryRange(1, '1h', 0, START + 4 * DAY)).toHaveLength(2);
  });
});

describe('pickResolution', () => {
  const now = START + 10 * DAY;
  it('uses raw for short recent ranges, minutes up to two days, hours beyond', () => {
    expect(pickResolution(now - HOUR, now, now, retention)).toBe('raw');
    expect(pickResolution(now - DAY, now, now, retention)).toBe('1m');
    expect(pickResolution(now - 7 * DAY, now, now, retention)).toBe('1h');
    // An hour that raw retention no longer covers falls back to minutes.
    expect(pickResolution(now - 3 * DAY, now - 3 * DAY + HOUR, now, retention)).toBe('1m');
  });
});
