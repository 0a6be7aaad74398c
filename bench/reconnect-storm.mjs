#!/usr/bin/env node
// Reconnect storm (issue #14): N simulated agents (real protocol, production backoff: full jitter
// from 1 s, cap 60 s) given every hub in --hub, then
//   kill-one:    kill -9 of one hub; its agents move to the others;
//   restart-all: kill -9 of every hub, all started again at once.
// For each: peak links per second (verified hellos, across hubs), time until 50 %, 99 % and 100 %
// of the affected agents are linked again, and where they went. With --hubs 1 the hub runs on
// SQLite and only restart-all applies; with more, the hubs share one PostgreSQL database (a fresh
// one on --database-url's server) and one Redis (--redis-url), and the same hub identity.
// The simulator sets up at most 200 connections at once (its default --connect-concurrency),
// which bounds handshakes in flight, not their rate.
//   node bench/reconnect-storm.mjs --agents 2000 --hubs 3 [--database-url postgres://…] [--redis-url redis://…/10]
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { agentBundle, farolBin, freePort, machine, root, sleep, waitExit } from './lib.mjs';
import { createBenchDatabase } from './pg.mjs';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '2000' },
    hubs: { type: 'string', default: '3' },
    'database-url': { type: 'string', default: process.env.FAROL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379/10' },
    interval: { type: 'string', default: '10s' },
    keep: { type: 'boolean', default: false },
  },
});
const agents = Number(args.agents);
const hubCount = Number(args.hubs);
const adminToken = `fat_bench_storm_${Math.random().toString(36).slice(2)}_0123456789`;
const work = mkdtempSync(path.join(tmpdir(), 'farol-storm-'));
const database = hubCount > 1 ? await createBenchDatabase(args['database-url']) : null;
const runId = Math.random().toString(36).slice(2, 8);

/** One hub process on a fixed port and data directory, so it can be started again. */
function hubSpec(index, port) {
  return { index, id: `storm-${runId}-${index}`, port, url: `http://127.0.0.1:${port}`, dataDir: path.join(work, `hub-${index}`), child: null };
}

