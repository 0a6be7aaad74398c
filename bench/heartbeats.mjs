#!/usr/bin/env node
// Heartbeat load: N simulated agents (real protocol, real identities) against one hub
// process with SQLite, or PostgreSQL with --database-url (a fresh database on that server).
// Prints hub RSS/CPU, heartbeat latency (send → committed → acked), database bytes per
// heartbeat and, on PostgreSQL, the CPU of the server processes serving the hub.
//   node bench/heartbeats.mjs --agents 1000 --duration 180 [--interval 10s] [--database-url postgres://…]
// --wait-online stretches the warm-up (up to --warmup) until every agent is online, for a loaded
// machine; --heap-snapshot writes one heap snapshot of the hub at the end of the measurement and
// reports its live heap (a snapshot collects first), the figure that does not depend on load.
// --scrape 15 reads /metrics every 15 s while measuring, as Prometheus would, and reports how long
// each scrape took (its cost lands in the hub's event loop, so in the commit lag too).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { agentBundle, api, machine, root, sleep, startHub, waitExit, watchProcess } from './lib.mjs';
import { createBenchDatabase, historySizes, loadAverage, watchDatabaseCpu } from './pg.mjs';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '180' },
    warmup: { type: 'string', default: '' },
    interval: { type: 'string', default: '10s' },
    keep: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    'wait-online': { type: 'boolean', default: false },
    'heap-snapshot': { type: 'boolean', default: false },
    scrape: { type: 'string', default: '0' },
  },
});
const agents = Number(args.agents);
const duration = Number(args.duration);
// Connecting and enrolling thousands of agents takes a while; measure the steady state after.
const warmup = args.warmup ? Number(args.warmup) : Math.max(30, Math.ceil(agents / 250));

const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-bench-'));
const database = args['database-url'] ? await createBenchDatabase(args['database-url']) : null;
const snapshotDir = path.join(dataDir, 'heap');
if (args['heap-snapshot']) {
  mkdirSync(snapshotDir);
  process.env.FAROL_BENCH_HUB_NODE_ARGS = [process.env.FAROL_BENCH_HUB_NODE_ARGS ?? '', '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`].join(' ');
}
const hub = await startHub({ dataDir, env: database ? { FAROL_DATABASE_URL: database.url } : {} });
const pgClient = database ? await database.connect() : null;
const { token } = await api(hub, 'POST', '/api/join-tokens', { uses: agents, ttl: '2h', note: 'bench' });
const reportFile = path.join(dataDir, 'sim-report.json');
const sim = spawn(
  process.execPath,
  [agentBundle, 'simulate', '--hub', hub.url, '--token', token, '--agents', String(agents), '--interval', args.interval,
    '--duration', `${warmup + duration}s`, '--state', path.join(dataDir, 'sim'), '--report-json', reportFile],
  { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FAROL_LOG_LEVEL: 'warn' } },
);
console.error(`bench: ${agents} agents, warm-up ${warmup} s, measuring ${duration} s`);
const countOnline = async () => (await api(hub, 'GET', '/api/agents?status=online')).agents.length;
const warmupStarted = Date.now();
if (args['wait-online']) {
  while (Date.now() - warmupStarted < warmup * 1000 && (await countOnline()) < agents) await sleep(5_000);
  // A little settling after the last connection (its hello, its first heartbeats).
  await sleep(Math.min(20_000, Math.max(0, warmup * 1000 - (Date.now() - warmupStarted))));
} else {
  await sleep(warmup * 1000);
}
const warmupSeconds = Math.round((Date.now() - warmupStarted) / 1000);
const online = await countOnline();
const promAtWarmup = await (await fetch(`${hub.url}/metrics`)).text();
const hubWatch = watchProcess(hub.child.pid);
const simWatch = watchProcess(sim.pid);
const dbWatch = pgClient ? watchDatabaseCpu(pgClient, database.name) : null;
const loadDuring = [];
const loadTimer = setInterval(() => loadDuring.push(loadAverage()[0]), 10_000);
const scrapeMs = [];
const scrapeTimer =
  Number(args.scrape) > 0
    ? setInterval(async () => {
        const started = performance.now();
        await (await fetch(`${hub.url}/metrics`)).text();
        scrapeMs.push(performance.now() - started);
      }, Number(args.scrape) * 1000)
    : null;
