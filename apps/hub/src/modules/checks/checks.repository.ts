import { sql, type Selectable } from 'kysely';
import type { CheckProbe, CheckRunOn, CheckSource, CheckStatus, PerfData, StatusPageLanguage } from '@farol/protocol';
import type { CheckLatestTable, ChecksTable, Db, StatusPagesTable } from '../../infra/database.js';
import { dialectOf } from '../../infra/dialect.js';

/** A check as stored. */
export interface CheckRecord {
  id: string;
  name: string;
  description: string | null;
  probe: CheckProbe;
  runOn: CheckRunOn;
  intervalMs: number;
  timeoutMs: number;
  enabled: boolean;
  /** `file`: FAROL_CHECKS_FILE owns it. */
  source: CheckSource;
  createdAt: number;
  updatedAt: number;
}

/** A public status page as stored. */
export interface StatusPageRecord {
  id: string;
  slug: string;
  title: string;
  description: string | null;
  entries: Array<{ checkId: string; name: string }>;
  language: StatusPageLanguage;
  source: CheckSource;
  createdAt: number;
  updatedAt: number;
}

/** One run at one location (`hub` or an agent id). */
export interface ResultRecord {
  checkId: string;
  location: string;
  agentId: string | null;
  ts: number;
  status: CheckStatus;
  latencyMs: number | null;
  message: string;
  certDaysLeft: number | null;
  perfdata: PerfData[];
}

export interface HourlyCounts {
  location: string;
  up: number;
  down: number;
}

/** A tier of check history, as for metrics: every run, or 1-minute / 1-hour rollups. */
export type CheckTier = 'raw' | '1m' | '1h';

/** Runs of one check at one location in one bucket (a raw run is a bucket of one). */
export interface CheckBucket {
  location: string;
  agentId: string | null;
  ts: number;
  ok: number;
  warning: number;
  critical: number;
  unknown: number;
  latencyAvg: number | null;
  latencyMin: number | null;
  latencyMax: number | null;
}

const HOUR_MS = 3_600_000;
/** The rollup pass's progress: every result with `seq` up to it is in `check_1m` and `check_1h`. */
export const CHECK_ROLLUP_KEY = 'checks.rollup.seq';
// Inlined as literals: bound parameters arrive as REAL in SQLite and would break integer division.
const MINUTE = sql.lit(60_000);
const HOUR = sql.lit(HOUR_MS);
const ROLLUP_COLUMNS = sql.raw('check_id, location, ts, ok, warning, critical, unknown, latency_sum, latency_min, latency_max, latency_n');
/** A bucket plus the runs of a pass: counts and sums add up, extremes compare (NULL: no latency yet). */
function addToBucket(table: 'check_1m' | 'check_1h') {
  const sums = ['ok', 'warning', 'critical', 'unknown', 'latency_sum', 'latency_n'].map((c) => `${c} = ${table}.${c} + excluded.${c}`);
  const extreme = (column: string, wins: '<' | '>') =>
    `${column} = case when ${table}.${column} is null or excluded.${column} ${wins} ${table}.${column} then coalesce(excluded.${column}, ${table}.${column}) else ${table}.${column} end`;
  return sql.raw([...sums, extreme('latency_min', '<'), extreme('latency_max', '>')].join(', '));
}
/** Results not rolled up yet: the newest, read beside the rollups so uptime is never a pass behind. */
const WATERMARK = sql`(select coalesce(max(cast(value as bigint)), 0) from kv where key = ${CHECK_ROLLUP_KEY})`;
const NOT_ROLLED_UP = sql`seq > ${WATERMARK}`;
const IS_UP = sql`case when status in ('ok', 'warning') then 1 else 0 end`;
const IS_DOWN = sql`case when status = 'critical' then 1 else 0 end`;

type CheckRow = Selectable<ChecksTable>;

/** A stored run (or the newest one) as a record; the result table adds perfdata. */
function toLatest(row: Omit<Selectable<CheckLatestTable>, 'stored_at'>): Omit<ResultRecord, 'perfdata'> {
  return {
    checkId: row.check_id,
    location: row.location,
    agentId: row.agent_id,
    ts: Number(row.ts),
    status: row.status as CheckStatus,
    latencyMs: nullableNumber(row.latency_ms),
    message: row.message,
    certDaysLeft: nullableNumber(row.cert_days_left),
  };
}

