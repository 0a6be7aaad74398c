import { sql, type Kysely } from 'kysely';
import { serializeWriters } from './dialect.js';

/**
 * PostgreSQL's layout of raw history (issue #13, ADR 0007): `metrics_raw` is partitioned by
 * range of `ts`, one partition per UTC hour named `metrics_raw_hYYYYMMDDHH` (day partitions
 * `metrics_raw_dYYYYMMDD` from before migration 0160 are handled alike), plus a default
 * partition so that an insert never fails for an hour nobody prepared (a backfill from long
 * ago, an agent whose clock runs ahead). Once an hour is over and rolled up it is packed into
 * `metrics_packed` (one row per machine and hour, arrays of samples) and its partition dropped;
 * `metrics_packed` has day partitions, so retention drops whole days instead of deleting rows.
 * SQLite keeps its one table; nothing here runs there.
 */

/* eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs in migrations too, against past schemas. */
type AnyKysely = Kysely<any>;

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
const PARENT = 'metrics_raw';
export const RAW_DEFAULT_PARTITION = 'metrics_raw_default';
export const PACKED_TABLE = 'metrics_packed';
export const PACKED_DEFAULT_PARTITION = 'metrics_packed_default';
/** Raw samples stay rows for this long after their hour ends, for agents that report late. */
export const PACK_GRACE_MS = 10 * 60_000;

export interface RangePartition {
  name: string;
  /** First timestamp it holds (ms). */
  from: number;
  /** First timestamp it no longer holds (ms). */
  to: number;
}

/** The raw partition for the UTC hour starting at `hourMs`: `metrics_raw_hYYYYMMDDHH`. */
export function rawPartitionName(hourMs: number): string {
  return `metrics_raw_h${new Date(hourMs).toISOString().slice(0, 13).replace(/[-T]/g, '')}`;
}

