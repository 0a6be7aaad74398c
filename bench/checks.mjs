#!/usr/bin/env node
// Service checks at fleet scale (issue #19 item 8): N simulated agents (protocol peers, as in
// bench/alerts.mjs: real enrolment, signed hello, the real `check:results` event) each report
// 10 check results every 30 s, spread over the 30 s. Measured on the real hub:
//  - hub CPU (ms per second of wall time) and memory (RSS, heap) in steady state;
//  - storage per stored result (database + WAL growth / results, after a checkpoint);
//  - check → alert latency: a peer reports CRITICAL for a check watched by a `check down` rule
//    (for: 0); time until the notice reaches a loopback webhook receiver. p50/p99.
// The hub runs in this process with the peers and the receiver (one event loop for all), so the
// CPU figure includes the peers' own cost and the latencies are pessimistic. The machine's load
// average is printed beside each figure: other work on the machine skews them.
//   node bench/checks.mjs [--agents 1000] [--rounds 4] [--probes 50]
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { io } from 'socket.io-client';
import { importHubSource, machine, root, sleep } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '4' },
    probes: { type: 'string', default: '50' },
  },
});
const AGENTS = Number(args.agents);
const ROUNDS = Number(args.rounds);
const PROBES = Number(args.probes);
const CHECKS = 10;
const PERIOD_MS = 30_000;

const hubSource = await importHubSource('checks', [
  "export { startHub } from './apps/hub/src/main.ts';",
  "export { PROTOCOL_VERSION, AGENT_TOKEN_AUDIENCE } from './packages/protocol/src/index.ts';",
]);

const load = () => loadavg().map((value) => +value.toFixed(2));
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const summary = (values) => ({ n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) });

const arrivals = new Map();
const receiver = createServer((request, response) => {
  const at = Date.now();
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    const { notification } = JSON.parse(body);
    if (notification.kind === 'alerts') for (const a of notification.alerts) if (a.event === 'firing') arrivals.set(a.subject, at);
    response.writeHead(200).end('ok');
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));

