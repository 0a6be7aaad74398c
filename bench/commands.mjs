#!/usr/bin/env node
// Remote commands: (1) one real agent, `echo` through POST /api/agents/:id/command, request to
// stored-and-returned result, p50/p99 over --runs; (2) fan-out of `echo` to --fanout simulated
// agents (real protocol: signed commands verified, ack, result), from POST /api/jobs until the
// job is done, i.e. every target's result is committed.
//   node bench/commands.mjs --runs 500 --fanout 1000 [--fanout 10000] [--repeats 3]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { agentBundle, api, machine, root, sleep, startHub, waitExit, watchProcess } from './lib.mjs';
import { createBenchDatabase, loadAverage } from './pg.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '500' },
    fanout: { type: 'string', multiple: true, default: ['1000'] },
    repeats: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    // PostgreSQL server for the hub (issue #13): a fresh database on it for this run, dropped after.
    'database-url': { type: 'string' },
  },
});
const runs = Number(args.runs);
const fanouts = args.fanout.map(Number).filter((n) => n > 0); // --fanout 0: the round trip only
const repeats = Number(args.repeats);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round = (n) => Math.round(n * 100) / 100;

async function waitFor(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const onlineCount = async (hub, label) => (await api(hub, 'GET', `/api/agents?status=online${label ? `&label=${label}` : ''}`)).agents.length;

/** One real agent; sequential requests, each waiting for its result. */
async function roundTrip(hub, dataDir) {
  const { token } = await api(hub, 'POST', '/api/join-tokens', { labels: { bench: 'real' } });
  const agent = spawn(process.execPath, [agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dataDir, 'agent'), '--name', 'bench-real', '--interval', '10s'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, FAROL_LOG_LEVEL: 'warn' },
  });
  await waitFor(async () => (await onlineCount(hub, 'bench=real')) === 1, 30_000, 'the agent');
  const body = { command: { kind: 'shell', argv: ['echo', 'hello'] } };
  // Where the time goes, from the timestamps the hub and the agent stored (same machine, same
  // clock, millisecond resolution): request → job stored, → command sent, → agent started it,
  // → agent finished it, → answer received.
  const phases = { stored: [], sent: [], started: [], finished: [], answered: [] };
  const once = async () => {
    const startedWall = Date.now();
    const started = performance.now();
    const job = await api(hub, 'POST', '/api/agents/bench-real/command', body);
    const took = performance.now() - started;
    const target = job.targets[0];
    if (target.state !== 'succeeded' || target.stdout !== 'hello\n') throw new Error(`unexpected result ${JSON.stringify(target)}`);
    const answeredWall = startedWall + took;
    return { took, split: { stored: job.createdAt - startedWall, sent: target.sentAt - job.createdAt, started: target.startedAt - target.sentAt, finished: target.endedAt - target.startedAt, answered: answeredWall - target.endedAt } };
  };
  for (let i = 0; i < 20; i++) await once(); // warm-up
  const times = [];
  for (let i = 0; i < runs; i++) {
    const { took, split } = await once();
    times.push(took);
    for (const [phase, ms] of Object.entries(split)) phases[phase].push(ms);
  }
  agent.kill('SIGTERM');
  await waitExit(agent);
  const sorted = times.toSorted((a, b) => a - b);
  const breakdown = Object.fromEntries(
    Object.entries(phases).map(([phase, values]) => {
      const s = values.toSorted((a, b) => a - b);
      return [phase, { p50Ms: round(percentile(s, 50)), p99Ms: round(percentile(s, 99)) }];
    }),
  );
  return { runs, p50Ms: round(percentile(sorted, 50)), p90Ms: round(percentile(sorted, 90)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted.at(-1)), breakdown };
}

/** N simulated agents; a job to all of them, timed until its last result is stored. */
async function fanOut(hub, dataDir, agents) {
  const { token } = await api(hub, 'POST', '/api/join-tokens', { uses: agents, ttl: '2h', labels: { bench: `sim${agents}` } });
  const sim = spawn(
    process.execPath,
    [agentBundle, 'simulate', '--hub', hub.url, '--token', token, '--agents', String(agents), '--interval', '60s', '--duration', '2h', '--state', path.join(dataDir, `sim-${agents}`)],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FAROL_LOG_LEVEL: 'warn' } },
  );
  await waitFor(async () => (await onlineCount(hub, `bench=sim${agents}`)) === agents, 600_000, `${agents} simulated agents online`);
  await sleep(2_000);
  const hubWatch = watchProcess(hub.child.pid, 200);
  const results = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    const job = await api(hub, 'POST', '/api/jobs', { command: { kind: 'shell', argv: ['echo', `fan-out ${i}`] }, targets: { selector: `bench=sim${agents}` } });
    const dispatchedMs = performance.now() - started;
    // The job list's summaries come from the hub's memory while a job runs: cheap to poll.
    let summary;
    for (;;) {
      summary = (await api(hub, 'GET', '/api/jobs?limit=1')).jobs[0];
      if (summary.id === job.id && summary.state === 'done') break;
      await sleep(10);
    }
    const doneMs = performance.now() - started;
    if (summary.counts.succeeded !== agents) throw new Error(`fan-out ${i}: ${JSON.stringify(summary.counts)}`);
    results.push({ createdAndStoredMs: Math.round(dispatchedMs), allResultsStoredMs: Math.round(doneMs) });
    console.error(`bench: fan-out to ${agents}: POST answered in ${Math.round(dispatchedMs)} ms, every result stored after ${Math.round(doneMs)} ms`);
    await sleep(1_000);
  }
  const hubStats = hubWatch.stop();
  sim.kill('SIGTERM');
  await waitExit(sim);
  const sorted = results.map((r) => r.allResultsStoredMs).toSorted((a, b) => a - b);
  return { agents, repeats: results, medianAllStoredMs: percentile(sorted, 50), hubRssMaxMiB: round(hubStats.rssMaxMiB), loadAverage: loadAverage() };
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-bench-cmd-'));
const database = args['database-url'] ? await createBenchDatabase(args['database-url']) : null;
const hub = await startHub({ dataDir, env: database ? { FAROL_DATABASE_URL: database.url } : {} });
try {
  console.error(`bench: round trip, ${runs} runs`);
  const rt = await roundTrip(hub, dataDir);
  console.error(`bench: round trip p50 ${rt.p50Ms} ms, p99 ${rt.p99Ms} ms; ${Object.entries(rt.breakdown).map(([phase, b]) => `${phase} ${b.p50Ms}/${b.p99Ms}`).join(', ')}`);
  const fan = [];
  for (const n of fanouts) fan.push(await fanOut(hub, dataDir, n));
  const result = { when: new Date().toISOString(), machine: machine(), database: database ? 'postgresql' : 'sqlite', roundTrip: rt, fanOut: fan };
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(path.join(root, 'bench/results', `commands-${fanouts.join('-')}${database ? '-pg' : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  hub.child.kill('SIGTERM');
  await waitExit(hub.child);
  await database?.drop();
  if (!args.keep) rmSync(dataDir, { recursive: true, force: true });
}
