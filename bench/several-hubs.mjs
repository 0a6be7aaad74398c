#!/usr/bin/env node
// Several hubs (issue #14): --hubs hubs on this machine sharing one PostgreSQL database (a fresh
// one on --database-url's server) and one Redis, N simulated agents (real protocol) given every
// hub, which spread themselves over them. Prints, with the load average next to each figure:
//   steady:   heartbeat commit lag p50/p99 (all hubs' histograms summed), each hub's RSS and CPU;
//   command:  round trip of POST /api/agents/:id/command on hub A for agents connected to hub B
//             (and, for comparison, to hub A itself), p50/p99;
//   fan-out:  an `echo` job created on hub A for every agent, until every result is stored;
//   kill -9:  of the hub holding the most agents: peak reconnect rate, time until 99 % are back.
// More agents than one process's open-file limit allows run in several simulator processes.
//   node bench/several-hubs.mjs --agents 3000 [--hubs 3] [--duration 60] [--commands 200] [--fanout-agents N] [--no-kill] [--database-url …] [--redis-url …]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createFleet, createLinkLog, histogramBuckets, measureReturn, percentileOf, quantileMs, simulatorShares, spawnSimulator } from './fleet.mjs';
import { agentBundle, machine, root, sleep, waitExit, watchProcess } from './lib.mjs';
import { createBenchDatabase, loadAverage } from './pg.mjs';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '3000' },
    hubs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '60' },
    commands: { type: 'string', default: '200' },
    'fanout-repeats': { type: 'string', default: '2' },
    // How many agents the echo fan-out targets (default: every agent; a job takes at most 10,000).
    'fanout-agents': { type: 'string', default: '' },
    'phase-budget': { type: 'string', default: '180' },
    interval: { type: 'string', default: '10s' },
    'database-url': { type: 'string', default: process.env.FAROL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379/12' },
    keep: { type: 'boolean', default: false },
    // No kill -9 phase; the hubs stop with SIGTERM at the end (so FAROL_BENCH_HUB_NODE_ARGS="--cpu-prof …" profiles are written).
    'no-kill': { type: 'boolean', default: false },
  },
});
const agents = Number(args.agents);
const hubCount = Number(args.hubs);
const work = mkdtempSync(path.join(tmpdir(), 'farol-several-'));
const database = await createBenchDatabase(args['database-url']);
const runId = Math.random().toString(36).slice(2, 8);
const fleet = await createFleet({ count: hubCount, work, databaseUrl: database.url, redisUrl: args['redis-url'], runId });
const { hubs, api } = fleet;
// One simulator process holds at most the hard open-file limit's worth of agents; more run in
// several processes, each with its own state and link log.
const shares = simulatorShares(agents);
const simulators = shares.map((count, i) => ({
  count,
  offset: shares.slice(0, i).reduce((sum, n) => sum + n, 0),
  state: path.join(work, `sim-${i}`),
  file: path.join(work, `links-${i}.jsonl`),
}));
const linkLog = createLinkLog(simulators);
const load = () => loadAverage()[0];
const results = { when: new Date().toISOString(), machine: machine(), agents, hubs: hubCount, interval: args.interval };
let sims = [];
process.on('exit', () => {
  for (const hub of hubs) if (hub.child?.exitCode === null) hub.child.kill('SIGKILL');
  for (const sim of sims) if (sim.exitCode === null) sim.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** "10s", "2m", "500ms" → ms. */
function parseDuration(text) {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`--interval: say 10s, 2m or 500ms, not ${text}`);
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000 }[match[2]];
}
/** The sum of one unlabelled-or-labelled sample over several /metrics texts. */
const sumOf = (texts, name) => texts.reduce((total, text) => total + [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0), 0);
const hubOfUrl = (url) => hubs.find((hub) => hub.url === url);
const spread = () => Object.fromEntries(hubs.map((hub) => [hub.id, [...linkLog.links.holder.values()].filter((url) => url === hub.url).length]));