const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-bench-checks-'));
const adminToken = `fat_bench_${randomBytes(12).toString('hex')}`;
const hub = await hubSource.startHub(
  { port: 0, bind: '127.0.0.1', dataDir, logLevel: 'warn' },
  { FAROL_ADMIN_TOKEN: adminToken, FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_ALERTS_CHANNELS: 'bench', FAROL_ROLLUP_INTERVAL: '1h', FAROL_API_RATE_LIMIT: '0' },
);
const api = async (method, route, body) => {
  const response = await fetch(`${hub.url}${route}`, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
};
await api('POST', '/api/channels', { type: 'webhook', name: 'bench', settings: { url: `http://127.0.0.1:${receiver.address().port}/hook` }, rateLimit: { count: 10_000, perSeconds: 1 } });
for (const rule of (await api('GET', '/api/alert-rules')).rules) await api('PATCH', `/api/alert-rules/${rule.id}`, { enabled: false });
// Ten checks every bench machine runs (selector); the probes never run here: the peers report.
for (let c = 0; c < CHECKS; c++) await api('POST', '/api/checks', { name: `svc-${c}`, probe: { kind: 'tcp', host: '127.0.0.1', port: 9 }, runOn: { selector: 'bench=yes' }, interval: '30s', timeout: '5s' });
// Latency probes: one check per probe, run by one machine each, watched by a `down` rule.
for (let p = 0; p < PROBES; p++) await api('POST', '/api/checks', { name: `probe-${p}`, probe: { kind: 'tcp', host: '127.0.0.1', port: 9 }, runOn: { selector: `probe=p${p}` }, interval: '30s', timeout: '5s' });
await api('POST', '/api/alert-rules', { name: 'probe down', condition: { kind: 'check', condition: 'down', checks: Array.from({ length: PROBES }, (_, p) => `probe-${p}`) }, cooldown: 0 });

const dbFiles = () => ['farol.db', 'farol.db-wal'].reduce((sum, file) => sum + (statSync(path.join(dataDir, file), { throwIfNoEntry: false })?.size ?? 0), 0);
/** Bytes in the pages of the check result tables and their indexes (SQLite's dbstat, WAL included). */
function checkTableBytes() {
  const reader = new Database(path.join(dataDir, 'farol.db'), { readonly: true });
  try {
    return reader.prepare("select coalesce(sum(pgsize), 0) as bytes from dbstat where name like 'check_results%' or name like 'check_latest%' or name like 'check_1m%' or name like 'check_1h%' or name like 'sqlite_autoindex_check_%'").get().bytes;
  } finally {
    reader.close();
  }
}

// ---- enrol and connect ----------------------------------------------------------------------------
const enrolStart = Date.now();
const peers = [];
for (let i = 0; i < AGENTS; i++) {
  const labels = { bench: 'yes', ...(i < PROBES ? { probe: `p${i}` } : {}) };
  const { token } = await api('POST', '/api/join-tokens', { uses: 1, ttl: '1h', labels });
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(publicKey);
  const system = { hostname: `bench-${i}`, os: 'linux', distro: 'Debian', release: '12', kernel: '6.1', arch: 'x64', cpuModel: 'bench', cpuCores: 2, memoryTotal: 8e9, agentVersion: '0.0.0', ips: [] };
  const enrollment = await (
    await fetch(`${hub.url}/api/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, publicKey: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, system, protocolVersion: hubSource.PROTOCOL_VERSION }) })
  ).json();
  const iat = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' }).setSubject(enrollment.agentId).setAudience(hubSource.AGENT_TOKEN_AUDIENCE).setIssuedAt(iat).setExpirationTime(iat + 30).setJti(randomUUID()).sign(privateKey);
  const socket = io(`${hub.url}/agent`, { transports: ['websocket'], reconnection: false, auth: { protocolVersion: hubSource.PROTOCOL_VERSION, token: jwt } });
  const peer = { socket, name: enrollment.name, checks: [] };
  socket.on('checks:assign', ({ checks }) => (peer.checks = checks));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  await socket.timeout(10_000).emitWithAck('agent:hello', { system, heartbeatIntervalMs: 30_000, challenge: randomBytes(32).toString('base64url') });
  peers.push(peer);
}
await sleep(2000);
const enrolSeconds = +((Date.now() - enrolStart) / 1000).toFixed(1);
const assigned = peers.filter((p) => p.checks.filter((c) => c.name.startsWith('svc-')).length === CHECKS).length;
console.error(`enrolled ${peers.length} peers in ${enrolSeconds} s; ${assigned} have their ${CHECKS} checks`);

// ---- steady state: 10 results per peer every 30 s, spread over the period ----------------------
let stored = 0;
let ignored = 0;
function report(peer, status = 'ok', only = undefined) {
  const ts = Date.now();
  const results = peer.checks.filter((c) => (only ? c.name === only : c.name.startsWith('svc-'))).map((c) => ({ checkId: c.id, ts, status, latencyMs: status === 'ok' ? 5 + (ts % 40) : null, message: status === 'ok' ? 'TCP connect in 5 ms' : 'connect ECONNREFUSED', certDaysLeft: null, perfdata: [] }));
  return peer.socket
    .timeout(20_000)
    .emitWithAck('check:results', { results })
    .then((ack) => {
      if (!ack.ok) throw new Error(`check:results refused: ${JSON.stringify(ack.error)}`);
      stored += ack.data.stored;
      ignored += ack.data.ignored;
    });
}
// One warm-up round (first rows, JIT), then checkpoint the WAL and measure.
await Promise.all(peers.map((peer) => report(peer)));
await api('GET', '/api/checks');
const sizeBefore = checkTableBytes();
const storedBefore = stored;
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();
const loadDuring = [];
const memory = [];
const gap = PERIOD_MS / peers.length;
for (let round = 0; round < ROUNDS; round++) {
  const roundStart = Date.now();
  const pending = [];
  for (let i = 0; i < peers.length; i++) {
    const due = roundStart + i * gap;
    if (due > Date.now()) await sleep(due - Date.now());
    pending.push(report(peers[i]));
  }
  await Promise.all(pending);
  const rest = roundStart + PERIOD_MS - Date.now();
  if (rest > 0) await sleep(rest);
  loadDuring.push(load());
  const { rss, heapUsed } = process.memoryUsage();
  memory.push({ rssMiB: +(rss / 2 ** 20).toFixed(1), heapMiB: +(heapUsed / 2 ** 20).toFixed(1) });
  console.error(`round ${round + 1}/${ROUNDS}: load ${loadDuring.at(-1).join(' ')}, rss ${memory.at(-1).rssMiB} MiB`);
}
const cpu = process.cpuUsage(cpuBefore);
const wallSeconds = (performance.now() - wallBefore) / 1000;
const storedSteady = stored - storedBefore;
const sizeAfter = checkTableBytes();

// ---- check → alert latency ----------------------------------------------------------------------
const latencies = [];
for (let p = 0; p < PROBES; p++) {
  const name = `probe-${p}`;
  const before = Date.now();
  await report(peers[p], 'critical', name);
  const deadline = Date.now() + 20_000;
  while (!arrivals.has(`check ${name}`) && Date.now() < deadline) await sleep(5);
  if (arrivals.has(`check ${name}`)) latencies.push(arrivals.get(`check ${name}`) - before);
  await sleep(100);
}

const databaseFilesBytes = dbFiles();
for (const peer of peers) peer.socket.close();
await hub.close();
receiver.close();
rmSync(dataDir, { recursive: true, force: true });

const result = {
  when: new Date().toISOString(),
  machine: machine(),
  command: `node bench/checks.mjs --agents ${AGENTS} --rounds ${ROUNDS} --probes ${PROBES}`,
  agents: AGENTS,
  checksPerAgent: CHECKS,
  periodSeconds: PERIOD_MS / 1000,
  resultsPerSecond: +((AGENTS * CHECKS) / (PERIOD_MS / 1000)).toFixed(1),
  enrolSeconds,
  steady: {
    rounds: ROUNDS,
    resultsStored: storedSteady,
    resultsIgnored: ignored,
    cpuMsPerSecond: +((cpu.user + cpu.system) / 1000 / wallSeconds).toFixed(1),
    cpuMicrosecondsPerResult: +(((cpu.user + cpu.system) / storedSteady) || 0).toFixed(1),
    memory: memory.at(-1),
    loadAverage: loadDuring,
  },
  storage: { bytesPerResult: storedSteady > 0 ? Math.round((sizeAfter - sizeBefore) / storedSteady) : null, checkTablesBytes: sizeAfter, databaseFilesBytes },
  checkToAlertMs: { ...summary(latencies), missing: PROBES - latencies.length, loadAverage: load() },
};
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/checks.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
process.exit(0);
