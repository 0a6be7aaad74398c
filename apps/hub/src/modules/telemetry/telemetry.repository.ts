import { sql } from 'kysely';
import { HISTORY_METRICS, type HistoryValues, type MetricPoint, type Resolution } from '@farol/protocol';
import { METRIC_COLUMNS, type Db } from '../../infra/database.js';

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

export type TelemetryRepository = ReturnType<typeof createTelemetryRepository>;

/** SQL for heartbeat history: raw samples, rollup tiers, retention. */
export function createTelemetryRepository(db: Db) {
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
        const result = await db
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
    async upsertLatest(rows: Array<{ agentSeq: number; ts: number; json: string }>): Promise<void> {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK).map((r) => ({ agent_seq: r.agentSeq, ts: r.ts, sample: r.json }));
        await db
          .insertInto('agent_latest')
          .values(chunk)
          .onConflict((oc) =>
            oc
              .column('agent_seq')
              .doUpdateSet((eb) => ({ ts: eb.ref('excluded.ts'), sample: eb.ref('excluded.sample') }))
              .where('excluded.ts', '>=', (eb) => eb.ref('agent_latest.ts')),
          )
          .execute();
      }
    },

    /** Newest samples as JSON text, by agent sequence (all agents when `seqs` is omitted). */
    async latestSamples(seqs?: number[]): Promise<Map<number, string>> {
      let query = db.selectFrom('agent_latest').select(['agent_seq', 'sample']);
      if (seqs) query = query.where('agent_seq', 'in', seqs.length ? seqs : [-1]);
      const rows = await query.execute();
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

    /**
     * Recomputes every 1-minute and 1-hour bucket touched by raw rows with id in
     * (afterId, upToId]. Buckets are recomputed whole from their source rows, so late
     * (backfilled) samples and repeated runs give the same answer.
     */
    async rollup(afterId: number, upToId: number): Promise<{ minutes: number; hours: number }> {
      const rawAggregates = columns.flatMap((c) => [`avg(r.${c})`, `min(r.${c})`, `max(r.${c})`, `count(r.${c})`]);
      const rollupColumns = columns.flatMap((c) => [`${c}_avg`, `${c}_min`, `${c}_max`, `${c}_n`]);
      const updates = ['samples = excluded.samples', ...rollupColumns.map((c) => `${c} = excluded.${c}`)];
      const minutes = await sql`
        insert into metrics_1m (agent_seq, ts, samples, ${list(rollupColumns)})
        select r.agent_seq, (r.ts / ${MINUTE}) * ${MINUTE} as bucket, count(*), ${list(rawAggregates)}
        from metrics_raw r
        join (select distinct agent_seq, (ts / ${MINUTE}) * ${MINUTE} as bucket
              from metrics_raw where id > ${afterId} and id <= ${upToId}) d
          on r.agent_seq = d.agent_seq and r.ts >= d.bucket and r.ts < d.bucket + ${MINUTE}
        where true
        group by r.agent_seq, (r.ts / ${MINUTE}) * ${MINUTE}
        on conflict (agent_seq, ts) do update set ${list(updates)}
      `.execute(db);

      // Hours from minutes: each minute's average weighted by how many samples had a value.
      const minuteAggregates = columns.flatMap((c) => [
        `sum(m.${c}_avg * m.${c}_n) / nullif(sum(m.${c}_n), 0)`,
        `min(m.${c}_min)`,
        `max(m.${c}_max)`,
        `sum(m.${c}_n)`,
      ]);
      const hours = await sql`
        insert into metrics_1h (agent_seq, ts, samples, ${list(rollupColumns)})
        select m.agent_seq, (m.ts / ${HOUR}) * ${HOUR} as bucket, sum(m.samples), ${list(minuteAggregates)}
        from metrics_1m m
        join (select distinct agent_seq, (ts / ${HOUR}) * ${HOUR} as bucket
              from metrics_raw where id > ${afterId} and id <= ${upToId}) d
          on m.agent_seq = d.agent_seq and m.ts >= d.bucket and m.ts < d.bucket + ${HOUR}
        where true
        group by m.agent_seq, (m.ts / ${HOUR}) * ${HOUR}
        on conflict (agent_seq, ts) do update set ${list(updates)}
      `.execute(db);
      return { minutes: Number(minutes.numAffectedRows ?? 0), hours: Number(hours.numAffectedRows ?? 0) };
    },

    /** Deletes rows older than `before` from a tier, at most `limit` raw rows per call. */
    async deleteOlderThan(tier: Resolution, before: number, limit = 50_000): Promise<number> {
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
      const rows = (await db
        .selectFrom(table)
        .selectAll()
        .where('agent_seq', '=', agentSeq)
        .where('ts', '>=', from)
        .where('ts', '<=', to)
        .orderBy('ts')
        .execute()) as Array<Record<string, number | null>>;
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
