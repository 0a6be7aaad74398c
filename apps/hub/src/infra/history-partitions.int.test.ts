import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_METRICS, type HistoryValues } from '@farol/protocol';
import { openPostgresDatabase } from './postgres.js';
import type { Db } from './database.js';
import { createLogger } from './logger.js';
import { createRepositories, createUnitOfWork, type Repositories } from '../modules/repositories.js';
import { DAY_MS, HOUR_MS, listPartitions, PACK_GRACE_MS, packedPartitionName, rawPartitionName } from './history-partitions.js';
import { createRollupService } from '../modules/telemetry/rollup.service.js';
import { createTestDatabase } from '../testing/postgres-test-db.js';

const NOW = Date.now();
const TODAY = Math.floor(NOW / DAY_MS);
const THIS_HOUR = Math.floor(NOW / HOUR_MS) * HOUR_MS;
const retention = { raw: 2 * DAY_MS, minute: 30 * DAY_MS, hour: 365 * DAY_MS };

function values(cpu: number): HistoryValues {
  const v = Object.fromEntries(HISTORY_METRICS.map((m) => [m, null])) as HistoryValues;
  v.cpu = cpu;
  return v;
}

async function rowsIn(db: Db, table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db);
  return rows[0]!.n;
}

describe('raw history in hour partitions, packed once closed, on PostgreSQL (#13)', () => {
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Db;
  let repos: Repositories;
  const rollupAt = (now: number) =>
    createRollupService({ telemetry: repos.telemetry, unitOfWork: createUnitOfWork(db), clock: { now: () => now }, logger: createLogger('silent'), retention });
  const packedRows = async (agentSeq: number) =>
    (await sql<{ hour: string; n: number }>`select hour, cardinality(off) as n from metrics_packed where agent_seq = ${agentSeq} order by hour`.execute(db)).rows.map((r) => ({ hour: Number(r.hour), n: r.n }));

  beforeAll(async () => {
    testDb = await createTestDatabase();
    ({ db } = await openPostgresDatabase({ url: testDb.url, poolSize: 4 }));
    repos = createRepositories(db);
    for (const [id, name] of [['ag_partition000000', 'partition'], ['ag_partition000001', 'packing']] as const) {
      await repos.agents.insert({ id, name, hostname: name, publicKey: 'x', keyFingerprint: `fp-${name}`, labels: {}, system: null, createdAt: NOW, joinTokenId: 'jt' });
    }
  });
  afterAll(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  it('starts with this hour and the next two prepared, and packed days ahead', async () => {
    const raw = (await listPartitions(db, 'metrics_raw')).map((p) => p.name);
    expect(raw).toEqual(expect.arrayContaining([rawPartitionName(THIS_HOUR), rawPartitionName(THIS_HOUR + HOUR_MS), rawPartitionName(THIS_HOUR + 2 * HOUR_MS)]));
    const packed = (await listPartitions(db, 'metrics_packed')).map((p) => p.name);
    expect(packed).toEqual(expect.arrayContaining([packedPartitionName(TODAY), packedPartitionName(TODAY + 1), packedPartitionName(TODAY + 2)]));
    await repos.telemetry.insertSamples([{ agentSeq: 1, ts: THIS_HOUR + 1_000, values: values(1) }]);
    expect(await rowsIn(db, rawPartitionName(THIS_HOUR))).toBe(1);
    expect(await rowsIn(db, 'metrics_raw_default')).toBe(0);
  });

  it('never refuses a sample for an hour without a partition, and moves it into its hour once prepared', async () => {
    const later = THIS_HOUR + 9 * DAY_MS + 5_000;
    const inserted = await repos.telemetry.insertSamples([{ agentSeq: 1, ts: later, values: values(9) }]);
    expect(inserted.size).toBe(1);
    expect(await rowsIn(db, 'metrics_raw_default')).toBe(1);
    // A re-sent copy of the same sample is still recognised while it sits in the default partition.
    expect((await repos.telemetry.insertSamples([{ agentSeq: 1, ts: later, values: values(9) }])).size).toBe(0);

    expect(await repos.telemetry.prepareRawDays(later - HOUR_MS)).toBeGreaterThan(0);
    expect(await rowsIn(db, rawPartitionName(THIS_HOUR + 9 * DAY_MS))).toBe(1);
    expect(await rowsIn(db, 'metrics_raw_default')).toBe(0);
    const [point] = await repos.telemetry.queryRange(1, 'raw', later, later);
    expect(point!.values.cpu).toEqual({ avg: 9, min: 9, max: 9 });
  });

  it('packs a closed hour into one row per machine, answering the same points and rollups as before', async () => {
    const hour = THIS_HOUR - 3 * HOUR_MS;
    await repos.telemetry.prepareRawDays(hour);
    const samples = Array.from({ length: 360 }, (_, i) => ({ agentSeq: 2, ts: hour + i * 10_000, values: values(i % 2 === 0 ? i / 7 : 0.1 + i) }));
    samples[5]!.values.memory = 42.5;
    expect((await repos.telemetry.insertSamples(samples)).size).toBe(360);
    await rollupAt(hour + HOUR_MS - 1).runOnce();
    expect(await rowsIn(db, rawPartitionName(hour))).toBe(360);
    const before = { raw: await repos.telemetry.queryRange(2, 'raw', hour, hour + HOUR_MS), minutes: await repos.telemetry.queryRange(2, '1m', hour, hour + HOUR_MS) };
    expect(before.raw).toHaveLength(360);

    // Not before the grace after the hour ends: late samples still land in its rows.
    await rollupAt(hour + HOUR_MS + PACK_GRACE_MS - 1).runOnce();
    expect(await packedRows(2)).toEqual([]);
    await rollupAt(hour + HOUR_MS + PACK_GRACE_MS).runOnce();
    expect(await packedRows(2)).toEqual([{ hour, n: 360 }]);
    const { rows } = await sql<{ present: boolean }>`select to_regclass(${rawPartitionName(hour)}) is not null as present`.execute(db);
    expect(rows[0]?.present).toBe(false);
    expect(await repos.telemetry.queryRange(2, 'raw', hour, hour + HOUR_MS)).toEqual(before.raw);
    expect(await repos.telemetry.queryRange(2, 'raw', hour + 50_000, hour + 70_000)).toEqual(before.raw.slice(5, 8));
    expect(await repos.telemetry.queryRange(2, '1m', hour, hour + HOUR_MS)).toEqual(before.minutes);
  });

  it('keeps a late sample for a packed hour, refuses a re-sent packed one, and rolls both sources up', async () => {
    const hour = THIS_HOUR - 3 * HOUR_MS;
    const late = { agentSeq: 2, ts: hour + 5, values: values(1000) };
    expect((await repos.telemetry.insertSamples([late])).size).toBe(1);
    expect(await rowsIn(db, 'metrics_raw_default')).toBe(1);
    // The sample at hour + 10 s is packed already: a re-sent copy is not stored twice.
    expect((await repos.telemetry.insertSamples([{ agentSeq: 2, ts: hour + 10_000, values: values(77) }])).size).toBe(0);

    await rollupAt(NOW).runOnce();
    const [minute] = await repos.telemetry.queryRange(2, '1m', hour, hour);
    // The first minute: the late sample and the six packed ones (0/7, 1.1, 2/7, 3.1, 4/7, 5.1).
    expect(minute!.values.cpu.max).toBe(1000);
    expect(minute!.values.cpu.avg).toBeCloseTo((1000 + 0 + 1.1 + 2 / 7 + 3.1 + 4 / 7 + 5.1) / 7, 9);
    // That pass also merged the late sample into the packed hour, in order.
    expect(await rowsIn(db, 'metrics_raw_default')).toBe(0);
    expect(await packedRows(2)).toEqual([{ hour, n: 361 }]);
    const points = await repos.telemetry.queryRange(2, 'raw', hour, hour + 10_000);
    expect(points.map((p) => [p.ts, p.values.cpu.avg])).toEqual([
      [hour, 0],
      [hour + 5, 1000],
      [hour + 10_000, 1.1],
    ]);
  });

  it('drops expired raw hours and packed days whole instead of deleting their rows', async () => {
    const dayOne = (TODAY + 1) * DAY_MS;
    await repos.telemetry.prepareRawDays(dayOne);
    await repos.telemetry.insertSamples([
      { agentSeq: 1, ts: dayOne + 10_000, values: values(10) },
      { agentSeq: 1, ts: dayOne + 20_000, values: values(30) },
    ]);
    await rollupAt(dayOne + 60_000).runOnce();
    const [minute] = await repos.telemetry.queryRange(1, '1m', dayOne, dayOne);
    expect(minute!.values.cpu).toEqual({ avg: 20, min: 10, max: 30 });

    // Four days on, raw retention (2 days) has passed the whole of today and day one.
    await rollupAt((TODAY + 4) * DAY_MS + 1).runOnce();
    const packedDays = (await listPartitions(db, 'metrics_packed')).map((p) => p.name);
    expect(packedDays).not.toContain(packedPartitionName(TODAY));
    expect(packedDays).not.toContain(packedPartitionName(TODAY + 1));
    expect(packedDays).toEqual(expect.arrayContaining([packedPartitionName(TODAY + 2), packedPartitionName(TODAY + 4), packedPartitionName(TODAY + 6)]));
    expect((await listPartitions(db, 'metrics_raw')).every((p) => p.to > (TODAY + 2) * DAY_MS)).toBe(true);
    expect(await repos.telemetry.queryRange(1, 'raw', 0, dayOne + DAY_MS)).toHaveLength(0);
    expect(await repos.telemetry.queryRange(2, 'raw', 0, dayOne + DAY_MS)).toHaveLength(0);
    // The rollups outlive the raw day, as on SQLite.
    expect(await repos.telemetry.queryRange(1, '1m', dayOne, dayOne)).toHaveLength(1);
  });

  it('deletes samples that strayed into the default partition once they are past retention', async () => {
    const old = (TODAY - 30) * DAY_MS;
    await repos.telemetry.insertSamples([{ agentSeq: 1, ts: old, values: values(5) }]);
    expect(await rowsIn(db, 'metrics_raw_default')).toBe(1);
    await rollupAt(NOW).runOnce();
    expect(await rowsIn(db, 'metrics_raw_default')).toBe(0);
    expect(await rowsIn(db, 'metrics_packed_default')).toBe(0);
  });
});
