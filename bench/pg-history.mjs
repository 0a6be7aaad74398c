#!/usr/bin/env node
// History at scale (issue #13): storage per heartbeat (as rows, and packed once the hour is over
// on PostgreSQL), a rollup pass, packing and retention of N agents' samples, and a 30-day
// 1-minute query for one machine. Runs the hub's own
// migrations, repository and rollup service in-process, against a fresh PostgreSQL database
// on the server of --database-url (dropped at the end) or, with --sqlite, a fresh SQLite file
// for comparison. Synthetic data is written through the repository (heartbeats) or with SQL
// (the day to drop, the month of minutes). Prints JSON (also bench/results/history-<db>.json).
//   node bench/pg-history.mjs [--database-url postgres://postgres@127.0.0.1:5432/test | --sqlite]
//     [--agents 10000] [--drop-samples 360] [--store-agents 1000] [--store-samples 360] [--query-agents 20] [--noise]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { importHubSource, machine, root } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    'database-url': { type: 'string', default: process.env.FAROL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    sqlite: { type: 'boolean', default: false },
    // The day that retention removes: agents × samples each (8,640 = a whole day at 10 s).
    agents: { type: 'string', default: '10000' },
    'drop-samples': { type: 'string', default: '360' },
    // Storage and rollup: written through the repository, heartbeats interleaved as the hub writes them.
    'store-agents': { type: 'string', default: '1000' },
    'store-samples': { type: 'string', default: '360' },
    // 30 days of 1-minute rollups for this many machines; the query reads one of them.
    'query-agents': { type: 'string', default: '20' },
    // Full-precision random fractions on every stored value: the worst case for compression.
    noise: { type: 'boolean', default: false },
  },
});
const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const num = (name) => Number(args[name]);
const onSqlite = args.sqlite;

const hub = await importHubSource('pg-history', [
  "export { openPostgresDatabase } from './apps/hub/src/infra/postgres.ts';",
  "export { openSqliteDatabase, METRIC_COLUMNS } from './apps/hub/src/infra/database.ts';",
  "export { createRepositories, createUnitOfWork } from './apps/hub/src/modules/repositories.ts';",
  "export { createRollupService } from './apps/hub/src/modules/telemetry/rollup.service.ts';",
  "export { createLogger } from './apps/hub/src/infra/logger.ts';",
  "export { rawPartitionName, RAW_DEFAULT_PARTITION } from './apps/hub/src/infra/history-partitions.ts';",
  "export { HISTORY_METRICS } from './packages/protocol/src/index.ts';",
]);

const elapsed = async (work) => {
  const started = process.hrtime.bigint();
  const value = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
};
const load = () => os.loadavg().map((l) => +l.toFixed(2));