/** Sequential commands on `from` for agents held by `to`, each waiting for its result. */
async function commandRoundTrips(from, to, runs) {
  const held = (await api(from, 'GET', '/api/agents?status=online&view=summary')).agents.filter((agent) => agent.hub === to.id).map((agent) => agent.id);
  if (held.length === 0) throw new Error(`no agent online on ${to.id}`);
  const unanswered = [];
  /** The time to a stored result; null (and counted) when the request came back without one. */
  const once = async (i) => {
    const started = performance.now();
    const job = await api(from, 'POST', `/api/agents/${held[i % held.length]}/command`, { command: { kind: 'shell', argv: ['echo', `rt ${i}`] } });
    const took = performance.now() - started;
    const target = job.targets[0];
    if (target.state === 'succeeded' && target.stdout === `rt ${i}\n`) return took;
    unanswered.push({ state: target.state, afterMs: Math.round(took) });
    return null;
  };
  for (let i = 0; i < 5; i++) await once(i); // warm-up
  unanswered.length = 0;
  const times = [];
  const loadBefore = load();
  // A starved cluster can take a minute per unanswered command: the phase stops after its budget.
  const deadline = performance.now() + Number(args['phase-budget']) * 1000;
  for (let i = 0; i < runs && performance.now() < deadline; i++) {
    const took = await once(i);
    if (took !== null) times.push(took);
  }
  times.sort((a, b) => a - b);
  return { from: from.id, to: to.id, runs: times.length + unanswered.length, answered: times.length, unanswered, p50Ms: percentileOf(times, 50), p99Ms: percentileOf(times, 99), maxMs: percentileOf(times, 100), loadAverage: [loadBefore, load()] };
}

