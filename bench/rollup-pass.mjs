#!/usr/bin/env node
// One rollup pass late in the hour (issue #16): N agents already have 59 minutes of 1-minute
// rollups in the current hour, and the last minute's raw samples (6 per agent at 10 s, 60 at
// --interval 1) arrive.
// Times the hub's own rollup service over them: the whole pass, its longest transaction and, on
// SQLite (synchronous, on the event loop), the longest the event loop was held. Runs the hub's
// migrations, repository and rollup service in-process against a fresh SQLite file, or a fresh
// PostgreSQL database on the server of --database-url (dropped at the end).
//   node bench/rollup-pass.mjs [--agents 10000] [--minutes 59] [--interval 10] [--database-url postgres://…]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { importHubSource, machine, root } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '59' },
    // Raw rows of that many earlier minutes are in the table too (rolled up already), as in a
    // hub that keeps 48 h of raw samples: a plan that scans the table shows here.
    'raw-minutes': { type: 'string', default: '0' },
    'database-url': { type: 'string' },
    // Seconds between an agent's heartbeats: the last minute holds 60 / interval samples per agent.
    interval: { type: 'string', default: '10' },
  },
});
const interval = Number(args.interval);
if (!Number.isInteger(60 / interval)) throw new Error('--interval must divide 60 seconds');
const agents = Number(args.agents);
const minutes = Number(args.minutes);
const HOUR = 3_600_000;
const MINUTE = 60_000;

const hub = await importHubSource('rollup-pass', [
  "export { openPostgresDatabase } from './apps/hub/src/infra/postgres.ts';",
  "export { openSqliteDatabase, METRIC_COLUMNS } from './apps/hub/src/infra/database.ts';",
  "export { createRepositories, createUnitOfWork } from './apps/hub/src/modules/repositories.ts';",
  "export { createRollupService } from './apps/hub/src/modules/telemetry/rollup.service.ts';",
  "export { createLogger } from './apps/hub/src/infra/logger.ts';",
  "export { HISTORY_METRICS } from './packages/protocol/src/index.ts';",
]);

let db;
let cleanup;
if (args['database-url']) {
  const admin = new pg.Client({ connectionString: args['database-url'] });
  await admin.connect();
  const name = `farol_bench_rollup_${process.pid}`;
  await admin.query(`create database ${name}`);
  const url = new URL(args['database-url']);
  url.pathname = `/${name}`;
  ({ db } = await hub.openPostgresDatabase({ url: url.toString(), poolSize: 4 }));
  cleanup = async () => {
    await db.destroy();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
} else {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'farol-bench-rollup-'));
  ({ db } = await hub.openSqliteDatabase(dir));
  cleanup = async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
}

const result = { when: new Date().toISOString(), machine: machine(), database: args['database-url'] ? 'postgresql' : 'sqlite', agents, intervalSeconds: interval, minutesBefore: minutes, loadAtStart: os.loadavg()[0] };
try {
  const repos = hub.createRepositories(db);
  const now = Date.now();
  const hourStart = Math.floor(now / HOUR) * HOUR;
  await repos.telemetry.prepareRawDays(now);

  // The hour so far: one 1-minute row per agent and minute, as earlier passes left them.
  const columns = Object.values(hub.METRIC_COLUMNS);
  const filled = performance.now();
  for (let minute = 0; minute < minutes; minute++) {
    for (let first = 1; first <= agents; first += 500) {
      const rows = [];
      for (let seq = first; seq < Math.min(agents + 1, first + 500); seq++) {
        const row = { agent_seq: seq, ts: hourStart + minute * MINUTE, samples: 6 };
        for (const column of columns) Object.assign(row, { [`${column}_avg`]: (seq + minute) % 100, [`${column}_min`]: 1, [`${column}_max`]: 99, [`${column}_n`]: 6 });
        rows.push(row);
      }
      await db.insertInto('metrics_1m').values(rows).execute();
    }
  }
  result.fillSeconds = +((performance.now() - filled) / 1000).toFixed(1);

  // Earlier raw rows, rolled up already (the watermark moves past them).
  const rawMinutes = Number(args['raw-minutes']);
  for (let tick = -6 * rawMinutes; tick < 0; tick++) {
    const rows = [];
    for (let seq = 1; seq <= agents; seq++) rows.push({ agentSeq: seq, ts: hourStart + minutes * MINUTE + tick * 10_000, values: Object.fromEntries(hub.HISTORY_METRICS.map((m) => [m, 1])) });
    await repos.telemetry.insertSamples(rows);
  }
  if (rawMinutes > 0) {
    const upTo = String(await repos.telemetry.maxRawId());
    await repos.telemetry.setKv('rollup.raw_id', upTo);
    await repos.telemetry.setKv('rollup.hour_raw_id', upTo);
  }
  result.rawRowsBefore = rawMinutes * 6 * agents;

  // The last minute's raw samples, one batch per interval as the hub writes them.
  for (let tick = 0; tick < 60 / interval; tick++) {
    const rows = [];
    for (let seq = 1; seq <= agents; seq++) {
      const values = Object.fromEntries(hub.HISTORY_METRICS.map((m) => [m, null]));
      Object.assign(values, { cpu: (seq * 7 + tick) % 100, memory: 40 + (seq % 50), disk: 61.2, load1: 0.42 });
      rows.push({ agentSeq: seq, ts: hourStart + minutes * MINUTE + tick * interval * 1000, values });
    }
    for (let i = 0; i < rows.length; i += 2_000) await repos.telemetry.insertSamples(rows.slice(i, i + 2_000));
  }

  // A live database has statistics (autovacuum analyzes); a table filled a second ago does not.
  if (args['database-url']) await sql`analyze`.execute(db);

  const transactions = [];
  const base = hub.createUnitOfWork(db);
  const timed = async (work) => {
    const started = performance.now();
    try {
      return await base(work);
    } finally {
      transactions.push(performance.now() - started);
    }
  };
  const rollup = hub.createRollupService({ telemetry: repos.telemetry, unitOfWork: timed, clock: { now: () => now }, logger: hub.createLogger('silent'), retention: { raw: 2 * 86_400_000, minute: 30 * 86_400_000, hour: 365 * 86_400_000 } });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  await rollup.runOnce();
  const passMs = performance.now() - started;
  delay.disable();
  const hourRows = Number((await db.selectFrom('metrics_1h').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()).n);
  Object.assign(result, {
    passMs: +passMs.toFixed(0),
    transactions: transactions.length,
    longestTransactionMs: +Math.max(...transactions).toFixed(1),
    transactionsMs: +transactions.reduce((a, b) => a + b, 0).toFixed(0),
    eachTransactionMs: transactions.map((ms) => Math.round(ms)),
    // SQLite runs on the event loop: the longest it was held is the tail heartbeats wait behind.
    eventLoopDelayMaxMs: +(delay.max / 1e6).toFixed(1),
    hourRows,
    loadAtEnd: os.loadavg()[0],
  });
} finally {
  await cleanup();
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results', `rollup-pass-${result.database}.json`), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