/** The database under test: the hub's Kysely instance plus a plain connection for SQL and sizes. */
async function openStore() {
  if (onSqlite) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'farol-bench-history-'));
    const { db } = await hub.openSqliteDatabase(dir);
    const file = new Database(path.join(dir, 'farol.db'));
    const sizeOf = (names) => file.prepare(`select coalesce(sum(pgsize), 0) as bytes from dbstat where name in (${names.map(() => '?').join(',')})`).get(...names).bytes;
    return {
      db,
      server: `SQLite ${file.prepare('select sqlite_version() as v').get().v}`,
      // Series of integers for fills: SQLite has no generate_series, a recursive CTE gives one.
      series: (name, from, to) => `(with recursive ${name}(v) as (select ${from} union all select v + 1 from ${name} where v < ${to}) select v as ${name} from ${name})`,
      q: async (text, params = []) => {
        const statement = file.prepare(text.replaceAll(/\$\d+/g, '?'));
        return statement.reader ? statement.all(...params) : (statement.run(...params), []);
      },
      rawBytes: () => sizeOf(['metrics_raw', 'metrics_raw_agent_ts', 'metrics_raw_ts']),
      async close() {
        file.close();
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const admin = new pg.Client({ connectionString: args['database-url'] });
  await admin.connect();
  const name = `farol_bench_${process.pid}`;
  await admin.query(`create database ${name}`);
  const url = new URL(args['database-url']);
  url.pathname = `/${name}`;
  const { db } = await hub.openPostgresDatabase({ url: url.toString(), poolSize: 4 });
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const q = async (text, params) => (await client.query(text, params)).rows;
  return {
    db,
    server: `PostgreSQL ${(await q('show server_version'))[0].server_version}`,
    series: (name, from, to) => `generate_series(${from}, ${to}) ${name}`,
    q,
    rawBytes: async () => Number((await q("select coalesce(sum(pg_total_relation_size(relid)), 0) as b from pg_partition_tree('metrics_raw')"))[0].b),
    async close() {
      await client.end();
      await db.destroy();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

const result = { when: new Date().toISOString(), machine: machine(), database: onSqlite ? 'sqlite' : 'postgresql', noise: args.noise, server: '', loadAtStart: load() };
const store = await openStore();
result.server = store.server;
try {
  const { db, q } = store;
  const repos = hub.createRepositories(db);
  const metricColumns = Object.values(hub.METRIC_COLUMNS);
  const now = Date.now();
  const today = Math.floor(now / DAY);

  // 1. Storage per heartbeat, through the repository, one batch per 10 s tick like the hub.
  const storeAgents = num('store-agents');
  const storeSamples = num('store-samples');
  const sample = (i, tick) => {
    const values = Object.fromEntries(hub.HISTORY_METRICS.map((m) => [m, null]));
    Object.assign(values, { cpu: (i * 7 + tick) % 100 + 0.25, memory: 40 + (i % 50) + tick / 1000, swap: 1.5, disk: 61.2, load1: 0.42 + (tick % 10) / 10,
      netRx: 12_345 + tick * 17, netTx: 6_789 + tick * 3, diskRead: 4_096 * (tick % 5), diskWrite: 8_192 * (tick % 3) });
    if (args.noise) for (const [metric, value] of Object.entries(values)) if (value !== null) values[metric] = value + Math.random();
    return values;
  };
  // An hour that is over by the time the rollup pass below runs, so PostgreSQL packs it.
  const hour0 = Math.floor(now / HOUR) * HOUR - 2 * HOUR;
  await repos.telemetry.prepareRawDays(hour0);
  const write = await elapsed(async () => {
    for (let tick = 0; tick < storeSamples; tick++) {
      const rows = [];
      for (let i = 1; i <= storeAgents; i++) rows.push({ agentSeq: i, ts: hour0 + tick * 10_000 + (i % 1000), values: sample(i, tick) });
      await repos.telemetry.insertSamples(rows);
    }
  });
  const heartbeats = storeAgents * storeSamples;
  result.storage = { heartbeats, writeRowsPerSecond: Math.round(heartbeats / (write.ms / 1000)) };
  if (onSqlite) result.storage.bytesPerHeartbeatWithIndexes = +((await store.rawBytes()) / heartbeats).toFixed(1);
  else {
    const partition = hub.rawPartitionName(hour0);
    const [heap] = await q('select pg_relation_size($1) as b', [partition]);
    const indexes = await q('select indexrelid::regclass::text as index, pg_relation_size(indexrelid) as bytes from pg_index where indrelid = $1::regclass', [partition]);
    const [{ n: strays }] = await q(`select count(*) as n from ${hub.RAW_DEFAULT_PARTITION}`);
    if (Number(strays) > 0) throw new Error(`${strays} samples missed their hour partition`);
    const indexBytes = indexes.reduce((sum, i) => sum + Number(i.bytes), 0);
    result.storage.rowsBytesPerHeartbeatWithIndexes = +((Number(heap.b) + indexBytes) / heartbeats).toFixed(1);
    result.storage.heapBytesPerHeartbeat = +(Number(heap.b) / heartbeats).toFixed(1);
    result.storage.indexBytesPerHeartbeat = Object.fromEntries(indexes.map((i) => [i.index, +(Number(i.bytes) / heartbeats).toFixed(2)]));
  }

  // 2. Rollup of those heartbeats: the service's own pass (1-minute and 1-hour tiers).
  const retention = { raw: 2 * DAY, minute: 30 * DAY, hour: 365 * DAY };
  const rollup = (at) =>
    hub.createRollupService({ telemetry: repos.telemetry, unitOfWork: hub.createUnitOfWork(db), clock: { now: () => at }, logger: hub.createLogger('silent'), retention });
  const rolled = await elapsed(() => rollup(now).runOnce());
  result.rollup = { heartbeats, ms: Math.round(rolled.ms), heartbeatsPerSecond: Math.round(heartbeats / (rolled.ms / 1000)), loadAverage: load() };
  if (!onSqlite) {
    // That pass also packed the hour (it was over and rolled up): what the same samples cost now.
    const [{ n: unpacked }] = await q(`select count(*) as n from metrics_raw where ts >= ${hour0} and ts < ${hour0 + HOUR}`);
    if (Number(unpacked) > 0) throw new Error(`the rollup pass left ${unpacked} samples of a closed hour unpacked`);
    const [{ b: packed }] = await q("select coalesce(sum(pg_total_relation_size(relid)), 0) as b from pg_partition_tree('metrics_packed')");
    result.storage.packedBytesPerHeartbeat = +(Number(packed) / heartbeats).toFixed(1);
    // At the default 48 h raw retention: the open hour as rows, the other 47 packed.
    result.storage.steadyStateBytesPerHeartbeat48h = +((result.storage.rowsBytesPerHeartbeatWithIndexes + 47 * result.storage.packedBytesPerHeartbeat) / 48).toFixed(1);
  }

  // 3. Packing (PostgreSQL) and retention of one past hour of N agents' samples (yesterday), as
  // the rollup pass does them. The rows are filled with SQL and marked rolled up: the rollup
  // itself is measured above.
  const dropDay = today - 1;
  const dropHour = dropDay * DAY + 12 * HOUR;
  await repos.telemetry.prepareRawDays(dropHour);
  const dropAgents = num('agents');
  const dropSamples = num('drop-samples');
  const fill = await elapsed(() =>
    q(`insert into metrics_raw (agent_seq, ts, ${metricColumns.join(', ')})
       select a, ${dropHour} + cast(s as bigint) * 10000 + a % 1000, ${metricColumns.map((_, k) => (k < 9 ? `(a * ${k + 3} + s) % 100 + 0.5` : 'null')).join(', ')}
       from ${store.series('s', 0, dropSamples - 1)}, ${store.series('a', 1, dropAgents)}`),
  );
  const [{ n: dropRows }] = await q(`select count(*) as n from metrics_raw where ts < ${today * DAY}`);
  const loadBeforeDrop = load();
  let packing = null;
  if (!onSqlite) {
    const [{ m }] = await q('select max(id) as m from metrics_raw');
    const pack = await elapsed(() => repos.telemetry.packClosedRaw(now, Number(m)));
    const [{ b: packedDay }] = await q(`select pg_total_relation_size('metrics_packed_d${new Date(dropDay * DAY).toISOString().slice(0, 10).replaceAll('-', '')}') as b`);
    packing = { partitions: pack.value, ms: Math.round(pack.ms), samplesPerSecond: Math.round(Number(dropRows) / (pack.ms / 1000)), bytesPerSample: +(Number(packedDay) / Number(dropRows)).toFixed(1), loadAverage: load() };
  }
  // What applyRetention does for raw rows: drop whole partitions and packed days (PostgreSQL),
  // then delete in 2,000-row chunks.
  const before = (dropDay + 1) * DAY;
  const retained = await elapsed(async () => {
    const days = await repos.telemetry.dropRawDaysBefore(before);
    let rows = 0;
    for (;;) {
      const deleted = await repos.telemetry.deleteOlderThan('raw', before, 2_000);
      rows += deleted;
      if (deleted < 2_000) break;
    }
    return { days, rows };
  });
  const left = await repos.telemetry.queryRange(1, 'raw', dropDay * DAY, before - 1);
  result.retentionOfOneDay = {
    agents: dropAgents,
    samplesPerAgent: dropSamples,
    rows: Number(dropRows),
    fillSeconds: +(fill.ms / 1000).toFixed(1),
    packing,
    partitionsDropped: retained.value.days,
    rowsDeleted: retained.value.rows,
    ms: +retained.ms.toFixed(1),
    samplesLeftForOneMachine: left.length,
    loadAverage: loadBeforeDrop,
  };

  // 4. 30 days of 1-minute rollups for M machines; read one machine's 30 days through the repository.
  const queryAgents = num('query-agents');
  const from = (today - 30) * DAY;
  const rollupColumns = metricColumns.flatMap((c) => [`${c}_avg`, `${c}_min`, `${c}_max`, `${c}_n`]);
  const rollupValues = metricColumns.flatMap((_, k) => (k < 9 ? ['(a + m) % 100 + 0.5', '(a + m) % 100', '(a + m) % 100 + 1', '6'] : ['null', 'null', 'null', '0']));
  const fillMinutes = await elapsed(() =>
    q(`insert into metrics_1m (agent_seq, ts, samples, ${rollupColumns.join(', ')})
       select a, ${from} + cast(m as bigint) * ${MINUTE}, 6, ${rollupValues.join(', ')}
       from ${store.series('a', 1, queryAgents)}, ${store.series('m', 0, 30 * 1440 - 1)}
       where true on conflict do nothing`),
  );
  await q(onSqlite ? 'analyze' : 'vacuum analyze metrics_1m');
  const agent = Math.ceil(queryAgents / 2);
  const runs = [];
  let points = 0;
  for (let i = 0; i < 7; i++) {
    const run = await elapsed(() => repos.telemetry.queryRange(agent, '1m', from, from + 30 * DAY - 1));
    points = run.value.length;
    runs.push(run.ms);
  }
  const measured = runs.slice(2).sort((a, b) => a - b);
  const sqlOnly = [];
  for (let i = 0; i < 5; i++) {
    sqlOnly.push((await elapsed(() => q('select * from metrics_1m where agent_seq = $1 and ts >= $2 and ts <= $3 order by ts', [agent, from, from + 30 * DAY - 1]))).ms);
  }
  sqlOnly.sort((a, b) => a - b);
  // The server's own time for the query (PostgreSQL), without sending and parsing 43,200 rows.
  const serverMs = onSqlite
    ? null
    : (await q('explain (analyze, format json) select * from metrics_1m where agent_seq = $1 and ts >= $2 and ts <= $3 order by ts', [agent, from, from + 30 * DAY - 1]))[0]['QUERY PLAN'][0]['Execution Time'];
  result.query30Days1m = {
    machinesStored: queryAgents,
    minuteRows: queryAgents * 30 * 1440,
    fillSeconds: +(fillMinutes.ms / 1000).toFixed(1),
    points,
    repositoryMsMedian: +measured[Math.floor(measured.length / 2)].toFixed(1),
    plainQueryMsMedian: +sqlOnly[2].toFixed(1),
    serverExecutionMs: serverMs === null ? null : +serverMs.toFixed(1),
    loadAverage: load(),
  };
} finally {
  await store.close();
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results', `history-${result.database}${args.noise ? '-noise' : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