try {
  await fleet.startAll();
  const { token } = await api(hubs[0], 'POST', '/api/join-tokens', { uses: agents, ttl: '2h', note: 'several hubs', labels: { bench: 'fleet' } });
  const connectStart = Date.now();
  const connectLoad = load();
  sims = simulators.map((simulator) =>
    spawnSimulator(
      [agentBundle, 'simulate', '--hub', hubs.map((hub) => hub.url).join(','), '--token', token, '--agents', String(simulator.count), '--interval', args.interval,
        '--state', simulator.state, '--link-log', simulator.file],
      simulator.count,
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, FAROL_LOG_LEVEL: 'error' } },
    ));
  const allLinked = await linkLog.waitUntil((links) => links.holder.size === agents, 1_800_000, 'every agent linked');
  results.firstConnect = {
    linked: linkLog.links.holder.size,
    simulatorProcesses: shares,
    secondsUntilAllLinked: allLinked ? +((Date.now() - connectStart) / 1000).toFixed(1) : null,
    spread: spread(),
    loadAverage: [connectLoad, load()],
  };
  console.error(`bench: first connect (enrollment included): ${JSON.stringify(results.firstConnect)}`);
  if (!allLinked) throw new Error('not every agent linked; see the hubs\' logs above');
  // Enrollment done and first heartbeats in before measuring the steady state.
  await sleep(20_000);

  // Steady state: heartbeats only.
  {
    const before = await Promise.all(hubs.map(async (hub) => (await fetch(`${hub.url}/metrics`)).text()));
    const watches = hubs.map((hub) => watchProcess(hub.child.pid));
    const simWatches = sims.map((sim) => watchProcess(sim.pid));
    const loads = [];
    const loadTimer = setInterval(() => loads.push(load()), 10_000);
    await sleep(Number(args.duration) * 1000);
    clearInterval(loadTimer);
    const after = await Promise.all(hubs.map(async (hub) => (await fetch(`${hub.url}/metrics`)).text()));
    const lagBefore = histogramBuckets(before, 'farol_heartbeat_commit_lag_seconds');
    const lagAfter = histogramBuckets(after, 'farol_heartbeat_commit_lag_seconds');
    results.steady = {
      seconds: Number(args.duration),
      // Live heartbeats committed within 60 s of their sample (the lag histogram takes no later ones).
      heartbeatsCommitted: (lagAfter.at(-1)?.count ?? 0) - (lagBefore.at(-1)?.count ?? 0),
      heartbeatsExpected: Math.round((agents * Number(args.duration)) / (parseDuration(args.interval) / 1000)),
      // Every sample stored (live and backfilled from the agents' buffers), per second.
      samplesStoredPerSecond: +((sumOf(after, 'farol_db_write_batch_samples_sum') - sumOf(before, 'farol_db_write_batch_samples_sum')) / Number(args.duration)).toFixed(1),
      commitLagMs: { p50: quantileMs(lagAfter, lagBefore, 0.5), p99: quantileMs(lagAfter, lagBefore, 0.99) },
      perHub: hubs.map((hub, i) => {
        const stats = watches[i].stop();
        return { hub: hub.id, agents: spread()[hub.id], cpuPercentOfOneCore: +stats.cpuPercentOfOneCore.toFixed(1), rssMaxMiB: +stats.rssMaxMiB.toFixed(1) };
      }),
      simulators: simWatches.map((watch) => {
        const stats = watch.stop();
        return { cpuPercentOfOneCore: +stats.cpuPercentOfOneCore.toFixed(1), rssMaxMiB: +stats.rssMaxMiB.toFixed(1) };
      }),
      loadAverageEvery10s: loads,
    };
    console.error(`bench: steady state: ${JSON.stringify(results.steady)}`);
  }

  // Commands: created on hub A for an agent on hub B, and on hub A for an agent on hub A.
  results.commandRoundTrip = {
    crossHub: await commandRoundTrips(hubs[0], hubs[1], Number(args.commands)),
    sameHub: await commandRoundTrips(hubs[0], hubs[0], Math.ceil(Number(args.commands) / 2)),
  };
  console.error(`bench: command round trip: ${JSON.stringify(results.commandRoundTrip)}`);

  // Fan-out: one echo job on hub A to every agent (or the first --fanout-agents by name), wherever it is connected.
  results.fanOut = [];
  const fanOutTargets = args['fanout-agents']
    ? { agents: (await api(hubs[0], 'GET', '/api/agents?view=summary')).agents.map((agent) => agent.id).slice(0, Number(args['fanout-agents'])) }
    : { selector: 'bench=fleet' };
  for (let i = 0; i < Number(args['fanout-repeats']); i++) {
    const loadBefore = load();
    const started = performance.now();
    const job = await api(hubs[0], 'POST', '/api/jobs', { command: { kind: 'shell', argv: ['echo', `fan-out ${i}`] }, targets: fanOutTargets });
    const createdMs = performance.now() - started;
    let summary;
    // A hub starved of database connections answers 503 for a while (see /ready): counted, polled again.
    let unavailable = 0;
    for (;;) {
      // The job list's summaries come from the owning hub's memory while a job runs: cheap to poll.
      try {
        summary = (await api(hubs[0], 'GET', '/api/jobs?limit=1')).jobs[0];
      } catch (error) {
        if (!/: 503 /.test(String(error))) throw error;
        unavailable++;
        await sleep(200);
        continue;
      }
      if (summary.id === job.id && summary.state === 'done') break;
      if (performance.now() - started > 600_000) break; // reported with its counts as they stand
      await sleep(50);
    }
    const doneMs = performance.now() - started;
    results.fanOut.push({ targets: summary.total, done: summary.id === job.id && summary.state === 'done', counts: summary.counts, createdMs: Math.round(createdMs), allResultsStoredMs: Math.round(doneMs), unavailableAnswers: unavailable, loadAverage: [loadBefore, load()] });
    console.error(`bench: fan-out ${i}: ${JSON.stringify(results.fanOut.at(-1))}`);
    await sleep(5_000);
  }

  // kill -9 of the hub holding the most agents (about a third).
  if (!args['no-kill']) {
    linkLog.read();
    const counts = spread();
    const victim = hubs.reduce((most, hub) => (counts[hub.id] > counts[most.id] ? hub : most), hubs[0]);
    const affected = new Set([...linkLog.links.holder].filter(([, url]) => url === victim.url).map(([agent]) => agent));
    const loadBefore = load();
    const since = Date.now();
    await fleet.kill(victim);
    await linkLog.waitUntil((links) => [...affected].every((agent) => links.holder.has(agent) && links.holder.get(agent) !== victim.url), 300_000, 'the dead hub\'s agents elsewhere');
    const wentTo = {};
    for (const agent of affected) {
      const hub = hubOfUrl(linkLog.links.holder.get(agent));
      if (hub) wentTo[hub.id] = (wentTo[hub.id] ?? 0) + 1;
    }
    results.killOne = { victim: victim.id, ...measureReturn(linkLog.links, since, affected), wentTo, loadAverage: [loadBefore, load()] };
    console.error(`bench: kill -9 of ${victim.id}: ${JSON.stringify(results.killOne)}`);
  }
  for (const sim of sims) sim.kill('SIGINT');
  await Promise.all(sims.map((sim) => waitExit(sim)));
} finally {
  for (const sim of sims) if (sim.exitCode === null) sim.kill('SIGKILL');
  for (const hub of hubs) await fleet.kill(hub, args['no-kill'] ? 'SIGTERM' : 'SIGKILL');
  await database.drop();
  if (!args.keep) rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify(results, null, 2));
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results', `several-hubs-${hubCount}x${agents}.json`), `${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