async function startHub(hub) {
  const startedAt = performance.now();
  hub.child = spawn(process.execPath, [farolBin, 'hub', '--port', String(hub.port), '--data', hub.dataDir], {
    env: {
      ...process.env,
      FAROL_ADMIN_TOKEN: adminToken,
      FAROL_LOG_LEVEL: 'warn',
      // Every simulated agent shares 127.0.0.1, which a real fleet does not.
      FAROL_API_RATE_LIMIT: '0',
      ...(database ? { FAROL_DATABASE_URL: database.url, FAROL_REDIS_URL: args['redis-url'], FAROL_HUB_ID: hub.id } : {}),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (const deadline = Date.now() + 180_000; ; ) {
    try {
      if ((await fetch(`${hub.url}/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (hub.child.exitCode !== null) throw new Error(`hub ${hub.index} exited with ${hub.child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`hub ${hub.index} did not become ready in 3 min`);
    await sleep(50);
  }
  return performance.now() - startedAt;
}

async function killHub(hub) {
  hub.child.kill('SIGKILL');
  await waitExit(hub.child);
}

const hubs = [];
let sim = null;
let finished = false;
const results = {};
// A failed run must not leave hubs or the simulator behind.
process.on('exit', () => {
  for (const hub of hubs) if (hub.child?.exitCode === null) hub.child.kill('SIGKILL');
  if (sim?.exitCode === null) sim.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
try {
  for (let index = 0; index < hubCount; index++) hubs.push(hubSpec(index, await freePort()));
  await startHub(hubs[0]);
  // One hub identity for every hub (docs/scaling.md): the first hub's keys, copied before the others start.
  for (const hub of hubs.slice(1)) {
    mkdirSync(hub.dataDir, { recursive: true });
    for (const file of ['hub-key.json', 'secret.key']) copyFileSync(path.join(hubs[0].dataDir, file), path.join(hub.dataDir, file));
    await startHub(hub);
  }

  const tokenResponse = await fetch(`${hubs[0].url}/api/join-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ uses: agents, ttl: '2h', note: 'reconnect storm' }),
  });
  const { token } = await tokenResponse.json();
  const linkLog = path.join(work, 'links.jsonl');
  sim = spawn(
    process.execPath,
    [agentBundle, 'simulate', '--hub', hubs.map((hub) => hub.url).join(','), '--token', token, '--agents', String(agents), '--interval', args.interval,
      '--state', path.join(work, 'sim'), '--link-log', linkLog],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FAROL_LOG_LEVEL: 'error' } },
  );

  /** Reads the link log as it grows: the hub each agent is linked to now, and every link event. */
  const links = { offset: 0, events: [], holder: new Map() };
  function readLinks() {
    if (!existsSync(linkLog)) return;
    const text = readFileSync(linkLog, 'utf8');
    const fresh = text.slice(links.offset, text.lastIndexOf('\n') + 1);
    links.offset += fresh.length;
    for (const line of fresh.split('\n')) {
      if (!line) continue;
      const event = JSON.parse(line);
      links.events.push(event);
      if (event.event === 'linked') links.holder.set(event.agent, event.hubUrl);
      else links.holder.delete(event.agent);
    }
  }

  async function waitUntil(condition, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      readLinks();
      if (condition()) return true;
      if (Date.now() > deadline) {
        console.error(`bench: gave up waiting for ${what}`);
        return false;
      }
      await sleep(200);
    }
  }

  const perHub = () => Object.fromEntries(hubs.map((hub) => [hub.id, [...links.holder.values()].filter((url) => url === hub.url).length]));

  const connectStart = Date.now();
  await waitUntil(() => links.holder.size === agents, 600_000, 'every agent linked');
  console.error(`bench: ${agents} agents linked in ${((Date.now() - connectStart) / 1000).toFixed(1)} s: ${JSON.stringify(perHub())}`);
  // Let enrollment and the first heartbeats settle.
  await sleep(15_000);
  readLinks();

  /** Links after `since` of the agents in `affected`: rate per second and times to 50/99/100 %. */
  function measure(since, affected, extra = {}) {
    const firstLink = new Map();
    for (const event of links.events) {
      if (event.at < since || event.event !== 'linked' || !affected.has(event.agent) || firstLink.has(event.agent)) continue;
      firstLink.set(event.agent, event);
    }
    const times = [...firstLink.values()].map((event) => event.at - since).sort((a, b) => a - b);
    const perSecond = new Map();
    for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    const at = (share) => {
      const needed = Math.ceil(affected.size * share);
      return times.length >= needed ? +(times[needed - 1] / 1000).toFixed(2) : null;
    };
    const wentTo = {};
    for (const event of firstLink.values()) {
      const hub = hubs.find((h) => h.url === event.hubUrl);
      wentTo[hub?.id ?? event.hubUrl] = (wentTo[hub?.id ?? event.hubUrl] ?? 0) + 1;
    }
    return {
      affected: affected.size,
      back: firstLink.size,
      peakLinksPerSecond: Math.max(0, ...perSecond.values()),
      linksPerSecond: [...perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([second, count]) => `${second}s:${count}`).join(' '),
      secondsTo50: at(0.5),
      secondsTo99: at(0.99),
      secondsTo100: at(1),
      wentTo,
      ...extra,
    };
  }

  if (hubCount > 1) {
    const victim = hubs[0];
    const affected = new Set([...links.holder.entries()].filter(([, url]) => url === victim.url).map(([agent]) => agent));
    const since = Date.now();
    await killHub(victim);
    await waitUntil(() => [...affected].every((agent) => links.holder.has(agent) && links.holder.get(agent) !== victim.url), 180_000, 'the dead hub\'s agents elsewhere');
    results.killOne = measure(since, affected);
    console.error(`bench: kill -9 of one hub: ${JSON.stringify(results.killOne)}`);
    await startHub(victim);
    await sleep(10_000);
    readLinks();
  }

  {
    const affected = new Set(links.holder.keys());
    const since = Date.now();
    await Promise.all(hubs.map(killHub));
    // Started again at once, as a cluster restarted by its orchestrator would be.
    const restartMs = await Promise.all(hubs.map(startHub));
    await waitUntil(() => [...affected].every((agent) => links.events.some((e) => e.at >= since && e.event === 'linked' && e.agent === agent)), 300_000, 'every agent back');
    results.restartAll = measure(since, affected, { hubsReadyAfterSeconds: +(Math.max(...restartMs) / 1000 + 0).toFixed(2) });
    results.restartAll.spreadAfter = perHub();
    console.error(`bench: kill -9 and restart of every hub: ${JSON.stringify(results.restartAll)}`);
  }


  sim.kill('SIGINT');
  await waitExit(sim);
  finished = true;
} finally {
  // Also after a failure: no hub or simulator left behind, no database left on the server.
  if (sim?.exitCode === null && !finished) sim.kill('SIGKILL');
  for (const hub of hubs) if (hub.child?.exitCode === null && hub.child.signalCode === null) await killHub(hub);
  if (database) await database.drop();
}
const report = {
  bench: 'reconnect-storm',
  machine: machine(),
  agents,
  hubs: hubCount,
  storage: database ? 'PostgreSQL + Redis' : 'SQLite',
  backoff: 'full jitter, base 1 s, cap 60 s (agent defaults)',
  ...results,
};
console.log(JSON.stringify(report, null, 2));
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results', `reconnect-storm-${hubCount}x${agents}.json`), `${JSON.stringify(report, null, 2)}\n`);
if (!args.keep) rmSync(work, { recursive: true, force: true });