function toCheck(row: CheckRow): CheckRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    probe: JSON.parse(row.probe) as CheckProbe,
    runOn: JSON.parse(row.run_on) as CheckRunOn,
    intervalMs: Number(row.interval_ms),
    timeoutMs: Number(row.timeout_ms),
    enabled: Boolean(row.enabled),
    source: row.source === 'file' ? 'file' : 'api',
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(check: CheckRecord): CheckRow {
  return {
    id: check.id,
    name: check.name,
    description: check.description,
    probe: JSON.stringify(check.probe),
    run_on: JSON.stringify(check.runOn),
    interval_ms: check.intervalMs,
    timeout_ms: check.timeoutMs,
    enabled: check.enabled ? 1 : 0,
    source: check.source,
    created_at: check.createdAt,
    updated_at: check.updatedAt,
  };
}

function toStatusPage(row: Selectable<StatusPagesTable>): StatusPageRecord {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    description: row.description,
    entries: JSON.parse(row.entries) as StatusPageRecord['entries'],
    language: row.language === 'en' || row.language === 'pt-BR' ? row.language : 'auto',
    source: row.source === 'file' ? 'file' : 'api',
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function statusPageRow(page: StatusPageRecord): Selectable<StatusPagesTable> {
  return {
    id: page.id,
    slug: page.slug,
    title: page.title,
    description: page.description,
    entries: JSON.stringify(page.entries),
    language: page.language,
    source: page.source,
    created_at: page.createdAt,
    updated_at: page.updatedAt,
  };
}

const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** Service checks and their results (issue #19). SQL only. */
export function createChecksRepository(db: Db) {
  return {
    async list(): Promise<CheckRecord[]> {
      return (await db.selectFrom('checks').selectAll().orderBy('name').execute()).map(toCheck);
    },

    async insert(check: CheckRecord): Promise<void> {
      await db.insertInto('checks').values(toRow(check)).execute();
    },

    async update(check: CheckRecord): Promise<void> {
      const { id: _id, created_at: _created, ...rest } = toRow(check);
      await db.updateTable('checks').set(rest).where('id', '=', check.id).execute();
    },

    /** The check and everything recorded about it. */
    async delete(id: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('checks').where('id', '=', id).execute();
        await trx.deleteFrom('check_latest').where('check_id', '=', id).execute();
        await trx.deleteFrom('check_results').where('check_id', '=', id).execute();
        await trx.deleteFrom('check_1m').where('check_id', '=', id).execute();
        await trx.deleteFrom('check_1h').where('check_id', '=', id).execute();
      });
    },

    /**
     * Raw rows and the newest per location, in one transaction; `storedAt` is this hub's clock
     * (the leader follows `check_latest` by it). The rollup pass makes the tiers later.
     */
    async record(results: readonly ResultRecord[], storedAt: number): Promise<void> {
      if (results.length === 0) return;
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('check_results')
          .values(
            results.map((r) => ({
              check_id: r.checkId,
              location: r.location,
              agent_id: r.agentId,
              ts: r.ts,
              status: r.status,
              latency_ms: r.latencyMs,
              message: r.message,
              cert_days_left: r.certDaysLeft,
              perfdata: r.perfdata.length > 0 ? JSON.stringify(r.perfdata) : null,
            })),
          )
          .execute();
        // One row per check and location (a batch's newest), upserted in one statement.
        const newest = new Map<string, ResultRecord>();
        for (const r of results) {
          const key = `${r.checkId}\u0000${r.location}`;
          const held = newest.get(key);
          if (!held || held.ts <= r.ts) newest.set(key, r);
        }
        await trx
          .insertInto('check_latest')
          .values(
            [...newest.values()].map((r) => ({
              check_id: r.checkId,
              location: r.location,
              agent_id: r.agentId,
              ts: r.ts,
              status: r.status,
              latency_ms: r.latencyMs,
              message: r.message,
              cert_days_left: r.certDaysLeft,
              stored_at: storedAt,
            })),
          )
          .onConflict((oc) =>
            oc
              .columns(['check_id', 'location'])
              .doUpdateSet((eb) => ({
                agent_id: eb.ref('excluded.agent_id'),
                ts: eb.ref('excluded.ts'),
                status: eb.ref('excluded.status'),
                latency_ms: eb.ref('excluded.latency_ms'),
                message: eb.ref('excluded.message'),
                cert_days_left: eb.ref('excluded.cert_days_left'),
                stored_at: eb.ref('excluded.stored_at'),
              }))
              .where('excluded.ts', '>=', (eb) => eb.ref('check_latest.ts')),
          )
          .execute();
      });
    },

    async latest(checkId?: string): Promise<Array<Omit<ResultRecord, 'perfdata'>>> {
      let query = db.selectFrom('check_latest').selectAll();
      if (checkId !== undefined) query = query.where('check_id', '=', checkId);
      const rows = await query.execute();
      return rows.map(toLatest);
    },

    /** Newest results that any hub stored at or after `since` (its clock), oldest first (issue #14). */
    async latestStoredSince(since: number, limit: number): Promise<Array<Omit<ResultRecord, 'perfdata'> & { storedAt: number }>> {
      const rows = await db.selectFrom('check_latest').selectAll().where('stored_at', '>=', since).orderBy('stored_at').limit(limit).execute();
      return rows.map((row) => ({ ...toLatest(row), storedAt: Number(row.stored_at) }));
    },

    /** Newest first. */
    async results(checkId: string, query: { since: number; location?: string | undefined; limit: number }): Promise<ResultRecord[]> {
      let select = db.selectFrom('check_results').selectAll().where('check_id', '=', checkId).where('ts', '>=', query.since);
      if (query.location !== undefined) select = select.where('location', '=', query.location);
      const rows = await select.orderBy('ts', 'desc').orderBy('seq', 'desc').limit(query.limit).execute();
      return rows.map((row) => ({ ...toLatest(row), perfdata: row.perfdata ? (JSON.parse(row.perfdata) as PerfData[]) : [] }));
    },

    /**
     * Up and down runs per location since `since` (hour granularity), for one check or all: the
     * hourly rollups plus the results not rolled up yet, read in one statement (one snapshot, so
     * a rollup pass committing meanwhile neither drops nor doubles a run).
     */
    async counts(since: number, checkId?: string): Promise<Array<HourlyCounts & { checkId: string }>> {
      const from = Math.floor(since / HOUR_MS) * HOUR_MS;
      const oneCheck = checkId === undefined ? sql`` : sql`and check_id = ${checkId}`;
      const rows = await sql<{ check_id: string; location: string; up: number | string; down: number | string }>`
        select check_id, location, sum(up) as up, sum(down) as down from (
          select check_id, location, ok + warning as up, critical as down from check_1h where ts >= ${from} ${oneCheck}
          union all
          select check_id, location, ${IS_UP} as up, ${IS_DOWN} as down from check_results where ${NOT_ROLLED_UP} and ts >= ${from} ${oneCheck}
        ) runs
        group by check_id, location`.execute(db);
      return rows.rows.map((row) => ({ checkId: row.check_id, location: row.location, up: Number(row.up), down: Number(row.down) }));
    },

    /** Up and down runs per check and hour since `since`, over all locations (status pages' daily bars); rollups plus the newest results. */
    async hourlyTotals(checkIds: readonly string[], since: number): Promise<Array<{ checkId: string; hour: number; up: number; down: number }>> {
      if (checkIds.length === 0) return [];
      const from = Math.floor(since / HOUR_MS) * HOUR_MS;
      const ids = sql.join([...checkIds]);
      const rows = await sql<{ check_id: string; hour: number | string; up: number | string; down: number | string }>`
        select check_id, hour, sum(up) as up, sum(down) as down from (
          select check_id, ts as hour, ok + warning as up, critical as down from check_1h where ts >= ${from} and check_id in (${ids})
          union all
          select check_id, (ts / ${HOUR}) * ${HOUR} as hour, ${IS_UP} as up, ${IS_DOWN} as down from check_results
          where ${NOT_ROLLED_UP} and ts >= ${from} and check_id in (${ids})
        ) runs
        group by check_id, hour`.execute(db);
      return rows.rows.map((row) => ({ checkId: row.check_id, hour: Number(row.hour), up: Number(row.up), down: Number(row.down) }));
    },

    /**
     * One check's history in a tier, oldest first (charts). A rollup tier includes the results
     * not rolled up yet (summed into their buckets here), so a chart is never a pass behind.
     */
    async buckets(checkId: string, tier: CheckTier, query: { from: number; to: number; location?: string | undefined }): Promise<CheckBucket[]> {
      const location = query.location === undefined ? sql`` : sql`and location = ${query.location}`;
      type Row = {
        location: string;
        ts: number | string;
        ok: number | string;
        warning: number | string;
        critical: number | string;
        unknown: number | string;
        latency_sum: number | string;
        latency_min: number | null;
        latency_max: number | null;
        latency_n: number | string;
      };
      const counts = (width: typeof MINUTE | null) => {
        const bucket = width === null ? sql`ts` : sql`(ts / ${width}) * ${width}`;
        const sum = (expression: ReturnType<typeof sql>) => (width === null ? expression : sql`sum(${expression})`);
        return sql`
          select location, ${bucket} as ts,
            ${sum(sql`case when status = 'ok' then 1 else 0 end`)} as ok, ${sum(sql`case when status = 'warning' then 1 else 0 end`)} as warning,
            ${sum(sql`case when status = 'critical' then 1 else 0 end`)} as critical, ${sum(sql`case when status = 'unknown' then 1 else 0 end`)} as unknown,
            ${width === null ? sql`coalesce(latency_ms, 0)` : sql`coalesce(sum(latency_ms), 0)`} as latency_sum,
            ${width === null ? sql`latency_ms` : sql`min(latency_ms)`} as latency_min, ${width === null ? sql`latency_ms` : sql`max(latency_ms)`} as latency_max,
            ${width === null ? sql`case when latency_ms is null then 0 else 1 end` : sql`count(latency_ms)`} as latency_n
          from check_results`;
      };
      const rows =
        tier === 'raw'
          ? await sql<Row>`${counts(null)} where check_id = ${checkId} and ts >= ${query.from} and ts <= ${query.to} ${location} order by ts, seq`.execute(db)
          : await (() => {
              const width = tier === '1m' ? MINUTE : HOUR;
              return sql<Row>`
                select location, ts, ok, warning, critical, unknown, latency_sum, latency_min, latency_max, latency_n
                from ${sql.table(tier === '1m' ? 'check_1m' : 'check_1h')} where check_id = ${checkId} and ts >= ${query.from} and ts <= ${query.to} ${location}
                union all
                ${counts(width)} where check_id = ${checkId} and ${NOT_ROLLED_UP} and (ts / ${width}) * ${width} >= ${query.from} and ts <= ${query.to} ${location}
                group by location, (ts / ${width}) * ${width}`.execute(db);
            })();
      const merged = new Map<string, CheckBucket & { latencySum: number; latencyN: number }>();
      const out: Array<CheckBucket & { latencySum: number; latencyN: number }> = [];
      for (const row of rows.rows) {
        const ts = Number(row.ts);
        const key = `${row.location}\u0000${ts}`;
        const min = nullableNumber(row.latency_min);
        const max = nullableNumber(row.latency_max);
        const held = tier === 'raw' ? undefined : merged.get(key);
        if (held) {
          held.ok += Number(row.ok);
          held.warning += Number(row.warning);
          held.critical += Number(row.critical);
          held.unknown += Number(row.unknown);
          held.latencySum += Number(row.latency_sum);
          held.latencyN += Number(row.latency_n);
          if (min !== null) held.latencyMin = Math.min(held.latencyMin ?? min, min);
          if (max !== null) held.latencyMax = Math.max(held.latencyMax ?? max, max);
          continue;
        }
        const bucket = {
          location: row.location,
          agentId: row.location === 'hub' ? null : row.location,
          ts,
          ok: Number(row.ok),
          warning: Number(row.warning),
          critical: Number(row.critical),
          unknown: Number(row.unknown),
          latencyAvg: null,
          latencyMin: min,
          latencyMax: max,
          latencySum: Number(row.latency_sum),
          latencyN: Number(row.latency_n),
        };
        merged.set(key, bucket);
        out.push(bucket);
      }
      if (tier !== 'raw') out.sort((a, b) => a.ts - b.ts || a.location.localeCompare(b.location));
      return out.map(({ latencySum, latencyN, ...bucket }) => ({ ...bucket, latencyAvg: latencyN === 0 ? null : latencySum / latencyN }));
    },

    /** The rollup pass's watermark and the newest result's `seq`: what is left to roll up. */
    async rollupProgress(): Promise<{ done: number; newest: number }> {
      const done = await db.selectFrom('kv').select('value').where('key', '=', CHECK_ROLLUP_KEY).executeTakeFirst();
      const newest = await db.selectFrom('check_results').select((eb) => eb.fn.max('seq').as('max')).executeTakeFirst();
      return { done: Number(done?.value ?? 0), newest: Number(newest?.max ?? 0) };
    },

    /**
     * Adds the results with `seq` in (watermark, upToSeq] to their 1-minute and 1-hour buckets
     * and moves the watermark, in one transaction: each result counts once, a late one lands in
     * its old bucket, and a pass reads only what is new (never the whole raw table). `fence`
     * first (several hubs: only the leader of the moment commits); the watermark row is locked,
     * so two passes never add the same results.
     */
    async rollup(upToSeq: number, fence?: (trx: Db) => Promise<void>): Promise<{ from: number; to: number; minutes: number; hours: number }> {
      return db.transaction().execute(async (trx) => {
        await fence?.(trx);
        await trx.insertInto('kv').values({ key: CHECK_ROLLUP_KEY, value: '0' }).onConflict((oc) => oc.column('key').doNothing()).execute();
        let watermark = trx.selectFrom('kv').select('value').where('key', '=', CHECK_ROLLUP_KEY);
        if (dialectOf(db) === 'postgres') watermark = watermark.forUpdate();
        const from = Number((await watermark.executeTakeFirst())?.value ?? 0);
        if (from >= upToSeq) return { from, to: from, minutes: 0, hours: 0 };
        const into = async (table: 'check_1m' | 'check_1h', width: typeof MINUTE) =>
          sql`
            insert into ${sql.table(table)} (${ROLLUP_COLUMNS})
            select check_id, location, (ts / ${width}) * ${width},
              sum(case when status = 'ok' then 1 else 0 end), sum(case when status = 'warning' then 1 else 0 end),
              sum(case when status = 'critical' then 1 else 0 end), sum(case when status = 'unknown' then 1 else 0 end),
              coalesce(sum(latency_ms), 0), min(latency_ms), max(latency_ms), count(latency_ms)
            from check_results
            where seq > ${from} and seq <= ${upToSeq}
            group by check_id, location, (ts / ${width}) * ${width}
            on conflict (check_id, location, ts) do update set ${addToBucket(table)}`.execute(trx);
        const minutes = await into('check_1m', MINUTE);
        const hours = await into('check_1h', HOUR);
        await trx.updateTable('kv').set({ value: String(upToSeq) }).where('key', '=', CHECK_ROLLUP_KEY).execute();
        return { from, to: upToSeq, minutes: Number(minutes.numAffectedRows ?? 0), hours: Number(hours.numAffectedRows ?? 0) };
      });
    },

    async statusPages(): Promise<StatusPageRecord[]> {
      return (await db.selectFrom('status_pages').selectAll().orderBy('slug').execute()).map(toStatusPage);
    },

    async insertStatusPage(page: StatusPageRecord): Promise<void> {
      await db.insertInto('status_pages').values(statusPageRow(page)).execute();
    },

    async updateStatusPage(page: StatusPageRecord): Promise<void> {
      const { id: _id, created_at: _created, ...rest } = statusPageRow(page);
      await db.updateTable('status_pages').set(rest).where('id', '=', page.id).execute();
    },

    async deleteStatusPage(id: string): Promise<void> {
      await db.deleteFrom('status_pages').where('id', '=', id).execute();
    },

    /**
     * Retention: raw runs older than `before.raw` that are rolled up (at most `chunk` per
     * statement), then rollups older than `before.minute` / `before.hour`.
     */
    async prune(before: { raw: number; minute: number; hour: number }, chunk = 10_000): Promise<{ raw: number; minute: number; hour: number }> {
      let raw = 0;
      for (;;) {
        const doomed = db
          .selectFrom('check_results')
          .select('seq')
          .where('ts', '<', before.raw)
          // Never a run the rollups lack (a leader that was away for days rolls up first).
          .where(sql<boolean>`seq <= ${WATERMARK}`)
          .limit(chunk);
        const result = await db.deleteFrom('check_results').where('seq', 'in', doomed).executeTakeFirst();
        const count = Number(result.numDeletedRows);
        raw += count;
        if (count < chunk) break;
      }
      const minute = await db.deleteFrom('check_1m').where('ts', '<', before.minute).executeTakeFirst();
      const hour = await db.deleteFrom('check_1h').where('ts', '<', before.hour).executeTakeFirst();
      return { raw, minute: Number(minute.numDeletedRows), hour: Number(hour.numDeletedRows) };
    },
  };
}
export type ChecksRepository = ReturnType<typeof createChecksRepository>;
