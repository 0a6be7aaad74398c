#!/usr/bin/env node
// Round trips of the agent connect path on PostgreSQL + Redis (issue #14): one hub (or
// --hubs N sharing the database) reaches PostgreSQL and Redis through two counting proxies on
// loopback, N simulated agents enroll and connect, then disconnect and connect again with the
// identities they got. Prints, per agent and phase, the PostgreSQL round trips (Sync and
// simple-query messages: one per statement the pool sends), the statements by kind, the Redis
// commands by name and the socket writes that carried them (auto-pipelining puts several
// commands in one write), and how long the phase took.
//   node bench/connect-trips.mjs --agents 500 [--hubs 1] [--root /tmp/other-checkout]
// --root runs another checkout's build (an A/B against the previous commit in the same run).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, machine, root as ownRoot, sleep, waitExit } from './lib.mjs';
import { createBenchDatabase, loadAverage } from './pg.mjs';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '500' },
    hubs: { type: 'string', default: '1' },
    root: { type: 'string', default: ownRoot },
    'database-url': { type: 'string', default: process.env.FAROL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379/11' },
    label: { type: 'string', default: '' },
  },
});
const agents = Number(args.agents);
const hubCount = Number(args.hubs);
const checkout = path.resolve(args.root);
const farolBin = path.join(checkout, 'bin/farol.mjs');
const agentBundle = path.join(checkout, 'apps/agent/dist/farol-agent.mjs');

/** What crossed a proxy from the hubs to the server since the last reset. */
function counters() {
  return { trips: 0, writes: 0, kinds: new Map() };
}
const pgCount = counters();
const redisCount = counters();
const bump = (count, kind) => count.kinds.set(kind, (count.kinds.get(kind) ?? 0) + 1);
function reset(count) {
  count.trips = 0;
  count.writes = 0;
  count.kinds.clear();
}

/** PostgreSQL frontend messages: an untyped startup message, then type byte + int32 length + body. */
function pgParser() {
  let buffer = Buffer.alloc(0);
  let started = false;
  let pendingStatement = null;
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (!started) {
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        if (buffer.length < length) return;
        // SSLRequest / GSSENCRequest are followed by another untyped message.
        const code = buffer.readInt32BE(4);
        if (code !== 80877103 && code !== 80877104) started = true;
        buffer = buffer.subarray(length);
        continue;
      }
      if (buffer.length < 5) return;
      const type = String.fromCharCode(buffer[0]);
      const length = buffer.readInt32BE(1);
      if (buffer.length < 1 + length) return;
      const body = buffer.subarray(5, 1 + length);
      if (type === 'P') {
        const nameEnd = body.indexOf(0);
        pendingStatement = body.subarray(nameEnd + 1, body.indexOf(0, nameEnd + 1)).toString();
      } else if (type === 'S' || type === 'Q') {
        pgCount.trips++;
        const text = type === 'Q' ? body.subarray(0, body.length - 1).toString() : pendingStatement ?? '(prepared)';
        bump(pgCount, statementKind(text));
        pendingStatement = null;
      }
      buffer = buffer.subarray(1 + length);
    }
  };
}

/** "select agents", "update agents", "begin", …: the verb and the first table named. */
function statementKind(text) {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase() ?? '?';
  const table = /\b(?:from|into|update)\s+"?(\w+)"?/i.exec(text)?.[1] ?? '';
  return table ? `${verb} ${table}` : verb;
}

/** RESP: every command is an array of bulk strings. */
function redisParser() {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    redisCount.writes++;
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length === 0 || buffer[0] !== 0x2a) return;
      let at = buffer.indexOf('\r\n');
      if (at < 0) return;
      const parts = Number(buffer.subarray(1, at).toString());
      let offset = at + 2;
      let name = null;
      for (let i = 0; i < parts; i++) {
        at = buffer.indexOf('\r\n', offset);
        if (at < 0) return;
        const size = Number(buffer.subarray(offset + 1, at).toString());
        if (buffer.length < at + 2 + size + 2) return;
        if (i === 0) name = buffer.subarray(at + 2, at + 2 + size).toString().toUpperCase();
        offset = at + 2 + size + 2;
      }
      redisCount.trips++;
      bump(redisCount, name);
      buffer = buffer.subarray(offset);
    }
  };
}