let heap = null;
let hubStats = null;
let prom = null;
if (args['heap-snapshot']) {
  // Near the end of the simulator's run, with every agent still connected. Writing a snapshot
  // stops the hub and takes memory of its own: RSS and CPU are read before it.
  await Promise.race([waitExit(sim), sleep(Math.max(0, duration - 15) * 1000)]);
  hubStats = hubWatch.stop();
  prom = await (await fetch(`${hub.url}/metrics`)).text();
  heap = await snapshotLiveHeap(hub.child.pid, snapshotDir);
  console.error(`bench: live heap ${heap.liveMiB} MiB with ${online} agents online`);
}
const simExit = await waitExit(sim);
clearInterval(loadTimer);
if (scrapeTimer) clearInterval(scrapeTimer);
hubStats ??= hubWatch.stop();
const simStats = simWatch.stop();
const dbStats = dbWatch ? await dbWatch.stop() : null;
prom ??= await (await fetch(`${hub.url}/metrics`)).text();
hub.child.kill('SIGTERM');
await waitExit(hub.child);

let rawRows;
let rawBytes;
let rollupBytes;
if (pgClient) {
  ({ rawRows, rawBytes, rollupBytes } = await historySizes(pgClient));
  await pgClient.end();
  await database.drop();
} else {
  const db = new Database(path.join(dataDir, 'farol.db'), { readonly: true });
  rawRows = db.prepare('select count(*) as n from metrics_raw').get().n;
  const sizeOf = (names) =>
    db.prepare(`select coalesce(sum(pgsize), 0) as bytes from dbstat where name in (${names.map(() => '?').join(',')})`).get(...names).bytes;
  rawBytes = sizeOf(['metrics_raw', 'metrics_raw_agent_ts', 'metrics_raw_ts']);
  rollupBytes = sizeOf(['metrics_1m', 'metrics_1h', 'sqlite_autoindex_metrics_1m_1', 'sqlite_autoindex_metrics_1h_1', 'metrics_1m_ts', 'metrics_1h_ts']);
  db.close();
}
const report = JSON.parse(readFileSync(reportFile, 'utf8'));
// Series carry a `hub` label since several hubs (issue #14): match any labels.
const dbWrite = /farol_db_write_seconds_sum(?:\{[^}]*\})? (\S+)\nfarol_db_write_seconds_count(?:\{[^}]*\})? (\S+)/.exec(prom);

/** Signals the hub to write a heap snapshot, waits for it, and sums it (live objects only). */
async function snapshotLiveHeap(pid, dir) {
  const before = Date.now();
  process.kill(pid, 'SIGUSR2');
  let file;
  let lastSize = -1;
  for (;;) {
    await sleep(2_000);
    file = readdirSync(dir).find((name) => name.endsWith('.heapsnapshot'));
    if (!file) continue;
    const size = statSync(path.join(dir, file)).size;
    if (size > 0 && size === lastSize) break;
    lastSize = size;
  }
  const snapshot = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const sizeAt = fields.indexOf('self_size');
  let bytes = 0;
  for (let i = sizeAt; i < snapshot.nodes.length; i += fields.length) bytes += snapshot.nodes[i];
  // --keep leaves the snapshot for a closer look (DevTools' Memory tab opens it).
  if (args.keep) console.error(`bench: heap snapshot kept at ${path.join(dir, file)}`);
  else rmSync(path.join(dir, file));
  return { liveMiB: +(bytes / 2 ** 20).toFixed(1), secondsToWrite: Math.round((Date.now() - before) / 1000) };
}