/** The packed partition for the UTC day `day` (days since the epoch): `metrics_packed_dYYYYMMDD`. */
export function packedPartitionName(day: number): string {
  return `metrics_packed_d${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Runs `work` in a transaction, or in the one `db` already is (a migration). */
function inTransaction<T>(db: AnyKysely, work: (trx: AnyKysely) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

/** The range partitions of `parent` (not its default), oldest first, with their bounds. */
export async function listPartitions(db: AnyKysely, parent: string = PARENT): Promise<RangePartition[]> {
  const { rows } = await sql<{ name: string; bound: string }>`
    select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = to_regclass(${parent})`.execute(db);
  const partitions: RangePartition[] = [];
  for (const { name, bound } of rows) {
    const match = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(bound);
    if (match) partitions.push({ name, from: Number(match[1]), to: Number(match[2]) });
  }
  return partitions.sort((a, b) => a.from - b.from);
}

/**
 * Creates the missing range partitions of `parent` so that every `step` slot between the slots
 * of `fromMs` and `toMs` is covered; returns how many it created. Rows that already landed in
 * the default partition for such a slot are moved into the new partition in the same
 * transaction (PostgreSQL refuses a partition whose range the default partition holds rows
 * of). Hubs preparing together take turns.
 */
async function preparePartitions(db: AnyKysely, parent: string, fallback: string, step: number, name: (from: number) => string, fromMs: number, toMs: number): Promise<number> {
  const existing = await listPartitions(db, parent);
  const covered = (slot: number) => existing.some((p) => p.from < slot + step && p.to > slot);
  let created = 0;
  for (let slot = Math.floor(fromMs / step) * step; slot <= toMs; slot += step) {
    if (covered(slot)) continue;
    const made = await inTransaction(db, async (trx) => {
      await serializeWriters(trx, `farol:partitions:${parent}`);
      const table = name(slot);
      const { rows } = await sql<{ present: boolean }>`select to_regclass(${table}) is not null as present`.execute(trx);
      if (rows[0]?.present) return false;
      const [from, to] = [sql.lit(slot), sql.lit(slot + step)];
      const key = sql.ref(parent === PARENT ? 'ts' : 'hour');
      const { rows: stray } = await sql<{ found: boolean }>`
        select exists (select 1 from ${sql.table(fallback)} where ${key} >= ${from} and ${key} < ${to}) as found`.execute(trx);
      if (!stray[0]?.found) {
        await sql`create table ${sql.table(table)} partition of ${sql.table(parent)} for values from (${from}) to (${to})`.execute(trx);
        return true;
      }
      await sql`create table ${sql.table(table)} (like ${sql.table(parent)} including defaults)`.execute(trx);
      await sql`
        with moved as (delete from ${sql.table(fallback)} where ${key} >= ${from} and ${key} < ${to} returning *)
        insert into ${sql.table(table)} select * from moved`.execute(trx);
      await sql`alter table ${sql.table(parent)} attach partition ${sql.table(table)} for values from (${from}) to (${to})`.execute(trx);
      return true;
    });
    if (made) created++;
  }
  return created;
}

/**
 * Makes sure raw samples from the hour of `now` to two hours on land in their own hour
 * partition, and packed hours from today to two days on in their day partition; returns how
 * many partitions it created.
 */
export async function prepareRawPartitions(db: AnyKysely, now: number): Promise<number> {
  const raw = await preparePartitions(db, PARENT, RAW_DEFAULT_PARTITION, HOUR_MS, rawPartitionName, now, now + 2 * HOUR_MS);
  const packed = await preparePartitions(db, PACKED_TABLE, PACKED_DEFAULT_PARTITION, DAY_MS, (from) => packedPartitionName(from / DAY_MS), now, now + 2 * DAY_MS);
  return raw + packed;
}

/** Array columns of `metrics_packed`: the offsets within the hour, then one per series. */
function packedColumns(metricColumns: readonly string[]) {
  return ['off', ...metricColumns];
}

/**
 * Packs closed raw hours: every raw partition that ended `PACK_GRACE_MS` before `now` and whose
 * rows are all rolled up (ids up to `rolledUpTo`) becomes one `metrics_packed` row per agent
 * and hour, with the samples' offsets and values in arrays, and is dropped; stray rows of the
 * default partition from before then are moved the same way. A row costs ~28 bytes of header
 * and pointer plus ~46 of index on PostgreSQL, so the arrays hold an hour of a machine's
 * samples for a fraction of that (figures in docs/benchmarks.md). The partition is locked
 * against writers while it is read, so a late sample waits and lands in the default partition
 * instead of being dropped unread. Returns how many partitions were packed.
 */
export async function packClosedRawHours(db: AnyKysely, metricColumns: readonly string[], now: number, rolledUpTo: number): Promise<number> {
  const before = now - PACK_GRACE_MS;
  const arrays = packedColumns(metricColumns);
  const aggregates = sql.raw(
    ['(ts % 3600000)::integer', ...metricColumns].map((c) => `array_agg(${c} order by ts)`).join(', '),
  );
  const targetList = sql.raw(['agent_seq', 'hour', ...arrays].join(', '));
  // Merging into an hour packed before (late or re-sent samples): the stored sample wins a tie.
  const merged = sql.raw(
    `(${arrays.join(', ')}) = (select ${arrays.map((c) => `array_agg(u.${c} order by u.off)`).join(', ')} from (` +
      `select distinct on (off) * from (` +
      `select 0 as pri, * from unnest(${arrays.map((c) => `${PACKED_TABLE}.${c}`).join(', ')}) as a(${arrays.join(', ')}) ` +
      `union all select 1 as pri, * from unnest(${arrays.map((c) => `excluded.${c}`).join(', ')}) as b(${arrays.join(', ')})` +
      `) x order by off, pri) u)`,
  );
  const pack = (source: ReturnType<typeof sql>) => sql`
    insert into ${sql.table(PACKED_TABLE)} (${targetList})
    select agent_seq, (ts / 3600000) * 3600000, ${aggregates} from ${source} s
    group by agent_seq, (ts / 3600000) * 3600000
    on conflict (agent_seq, hour) do update set ${merged}`;
  let packed = 0;
  for (const partition of await listPartitions(db)) {
    if (partition.to > before) continue;
    const done = await db.transaction().execute(async (trx) => {
      await serializeWriters(trx, 'farol:history-pack');
      const { rows } = await sql<{ present: boolean }>`select to_regclass(${partition.name}) is not null as present`.execute(trx);
      if (!rows[0]?.present) return false;
      await sql`lock table ${sql.table(partition.name)} in share mode`.execute(trx);
      const { rows: pending } = await sql<{ found: boolean }>`
        select exists (select 1 from ${sql.table(partition.name)} where id > ${rolledUpTo}) as found`.execute(trx);
      if (pending[0]?.found) return false;
      await pack(sql`${sql.table(partition.name)}`).execute(trx);
      await sql`drop table ${sql.table(partition.name)}`.execute(trx);
      return true;
    });
    if (done) packed++;
  }
  await db.transaction().execute(async (trx) => {
    await serializeWriters(trx, 'farol:history-pack');
    const stray = sql`(delete from ${sql.table(RAW_DEFAULT_PARTITION)} where ts < ${before} and id <= ${rolledUpTo} returning *)`;
    await sql`with moved as ${stray} ${pack(sql`moved`)}`.execute(trx);
  });
  return packed;
}

/**
 * Drops the raw partitions and the packed day partitions that end at or before `before`, and
 * deletes packed hours from before then that strayed into the packed default partition;
 * returns the names of the partitions dropped.
 */
export async function dropRawPartitionsBefore(db: AnyKysely, before: number): Promise<string[]> {
  const dropped: string[] = [];
  for (const parent of [PARENT, PACKED_TABLE]) {
    for (const { name, to } of await listPartitions(db, parent)) {
      if (to > before) continue;
      await sql`drop table if exists ${sql.table(name)}`.execute(db);
      dropped.push(name);
    }
  }
  await sql`delete from ${sql.table(PACKED_DEFAULT_PARTITION)} where hour + 3600000 <= ${before}`.execute(db);
  return dropped;
}

/**
 * Migration 0160 on PostgreSQL: packed history (`metrics_packed`, day partitions plus a
 * default). Empty raw day partitions give way to hour partitions; ones holding samples stay
 * until they are packed. Rows keep their B-tree on `id` for the rollup watermark: they live
 * about an hour now, and a BRIN index, smaller, matches every range not yet summarised, so each
 * rollup chunk would read the whole open hour.
 */
export async function packRawHistory(db: AnyKysely, metricColumns: readonly string[], now: number): Promise<void> {
  const series = sql.raw(metricColumns.map((c) => `${c} double precision[] not null`).join(', '));
  await sql`create table ${sql.table(PACKED_TABLE)} (
      agent_seq bigint not null,
      hour bigint not null,
      off integer[] not null,
      ${series}
    ) partition by range (hour)`.execute(db);
  await sql`create unique index metrics_packed_agent_hour on ${sql.table(PACKED_TABLE)} (agent_seq, hour)`.execute(db);
  await sql`create table ${sql.table(PACKED_DEFAULT_PARTITION)} partition of ${sql.table(PACKED_TABLE)} default`.execute(db);
  for (const partition of await listPartitions(db)) {
    const { rows } = await sql<{ found: boolean }>`select exists (select 1 from ${sql.table(partition.name)}) as found`.execute(db);
    if (!rows[0]?.found) await sql`drop table ${sql.table(partition.name)}`.execute(db);
  }
  await prepareRawPartitions(db, now);
}

/**
 * Migration 0130 on PostgreSQL: rebuilds the plain `metrics_raw` of 0001 as a partitioned
 * table with the same columns and ids, a default partition, day partitions for the days its
 * rows and the next two days cover. The unique (agent_seq, ts) index keeps de-duplicating
 * re-sent samples; `id` (the rollup watermark) gets its own index; the `ts` index goes:
 * partitions prune by `ts`.
 */
export async function partitionRawHistory(db: AnyKysely, metricColumns: readonly string[], now: number): Promise<void> {
  await sql`alter table metrics_raw rename to metrics_raw_unpartitioned`.execute(db);
  await sql`alter index metrics_raw_agent_ts rename to metrics_raw_unpartitioned_agent_ts`.execute(db);
  await sql`alter index metrics_raw_ts rename to metrics_raw_unpartitioned_ts`.execute(db);
  const metrics = sql.raw(metricColumns.map((c) => `${c} double precision`).join(', '));
  await sql`create table metrics_raw (
      id bigint generated by default as identity not null,
      agent_seq bigint not null,
      ts bigint not null,
      ${metrics}
    ) partition by range (ts)`.execute(db);
  await sql`create unique index metrics_raw_agent_ts on metrics_raw (agent_seq, ts)`.execute(db);
  await sql`create index metrics_raw_id on metrics_raw (id)`.execute(db);
  await sql`create table ${sql.table(RAW_DEFAULT_PARTITION)} partition of metrics_raw default`.execute(db);
  const { rows } = await sql<{ day: number }>`select distinct ts / ${sql.lit(DAY_MS)} as day from metrics_raw_unpartitioned order by 1 desc limit 400`.execute(db);
  const today = Math.floor(now / DAY_MS);
  for (const day of new Set([...rows.map((r) => Number(r.day)), today, today + 1, today + 2])) {
    await sql`create table ${sql.table(`metrics_raw_d${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`)} partition of metrics_raw
      for values from (${sql.lit(day * DAY_MS)}) to (${sql.lit((day + 1) * DAY_MS)})`.execute(db);
  }
  const list = sql.raw(['id', 'agent_seq', 'ts', ...metricColumns].join(', '));
  await sql`insert into metrics_raw (${list}) select ${list} from metrics_raw_unpartitioned order by id`.execute(db);
  await sql`select setval(pg_get_serial_sequence('metrics_raw', 'id'), coalesce((select max(id) from metrics_raw), 0) + 1, false)`.execute(db);
  await sql`drop table metrics_raw_unpartitioned`.execute(db);
}