/** A TCP proxy on loopback to `target`, feeding what clients send to a fresh parser per connection. */
async function countingProxy(target, makeParser) {
  const port = await freePort();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const parse = makeParser();
    client.on('data', (chunk) => {
      parse(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, server };
}

const work = mkdtempSync(path.join(tmpdir(), 'farol-trips-'));
const database = await createBenchDatabase(args['database-url']);
const pgTarget = new URL(database.url);
const redisTarget = new URL(args['redis-url']);
const pgProxy = await countingProxy(pgTarget, pgParser);
const redisProxy = await countingProxy(redisTarget, redisParser);
const proxiedDatabaseUrl = Object.assign(new URL(database.url), { host: `127.0.0.1:${pgProxy.port}` }).toString();
const proxiedRedisUrl = Object.assign(new URL(args['redis-url']), { host: `127.0.0.1:${redisProxy.port}` }).toString();
const adminToken = `fat_bench_trips_${Math.random().toString(36).slice(2)}_0123456789`;
const runId = Math.random().toString(36).slice(2, 8);
const hubs = [];
let sim = null;
process.on('exit', () => {
  for (const hub of hubs) if (hub.child?.exitCode === null) hub.child.kill('SIGKILL');
  if (sim?.exitCode === null) sim.kill('SIGKILL');
});

async function startHub(index) {
  const port = await freePort();
  const dataDir = path.join(work, `hub-${index}`);
  if (index > 0) {
    mkdirSync(dataDir, { recursive: true });
    for (const file of ['hub-key.json', 'secret.key']) copyFileSync(path.join(work, 'hub-0', file), path.join(dataDir, file));
  }
  const child = spawn(process.execPath, [farolBin, 'hub', '--port', String(port), '--data', dataDir], {
    env: {
      ...process.env,
      FAROL_ADMIN_TOKEN: adminToken,
      FAROL_LOG_LEVEL: 'warn',
      FAROL_API_RATE_LIMIT: '0',
      FAROL_DATABASE_URL: proxiedDatabaseUrl,
      FAROL_REDIS_URL: proxiedRedisUrl,
      FAROL_HUB_ID: `trips-${runId}-${index}`,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const hub = { url: `http://127.0.0.1:${port}`, child };
  hubs.push(hub);
  for (const deadline = Date.now() + 180_000; ; await sleep(100)) {
    try {
      if ((await fetch(`${hub.url}/ready`)).ok) return hub;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`hub ${index} did not become ready`);
  }
}

const linkLog = path.join(work, 'links.jsonl');
/** Agents whose latest link event since `offset` is "linked". */
function linkedSince(offset) {
  if (!existsSync(linkLog)) return { linked: 0, size: offset };
  const text = readFileSync(linkLog, 'utf8');
  const holder = new Set();
  for (const line of text.slice(offset).split('\n')) {
    if (!line) continue;
    const event = JSON.parse(line);
    if (event.event === 'linked') holder.add(event.agent);
    else holder.delete(event.agent);
  }
  return { linked: holder.size, size: text.length };
}

/** Runs the simulator until every agent is linked; returns the phase's counts per agent. */
async function phase(name, token) {
  const offset = existsSync(linkLog) ? readFileSync(linkLog, 'utf8').length : 0;
  reset(pgCount);
  reset(redisCount);
  const load = loadAverage()[0];
  const started = performance.now();
  sim = spawn(
    process.execPath,
    [agentBundle, 'simulate', '--hub', hubs.map((hub) => hub.url).join(','), '--token', token, '--agents', String(agents), '--interval', '1h',
      '--state', path.join(work, 'sim'), '--link-log', linkLog],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, FAROL_LOG_LEVEL: 'error' } },
  );
  for (const deadline = Date.now() + 900_000; linkedSince(offset).linked < agents; await sleep(100)) {
    if (Date.now() > deadline) throw new Error(`${name}: not every agent linked in 15 min`);
  }
  const seconds = (performance.now() - started) / 1000;
  // Work the hub does just after the hello (the agent's first report, jobs and checks sent to it).
  await sleep(3_000);
  const per = (n) => +(n / agents).toFixed(2);
  const top = (count) => Object.fromEntries([...count.kinds].sort((a, b) => b[1] - a[1]).map(([kind, n]) => [kind, per(n)]));
  const result = {
    phase: name,
    secondsUntilAllLinked: +seconds.toFixed(1),
    loadAverageAtStart: load,
    postgresRoundTripsPerAgent: per(pgCount.trips),
    postgresStatementsPerAgent: top(pgCount),
    redisCommandsPerAgent: per(redisCount.trips),
    redisWritesPerAgent: per(redisCount.writes),
    redisCommandsByNamePerAgent: top(redisCount),
  };
  console.error(`bench: ${JSON.stringify(result)}`);
  sim.kill('SIGINT');
  await waitExit(sim);
  return result;
}

const phases = [];
try {
  await startHub(0);
  for (let index = 1; index < hubCount; index++) await startHub(index);
  const response = await fetch(`${hubs[0].url}/api/join-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ uses: agents, ttl: '2h', note: 'connect trips' }),
  });
  const { token } = await response.json();
  phases.push(await phase('enroll and first connect', token));
  // Let the hubs record the disconnects before counting the reconnects.
  await sleep(5_000);
  phases.push(await phase('reconnect (enrolled)', token));
} finally {
  if (sim?.exitCode === null) sim.kill('SIGKILL');
  for (const hub of hubs) if (hub.child.exitCode === null) {
    hub.child.kill('SIGKILL');
    await waitExit(hub.child);
  }
  pgProxy.server.close();
  redisProxy.server.close();
  await database.drop();
  rmSync(work, { recursive: true, force: true });
}
const report = { bench: 'connect-trips', label: args.label || checkout, machine: machine(), agents, hubs: hubCount, phases };
console.log(JSON.stringify(report, null, 2));
mkdirSync(path.join(ownRoot, 'bench/results'), { recursive: true });
writeFileSync(path.join(ownRoot, 'bench/results', `connect-trips-${args.label || 'run'}-${agents}.json`), `${JSON.stringify(report, null, 2)}\n`);
process.exit(0);
