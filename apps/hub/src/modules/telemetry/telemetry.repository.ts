import { sql } from 'kysely';
import { HISTORY_METRICS, type HistoryValues, type MetricPoint, type Resolution } from '@farol/protocol';
import { METRIC_COLUMNS, type Db } from '../../infra/database.js';
import { dialectOf } from '../../infra/dialect.js';
import { dropRawPartitionsBefore, packClosedRawHours, prepareRawPartitions, RAW_DEFAULT_PARTITION } from '../../infra/history-partitions.js';

export interface RawSampleRow {
  agentSeq: number;
  ts: number;
  values: HistoryValues;
}

// Inlined as literals: bound parameters arrive as REAL in SQLite and would break integer division.
const MINUTE = sql.lit(60_000);
const HOUR = sql.lit(3_600_000);
/** SQLite allows 32,766 bound parameters per statement; 13 per row leaves room for 1,000 rows. */
const INSERT_CHUNK = 1_000;

const columns = HISTORY_METRICS.map((m) => METRIC_COLUMNS[m]);
const list = (parts: string[]) => sql.raw(parts.join(', '));
const rawList = list(['agent_seq', 'ts', ...columns]);
const rawAggregates = columns.flatMap((c) => [`avg(r.${c})`, `min(r.${c})`, `max(r.${c})`, `count(r.${c})`]);
const rollupColumns = columns.flatMap((c) => [`${c}_avg`, `${c}_min`, `${c}_max`, `${c}_n`]);
const rollupUpdates = ['samples = excluded.samples', ...rollupColumns.map((c) => `${c} = excluded.${c}`)];

/**
 * PostgreSQL: raw samples of one machine between `from` and `to`, from the rows of the hours
 * not packed yet and from the packed hours' arrays (ADR 0007).
 */
function samplesSql(agentSeq: ReturnType<typeof sql> | number, from: ReturnType<typeof sql> | number, to: ReturnType<typeof sql> | number) {
  const unpacked = list(columns.map((c) => `u.${c}`));
  // Bound numbers need their type spelled out: next to integer literals PostgreSQL would guess int4.
  [agentSeq, from, to] = [agentSeq, from, to].map((v) => (typeof v === 'number' ? sql`${v}::bigint` : v)) as [typeof agentSeq, typeof from, typeof to];
  return sql`
    select r.agent_seq, r.ts, ${list(columns.map((c) => `r.${c}`))} from metrics_raw r
    where r.agent_seq = ${agentSeq} and r.ts >= ${from} and r.ts < ${to}
    union all
    select p.agent_seq, p.hour + u.off, ${unpacked}
    from metrics_packed p cross join lateral unnest(p.off, ${list(columns.map((c) => `p.${c}`))}) as u(off, ${list(columns)})
    where p.agent_seq = ${agentSeq} and p.hour > ${from} - ${HOUR} and p.hour < ${to} and p.hour + u.off >= ${from} and p.hour + u.off < ${to}`;
}

export type TelemetryRepository = ReturnType<typeof createTelemetryRepository>;

