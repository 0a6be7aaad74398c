#!/usr/bin/env node
// Heartbeat load: N simulated agents (real protocol, real identities) against one hub
// process with SQLite. Prints hub RSS/CPU, heartbeat latency (send → committed → acked) and
// database bytes per heartbeat.
//   node bench/heartbeats.mjs --agents 1000 --duration 180 [--interval 10s]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { agentBundle, api, machine, root, sleep, startHub, waitExit, watchProcess } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '180' },
    warmup: { type: 'string', default: '' },
    interval: { type: 'string', default: '10s' },
    keep: { type: 'boolean', default: false },
  },
});
const agents = Number(args.agents);
const duration = Number(args.duration);
// Connecting and enrolling thousands of agents takes a while; measure the steady state after.
const warmup = args.warmup ? Number(args.warmup) : Math.max(30, Math.ceil(agents / 250));

const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-bench-'));
const hub = await startHub({ dataDir });
const { token } = await api(hub, 'POST', '/api/join-tokens', { uses: agents, ttl: '2h', note: 'bench' });
const reportFile = path.join(dataDir, 'sim-report.json');
const sim = spawn(
  process.execPath,
  [agentBundle, 'simulate', '--hub', hub.url, '--token', token, '--agents', String(agents), '--interval', args.interval,
    '--duration', `${warmup + duration}s`, '--state', path.join(dataDir, 'sim'), '--report-json', reportFile],
  { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FAROL_LOG_LEVEL: 'warn' } },
);
console.error(`bench: ${agents} agents, warm-up ${warmup} s, measuring ${duration} s`);
await sleep(warmup * 1000);
const online = (await api(hub, 'GET', '/api/agents?status=online')).agents.length;
const promAtWarmup = await (await fetch(`${hub.url}/metrics`)).text();
const hubWatch = watchProcess(hub.child.pid);
const simWatch = watchProcess(sim.pid);
const simExit = await waitExit(sim);
const hubStats = hubWatch.stop();
const simStats = simWatch.stop();
const prom = await (await fetch(`${hub.url}/metrics`)).text();
hub.child.kill('SIGTERM');
await waitExit(hub.child);

const db = new Database(path.join(dataDir, 'farol.db'), { readonly: true });
const rawRows = db.prepare('select count(*) as n from metrics_raw').get().n;
const sizeOf = (names) =>
  db.prepare(`select coalesce(sum(pgsize), 0) as bytes from dbstat where name in (${names.map(() => '?').join(',')})`).get(...names).bytes;
const rawBytes = sizeOf(['metrics_raw', 'metrics_raw_agent_ts', 'metrics_raw_ts']);
const rollupBytes = sizeOf(['metrics_1m', 'metrics_1h', 'sqlite_autoindex_metrics_1m_1', 'sqlite_autoindex_metrics_1h_1', 'metrics_1m_ts', 'metrics_1h_ts']);
db.close();
const report = JSON.parse(readFileSync(reportFile, 'utf8'));
const dbWrite = /farol_db_write_seconds_sum (\S+)\nfarol_db_write_seconds_count (\S+)/.exec(prom);

/** Quantile from a Prometheus histogram, interpolated linearly inside the bucket. */
function histogramQuantile(text, name, q, baseline = '') {
  const parse = (t) => [...t.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)`, 'gm'))].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) }));
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
  agents,
  interval: args.interval,
  measuredSeconds: Math.round(hubStats.seconds),
  agentsOnlineAfterWarmup: online,
  simulator: report,
  simulatorExit: simExit,
  hub: {
    cpuPercentOfOneCore: +hubStats.cpuPercentOfOneCore.toFixed(1),
    rssMaxMiB: +hubStats.rssMaxMiB.toFixed(1),
    rssAvgMiB: +hubStats.rssAvgMiB.toFixed(1),
    dbWriteMeanMs: dbWrite ? +((Number(dbWrite[1]) / Number(dbWrite[2])) * 1000).toFixed(2) : null,
    // Agent sample timestamp → row committed, measured by the hub after the warm-up.
    commitLagMs: {
      p50: histogramQuantile(prom, 'farol_heartbeat_commit_lag_seconds', 0.5, promAtWarmup),
      p90: histogramQuantile(prom, 'farol_heartbeat_commit_lag_seconds', 0.9, promAtWarmup),
      p99: histogramQuantile(prom, 'farol_heartbeat_commit_lag_seconds', 0.99, promAtWarmup),
    },
  },
  simulatorProcess: { cpuPercentOfOneCore: +simStats.cpuPercentOfOneCore.toFixed(1), rssMaxMiB: +simStats.rssMaxMiB.toFixed(1) },
  storage: {
    rawRows,
    rawBytesPerHeartbeat: rawRows ? +(rawBytes / rawRows).toFixed(1) : null,
    rollupBytesPerHeartbeat: rawRows ? +(rollupBytes / rawRows).toFixed(1) : null,
  },
};
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
const out = path.join(root, 'bench/results', `heartbeats-${agents}.json`);
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
if (!args.keep) rmSync(dataDir, { recursive: true, force: true });