/** Quantile from a Prometheus histogram, interpolated linearly inside the bucket. */
function histogramQuantile(text, name, q, baseline = '') {
  const parse = (t) =>
    [...t.matchAll(new RegExp(`^${name}_bucket\\{[^}]*\\ble="([^"]+)"[^}]*\\} (\\S+)`, 'gm'))].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) }));
  const before = parse(baseline);
  const buckets = parse(text).map((b, i) => ({ le: b.le, count: b.count - (before[i]?.count ?? 0) }));
  const total = buckets.at(-1)?.count ?? 0;
  if (!total) return null;
  const rank = q * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return previous.le * 1000;
      const share = (rank - previous.count) / Math.max(1, bucket.count - previous.count);
      return +((previous.le + (bucket.le - previous.le) * share) * 1000).toFixed(1);
    }
    previous = bucket;
  }
  return null;
}

const result = {
  when: new Date().toISOString(),
  machine: machine(),
  database: database ? 'postgresql' : 'sqlite',
  // Load average of the machine every 10 s while measuring (other work shares the cores).
  loadAverageDuring: loadDuring,
  agents,
  interval: args.interval,
  measuredSeconds: Math.round(hubStats.seconds),
  warmupSeconds,
  agentsOnlineAfterWarmup: online,
  simulator: report,
  simulatorExit: simExit,
  hub: {
    cpuPercentOfOneCore: +hubStats.cpuPercentOfOneCore.toFixed(1),
    rssMaxMiB: +hubStats.rssMaxMiB.toFixed(1),
    rssAvgMiB: +hubStats.rssAvgMiB.toFixed(1),
    // Live heap from a snapshot at the end (--heap-snapshot), and per agent online.
    liveHeapMiB: heap?.liveMiB ?? null,
    liveHeapKiBPerAgent: heap && online ? +((heap.liveMiB * 1024) / online).toFixed(1) : null,
    // V8's heap and the memory outside it at the end (prom-client's process gauges).
    memoryAtEndMiB: Object.fromEntries(
      ['heap_size_used', 'heap_size_total', 'external_memory'].map((name) => {
        const match = new RegExp(`^farol_hub_nodejs_${name}_bytes(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(prom);
        return [name, match ? +(Number(match[1]) / 2 ** 20).toFixed(1) : null];
      }),
    ),
    dbWriteMeanMs: dbWrite ? +((Number(dbWrite[1]) / Number(dbWrite[2])) * 1000).toFixed(2) : null,
    // Agent sample timestamp → row committed, measured by the hub after the warm-up.
    commitLagMs: {
      p50: histogramQuantile(prom, 'farol_heartbeat_commit_lag_seconds', 0.5, promAtWarmup),
      p90: histogramQuantile(prom, 'farol_heartbeat_commit_lag_seconds', 0.9, promAtWarmup),
      p99: histogramQuantile(prom, 'farol_heartbeat_commit_lag_seconds', 0.99, promAtWarmup),
    },
  },
  // /metrics read every --scrape seconds while measuring: how long each took, as the scraper saw it.
  metricsScrapes: scrapeMs.length
    ? { count: scrapeMs.length, p50Ms: +[...scrapeMs].sort((a, b) => a - b)[Math.floor(scrapeMs.length / 2)].toFixed(1), maxMs: +Math.max(...scrapeMs).toFixed(1) }
    : null,
  // PostgreSQL's server processes for the hub's pool (not counted in the hub's CPU above).
  databaseServer: dbStats,
  simulatorProcess: { cpuPercentOfOneCore: +simStats.cpuPercentOfOneCore.toFixed(1), rssMaxMiB: +simStats.rssMaxMiB.toFixed(1) },
  storage: {
    rawRows,
    rawBytesPerHeartbeat: rawRows ? +(rawBytes / rawRows).toFixed(1) : null,
    rollupBytesPerHeartbeat: rawRows ? +(rollupBytes / rawRows).toFixed(1) : null,
  },
};
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
const out = path.join(root, 'bench/results', `heartbeats-${agents}${database ? '-pg' : ''}.json`);
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
if (!args.keep) rmSync(dataDir, { recursive: true, force: true });