/** SQL for heartbeat history: raw samples, rollup tiers, retention. */
export function createTelemetryRepository(db: Db) {
  const postgres = dialectOf(db) === 'postgres';
  return {
    /**
     * Inserts samples, ignoring ones already stored (same agent and timestamp: a re-sent
     * backfill). Returns the keys `seq:ts` that were new.
     */
    async insertSamples(rows: RawSampleRow[]): Promise<Set<string>> {
      const inserted = new Set<string>();
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK).map((row) => {
          const record: Record<string, number | null> = { agent_seq: row.agentSeq, ts: row.ts };
          for (const metric of HISTORY_METRICS) record[METRIC_COLUMNS[metric]] = row.values[metric];
          return record;
        });
        const result = postgres
          ? // A re-sent sample of an hour already packed is recognised there (the unique index only sees rows).
            (
              await sql<{ agent_seq: number; ts: number }>`
                insert into metrics_raw (${rawList})
                select ${rawList} from json_populate_recordset(null::metrics_raw, ${JSON.stringify(chunk)}::json) v
                where not exists (
                  select 1 from metrics_packed p
                  where p.agent_seq = v.agent_seq and p.hour = (v.ts / ${HOUR}) * ${HOUR} and (v.ts % ${HOUR})::integer = any (p.off))
                on conflict (agent_seq, ts) do nothing
                returning agent_seq, ts`.execute(db)
            ).rows
          : await db
              .insertInto('metrics_raw')
              .values(chunk as never)
              .onConflict((oc) => oc.columns(['agent_seq', 'ts']).doNothing())
              .returning(['agent_seq', 'ts'])
              .execute();
        for (const r of result) inserted.add(`${r.agent_seq}:${Number(r.ts)}`);
      }
      return inserted;
    },

    /** Keeps each agent's newest full sample; an older one never replaces a newer one. */
    async upsertLatest(rows: Array<{ agentSeq: number; ts: number; json: string; storedAt?: number; updatesOffered?: number }>): Promise<void> {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows
          .slice(i, i + INSERT_CHUNK)
          .map((r) => ({ agent_seq: r.agentSeq, ts: r.ts, sample: r.json, stored_at: r.storedAt ?? 0, updates_offered: r.updatesOffered ?? 0 }));
        await db
          .insertInto('agent_latest')
          .values(chunk)
          .onConflict((oc) =>
            oc
              .column('agent_seq')
              .doUpdateSet((eb) => ({
                ts: eb.ref('excluded.ts'),
                sample: eb.ref('excluded.sample'),
                stored_at: eb.ref('excluded.stored_at'),
                updates_offered: eb.ref('excluded.updates_offered'),
              }))
              .where('excluded.ts', '>=', (eb) => eb.ref('agent_latest.ts')),
          )
          .execute();
      }
    },

    /**
     * Newest samples stored after `since` (the storing hub's clock), oldest first: how the
     * leader's alerts engine follows heartbeats that other hubs received (issue #14).
     */
    async latestStoredSince(since: number, limit: number): Promise<Array<{ agentId: string; storedAt: number; sample: string }>> {
      const rows = await db
        .selectFrom('agent_latest')
        .innerJoin('agents', 'agents.seq', 'agent_latest.agent_seq')
        .select(['agents.id as agentId', 'agent_latest.stored_at as storedAt', 'agent_latest.sample'])
        .where('agent_latest.stored_at', '>', since)
        .orderBy('agent_latest.stored_at')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ agentId: r.agentId, storedAt: Number(r.storedAt), sample: r.sample }));
    },

    /** Newest samples as JSON text, by agent sequence (all agents when `seqs` is omitted). */
    async latestSamples(seqs?: number[]): Promise<Map<number, string>> {
      let query = db.selectFrom('agent_latest').select(['agent_seq', 'sample']);
      if (seqs) query = query.where('agent_seq', 'in', seqs.length ? seqs : [-1]);
      const rows = await query.execute();
      return new Map(rows.map((r) => [r.agent_seq, r.sample]));
    },

    /** Newest samples as JSON text, by agent sequence, of the agents with a container offering an update. */
    async latestOfferingUpdates(): Promise<Map<number, string>> {
      const rows = await db.selectFrom('agent_latest').select(['agent_seq', 'sample']).where('updates_offered', '>', 0).execute();
      return new Map(rows.map((r) => [r.agent_seq, r.sample]));
    },

    async maxRawId(): Promise<number> {
      const row = await db.selectFrom('metrics_raw').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
      return Number(row?.max ?? 0);
    },

    async getKv(key: string): Promise<string | undefined> {
      const row = await db.selectFrom('kv').select('value').where('key', '=', key).executeTakeFirst();
      return row?.value;
    },

    async setKv(key: string, value: string): Promise<void> {
      await db
        .insertInto('kv')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
    },

    /** The (agent, bucket) pairs, `bucketMs` long (a minute, an hour), that raw rows with id in (afterId, upToId] fall in, by agent. */
    async bucketsTouched(afterId: number, upToId: number, bucketMs: number): Promise<Array<{ agentSeq: number; bucket: number }>> {
      // A literal, not a parameter: SQLite binds a JS number as a real, and ts / 60000.0 is no bucket.
      const size = sql.lit(Math.trunc(bucketMs));
      const rows = await sql<{ agent_seq: number; bucket: number }>`
        select distinct agent_seq, (ts / ${size}) * ${size} as bucket from metrics_raw
        where id > ${afterId} and id <= ${upToId} order by agent_seq, bucket`.execute(db);
      return rows.rows.map((r) => ({ agentSeq: Number(r.agent_seq), bucket: Number(r.bucket) }));
    },

    /**
     * Recomputes the given 1-minute buckets whole from their raw samples, so late (backfilled)
     * samples and repeated runs give the same answer. The hour tier follows with `rollupHours`.
     */
    async rollupMinuteBuckets(buckets: ReadonlyArray<{ agentSeq: number; bucket: number }>): Promise<number> {
      if (buckets.length === 0) return 0;
      const touched = sql.join(buckets.map((b) => sql`(cast(${b.agentSeq} as bigint), cast(${b.bucket} as bigint))`));
      const inBucket = sql`r.agent_seq = d.agent_seq and r.ts >= d.bucket and r.ts < d.bucket + ${MINUTE}`;
      // PostgreSQL: a bucket's samples may sit partly in a packed hour (a late sample after packing).
      const unpacked = list(columns.map((c) => `u.${c}`));
      const minutes = await (postgres
        ? sql`
            with d (agent_seq, bucket) as (values ${touched})
            insert into metrics_1m (agent_seq, ts, samples, ${list(rollupColumns)})
            select r.agent_seq, (r.ts / ${MINUTE}) * ${MINUTE} as bucket, count(*), ${list(rawAggregates)}
            from (
              select r.agent_seq, r.ts, ${list(columns.map((c) => `r.${c}`))} from metrics_raw r join d on ${inBucket}
              union all
              select p.agent_seq, p.hour + u.off, ${unpacked}
              from d join metrics_packed p on p.agent_seq = d.agent_seq and p.hour = (d.bucket / ${HOUR}) * ${HOUR}
              cross join lateral unnest(p.off, ${list(columns.map((c) => `p.${c}`))}) as u(off, ${list(columns)})
              where p.hour + u.off >= d.bucket and p.hour + u.off < d.bucket + ${MINUTE}
            ) r
            group by r.agent_seq, (r.ts / ${MINUTE}) * ${MINUTE}
            on conflict (agent_seq, ts) do update set ${list(rollupUpdates)}`
        : sql`
            with d (agent_seq, bucket) as (values ${touched})
            insert into metrics_1m (agent_seq, ts, samples, ${list(rollupColumns)})
            select r.agent_seq, (r.ts / ${MINUTE}) * ${MINUTE} as bucket, count(*), ${list(rawAggregates)}
            from d join metrics_raw r on ${inBucket}
            where true
            group by r.agent_seq, (r.ts / ${MINUTE}) * ${MINUTE}
            on conflict (agent_seq, ts) do update set ${list(rollupUpdates)}`
      ).execute(db);
      return Number(minutes.numAffectedRows ?? 0);
    },

    /**
     * Recomputes the given 1-hour buckets whole from their 1-minute rows: each minute's average
     * weighted by how many samples had a value.
     */
    async rollupHours(buckets: ReadonlyArray<{ agentSeq: number; bucket: number }>): Promise<number> {
      if (buckets.length === 0) return 0;
      const minuteAggregates = columns.flatMap((c) => [
        `sum(m.${c}_avg * m.${c}_n) / nullif(sum(m.${c}_n), 0)`,
        `min(m.${c}_min)`,
        `max(m.${c}_max)`,
        `sum(m.${c}_n)`,
      ]);
      const touched = sql.join(buckets.map((b) => sql`(cast(${b.agentSeq} as bigint), cast(${b.bucket} as bigint))`));
      const hours = await sql`
        with d (agent_seq, bucket) as (values ${touched})
        insert into metrics_1h (agent_seq, ts, samples, ${list(rollupColumns)})
        select m.agent_seq, (m.ts / ${HOUR}) * ${HOUR} as bucket, sum(m.samples), ${list(minuteAggregates)}
        from metrics_1m m join d on m.agent_seq = d.agent_seq and m.ts >= d.bucket and m.ts < d.bucket + ${HOUR}
        where true
        group by m.agent_seq, (m.ts / ${HOUR}) * ${HOUR}
        on conflict (agent_seq, ts) do update set ${list(rollupUpdates)}
      `.execute(db);
      return Number(hours.numAffectedRows ?? 0);
    },

    /**
     * Makes sure raw samples of this hour and the next two land in their own hour partition,
     * and packed hours in their day partition (PostgreSQL, issue #13); returns how many
     * partitions it created. SQLite has one table.
     */
    async prepareRawDays(now: number): Promise<number> {
      if (!postgres) return 0;
      return prepareRawPartitions(db, now);
    },

    /**
     * Packs the raw hours that are over and rolled up into one row per machine and hour
     * (PostgreSQL); returns how many hour partitions it packed. SQLite: 0.
     */
    async packClosedRaw(now: number, rolledUpTo: number): Promise<number> {
      if (!postgres) return 0;
      return packClosedRawHours(db, columns, now, rolledUpTo);
    },

    /**
     * Drops the raw partitions and packed days that end at or before `before` whole, without
     * deleting row by row (PostgreSQL); returns how many. A packed day straddling `before`
     * stays until it has all aged out, so raw samples live up to a day longer than their
     * retention there. SQLite: 0.
     */
    async dropRawDaysBefore(before: number): Promise<number> {
      if (!postgres) return 0;
      return (await dropRawPartitionsBefore(db, before)).length;
    },

    /**
     * Deletes rows older than `before` from a tier, at most `limit` raw rows per call. On
     * PostgreSQL raw rows are deleted only from the default partition (stray days); day
     * partitions go whole by `dropRawDaysBefore`.
     */
    async deleteOlderThan(tier: Resolution, before: number, limit = 50_000): Promise<number> {
      if (tier === 'raw' && postgres) {
        const stray = sql.table(RAW_DEFAULT_PARTITION);
        const result = await sql`delete from ${stray} where id in (select id from ${stray} where ts < ${before} limit ${limit})`.execute(db);
        return Number(result.numAffectedRows ?? 0);
      }
      if (tier === 'raw') {
        const result = await db
          .deleteFrom('metrics_raw')
          .where('id', 'in', (eb) => eb.selectFrom('metrics_raw').select('id').where('ts', '<', before).limit(limit))
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      }
      const result = await db
        .deleteFrom(tier === '1m' ? 'metrics_1m' : 'metrics_1h')
        .where('ts', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async queryRange(agentSeq: number, tier: Resolution, from: number, to: number): Promise<MetricPoint[]> {
      const table = tier === 'raw' ? 'metrics_raw' : tier === '1m' ? 'metrics_1m' : 'metrics_1h';
      // Only the columns a point needs: a month of minutes is 43,200 rows, and every column
      // more is 43,200 values more to send and parse.
      const wanted = tier === 'raw' ? columns : columns.flatMap((c) => [`${c}_avg`, `${c}_min`, `${c}_max`]);
      const rows = (
        tier === 'raw' && postgres
          ? (await sql<Record<string, number | null>>`select * from (${samplesSql(agentSeq, from, sql`${to + 1}::bigint`)}) s order by ts`.execute(db)).rows
          : await db
        .selectFrom(table)
        .select(['ts', ...wanted].map((c) => sql.ref<number | null>(c).as(c)))
        .where('agent_seq', '=', agentSeq)
        .where('ts', '>=', from)
        .where('ts', '<=', to)
        .orderBy('ts')
        .execute()
      ) as Array<Record<string, number | null>>;
      return rows.map((row) => {
        const values = {} as MetricPoint['values'];
        for (const metric of HISTORY_METRICS) {
          const c = METRIC_COLUMNS[metric];
          // A raw sample is its own average and extremes.
          const [avg, min, max] = tier === 'raw' ? [row[c], row[c], row[c]] : [row[`${c}_avg`], row[`${c}_min`], row[`${c}_max`]];
          values[metric] = { avg: avg ?? null, min: min ?? null, max: max ?? null };
        }
        return { ts: Number(row.ts), values };
      });
    },
  };
}
