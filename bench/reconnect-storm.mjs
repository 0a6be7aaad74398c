#!/usr/bin/env node
// Reconnect storm (issue #14): N simulated agents (real protocol, production backoff: full jitter
// from 1 s, cap 60 s) given every hub in --hub, then
//   kill-one:    kill -9 of one hub; its agents move to the others;
//   rejoin:      that hub started again, empty: seconds until the hubs' rebalancing (ADR 0033)
//                leaves none over its tolerance of an even share, and how many links that took;
//   restart-all: kill -9 of every hub, all started again at once (and seconds until even).
// For each: peak links per second (verified hellos, across hubs), time until 50 %, 99 % and 100 %
// of the affected agents are linked again, and where they went. With --hubs 1 the hub runs on
// SQLite and only restart-all applies; with more, the hubs share one PostgreSQL database (a fresh
// one on --database-url's server) and one Redis (--redis-url), and the same hub identity.
// The simulator sets up at most 200 connections at once (its default --connect-concurrency),
// which bounds handshakes in flight, not their rate.
//   node bench/reconnect-storm.mjs --agents 2000 --hubs 3 [--database-url postgres://…] [--redis-url redis://…/10]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createFleet, createLinkLog, firstLinksAfter, measureReturn, spawnSimulator } from './fleet.mjs';
import { agentBundle, machine, root, sleep, waitExit } from './lib.mjs';
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
const work = mkdtempSync(path.join(tmpdir(), 'farol-storm-'));
const database = hubCount > 1 ? await createBenchDatabase(args['database-url']) : null;
const runId = Math.random().toString(36).slice(2, 8);

let fleet = null;
let sim = null;
let finished = false;
const results = {};
// A failed run must not leave hubs or the simulator behind.
process.on('exit', () => {
  for (const hub of fleet?.hubs ?? []) if (hub.child?.exitCode === null) hub.child.kill('SIGKILL');
  if (sim?.exitCode === null) sim.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
try {
  // With one hub: SQLite and no Redis.
  fleet = await createFleet({ count: hubCount, work, databaseUrl: database?.url, redisUrl: database ? args['redis-url'] : undefined, runId, name: 'storm' });
  const { hubs } = fleet;
  await fleet.startAll();

  const { token } = await fleet.api(hubs[0], 'POST', '/api/join-tokens', { uses: agents, ttl: '2h', note: 'reconnect storm' });
  const linkFile = path.join(work, 'links.jsonl');
  sim = spawnSimulator(
    [agentBundle, 'simulate', '--hub', hubs.map((hub) => hub.url).join(','), '--token', token, '--agents', String(agents), '--interval', args.interval,
      '--state', path.join(work, 'sim'), '--link-log', linkFile],
    agents,
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FAROL_LOG_LEVEL: 'error' } },
  );

  const linkLog = createLinkLog(linkFile);
  const { links } = linkLog;

  const perHub = () => Object.fromEntries(hubs.map((hub) => [hub.id, [...links.holder.values()].filter((url) => url === hub.url).length]));

  /**
   * Seconds from `since` until no hub holds more than the rebalancer's tolerance over an even
   * share (20 %, and 10 agents: ADR 0033), or null when that did not happen within 5 minutes.
   */
  async function secondsUntilEven(since) {
    const most = (agents / hubCount) * 1.2 + 10;
    const even = await linkLog.waitUntil(() => links.holder.size === agents && Object.values(perHub()).every((count) => count <= most), 300_000, 'the hubs holding even shares');
    return even ? +((Date.now() - since) / 1000).toFixed(1) : null;
  }
  /** Links made after `since`: in a settled fleet, the agents that moved (rebalancing). */
  const moves = (since) => links.events.filter((event) => event.at >= since && event.event === 'linked').length;

  const connectStart = Date.now();
  await linkLog.waitUntil(() => links.holder.size === agents, 600_000, 'every agent linked');
  console.error(`bench: ${agents} agents linked in ${((Date.now() - connectStart) / 1000).toFixed(1)} s: ${JSON.stringify(perHub())}`);
  // Let enrollment and the first heartbeats settle.
  await sleep(15_000);
  linkLog.read();

  /** Links after `since` of the agents in `affected`: rate per second, times to 50/99/100 % and the hubs they went to. */
  function measure(since, affected, extra = {}) {
    const { secondsTo50, secondsTo99, secondsTo100, ...counts } = measureReturn(links, since, affected);
    const { firstLink, perSecond } = firstLinksAfter(links, since, affected);
    const wentTo = {};
    for (const event of firstLink.values()) {
      const hub = hubs.find((h) => h.url === event.hubUrl);
      wentTo[hub?.id ?? event.hubUrl] = (wentTo[hub?.id ?? event.hubUrl] ?? 0) + 1;
    }
    // linksPerSecond next to peakLinksPerSecond, where the report has always printed it.
    return {
      ...counts,
      linksPerSecond: [...perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([second, count]) => `${second}s:${count}`).join(' '),
      secondsTo50,
      secondsTo99,
      secondsTo100,
      wentTo,
      ...extra,
    };
  }

  if (hubCount > 1) {
    const victim = hubs[0];
    const affected = new Set([...links.holder.entries()].filter(([, url]) => url === victim.url).map(([agent]) => agent));
    const since = Date.now();
    await fleet.kill(victim);
    await linkLog.waitUntil(() => [...affected].every((agent) => links.holder.has(agent) && links.holder.get(agent) !== victim.url), 180_000, 'the dead hub\'s agents elsewhere');
    results.killOne = measure(since, affected);
    console.error(`bench: kill -9 of one hub: ${JSON.stringify(results.killOne)}`);
    // Started again, empty (a rolling upgrade's last hub): the others move their excess to it.
    const rejoinSince = Date.now();
    await fleet.start(victim);
    results.rejoin = { secondsUntilEven: await secondsUntilEven(rejoinSince), spread: perHub(), moved: moves(rejoinSince) };
    console.error(`bench: the killed hub started again, empty: ${JSON.stringify(results.rejoin)}`);
    await sleep(10_000);
    linkLog.read();
  }

  {
    const affected = new Set(links.holder.keys());
    const since = Date.now();
    await Promise.all(hubs.map(fleet.kill));
    // Started again at once, as a cluster restarted by its orchestrator would be.
    const restartMs = await Promise.all(hubs.map(fleet.start));
    await linkLog.waitUntil(() => [...affected].every((agent) => links.events.some((e) => e.at >= since && e.event === 'linked' && e.agent === agent)), 300_000, 'every agent back');
    results.restartAll = measure(since, affected, { hubsReadyAfterSeconds: +(Math.max(...restartMs) / 1000 + 0).toFixed(2) });
    results.restartAll.spreadAfter = perHub();
    if (hubCount > 1) {
      results.restartAll.secondsUntilEven = await secondsUntilEven(since);
      results.restartAll.spreadEven = perHub();
    }
    console.error(`bench: kill -9 and restart of every hub: ${JSON.stringify(results.restartAll)}`);
  }


  sim.kill('SIGINT');
  await waitExit(sim);
  finished = true;
} finally {
  // Also after a failure: no hub or simulator left behind, no database left on the server.
  if (sim?.exitCode === null && !finished) sim.kill('SIGKILL');
  for (const hub of fleet?.hubs ?? []) await fleet.kill(hub);
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
