#!/usr/bin/env node
// The alerts engine (issue #4), two measurements:
//  1. evaluation cost: 10,000 agents × 10 metric rules, one heartbeat each per cycle, through the
//     real engine on the in-memory bus with SQLite behind it (CPU ms per cycle);
//  2. latency, end to end through the real hub: a metric rule's condition met (after `for`) and a
//     disconnect, to the notifier's HTTP request arriving at a loopback generic-webhook receiver
//     (the notify module's outbox and delivery included). p50/p99.
// The hub runs in this process (bundled from source with esbuild, like scripts/build.mjs), with
// the protocol peers and the receiver: one event loop for all, so the latencies are pessimistic.
//   node bench/alerts.mjs [--agents 10000] [--rules 10] [--cycles 10] [--peers 100] [--for 2s]
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { io } from 'socket.io-client';
import { importHubSource, machine, root, sleep } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    rules: { type: 'string', default: '10' },
    cycles: { type: 'string', default: '10' },
    peers: { type: 'string', default: '100' },
    for: { type: 'string', default: '2s' },
  },
});
const AGENTS = Number(args.agents);
const CYCLES = Number(args.cycles);
const PEERS = Number(args.peers);
const FOR_MS = Number(/^(\d+)s$/.exec(args.for)?.[1] ?? '2') * 1000;

const hubSource = await importHubSource('alerts', [
  "export { startHub } from './apps/hub/src/main.ts';",
  "export { createAlertsService } from './apps/hub/src/modules/alerts/alerts.service.ts';",
  "export { openSqliteDatabase } from './apps/hub/src/infra/database.ts';",
  "export { createRepositories, createUnitOfWork } from './apps/hub/src/modules/repositories.ts';",
  "export { createMemoryBus } from './apps/hub/src/infra/bus.ts';",
  "export { createLogger } from './apps/hub/src/infra/logger.ts';",
  "export { PROTOCOL_VERSION, AGENT_TOKEN_AUDIENCE } from './packages/protocol/src/index.ts';",
]);

function sample(ts, i) {
  // Steady state: nothing breaches (the common case), values differ per machine.
  const cpu = 10 + (i % 50);
  return {
    ts,
    cpu: { total: cpu, perCore: [cpu, cpu, cpu, cpu], load: [0.5, 0.4, 0.3] },
    memory: { total: 8e9, used: 4e9, available: 4e9, percent: 50, swapTotal: 1e9, swapUsed: 0, swapPercent: 0 },
    filesystems: [
      { mount: '/', device: '/dev/vda1', type: 'ext4', size: 100e9, used: 40e9, percent: 40 },
      { mount: '/data', device: '/dev/vdb1', type: 'ext4', size: 500e9, used: 200e9, percent: 40 },
    ],
    diskIo: { readBps: 1000, writeBps: 2000 },
    network: { rxBps: 300, txBps: 400, interfaces: [{ name: 'eth0', rxBps: 300, txBps: 400 }] },
    uptimeSeconds: 1000,
    processCount: 100,
    topCpu: [{ pid: 1, name: 'init', cpu: 0.1, memory: 0.1, rss: 1000 }],
    topMemory: [],
    temperatures: { cpu: 45, max: 50 },
    gpus: [{ index: 0, name: 'GPU', utilization: 20, memoryUsed: 1e9, memoryTotal: 8e9, temperature: 50, powerWatts: 80 }],
    containers: [],
  };
}

// ---- 1. evaluation cost ------------------------------------------------------------------------
async function evaluationCost() {
  const dir = mkdtempSync(path.join(tmpdir(), 'farol-bench-alerts-'));
  const { db } = await hubSource.openSqliteDatabase(dir);
  const repos = hubSource.createRepositories(db);
  const now = Date.now();
  const ids = [];
  for (let i = 0; i < AGENTS; i++) {
    const id = `ag_${String(i).padStart(16, '0')}`;
    ids.push(id);
    await repos.agents.insert({ id, name: `m-${i}`, hostname: `m-${i}`, publicKey: id, keyFingerprint: id, labels: { role: i % 2 ? 'web' : 'gpu' }, system: null, createdAt: now, joinTokenId: 'jt' });
  }
  const logger = hubSource.createLogger('warn');
  const bus = hubSource.createMemoryBus(logger);
  const clock = { t: now, now: () => clock.t };
  let notices = 0;
  const service = hubSource.createAlertsService({
    alerts: repos.alerts,
    unitOfWork: hubSource.createUnitOfWork(db),
    agents: repos.agents,
    isOnline: () => true,
    latestValues: () => null,
    notifier: { notify: async (_channels, n) => void (notices += n.kind === 'alerts' ? n.alerts.length : 0) },
    bus,
    clock,
    logger,
    options: { defaultCooldownMs: 1_800_000, defaultChannels: ['ops'], groupWindowMs: 0, startupGraceMs: 3_600_000, report: null, timers: false },
  });
  await service.start();
  for (const rule of service.listRules()) await service.updateRule(rule.id, { enabled: false });
  const metrics = ['cpu', 'memory', 'swap', 'disk', 'load1', 'temperature', 'gpu.utilization', 'gpu.temperature', 'net.rx', 'processes'];
  const thresholds = { cpu: 85, memory: 90, swap: 80, disk: 90, load1: 16, temperature: 90, 'gpu.utilization': 95, 'gpu.temperature': 85, 'net.rx': 1e9, processes: 5000 };
  for (let r = 0; r < Number(args.rules); r++) {
    const metric = metrics[r % metrics.length];
    await service.createRule({ name: `rule ${r}`, condition: { kind: 'metric', metric, threshold: thresholds[metric], for: '5m' }, scope: r % 3 === 2 ? { selector: 'role=web' } : { all: true } });
  }
  const samples = ids.map((_, i) => sample(now, i));
  const cycles = [];
  for (let cycle = 0; cycle < CYCLES + 2; cycle++) {
    clock.t += 10_000;
    for (const s of samples) s.ts = clock.t;
    const cpu = process.cpuUsage();
    const wall = performance.now();
    for (let i = 0; i < ids.length; i++) bus.publish('metrics.sample', { agentId: ids[i], sample: samples[i] });
    await service.settle();
    const used = process.cpuUsage(cpu);
    // The first two cycles warm the JIT and the per-machine rule caches.
    if (cycle >= 2) cycles.push({ cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wall });
  }
  // With changes: 1 % of the machines cross the CPU threshold in one cycle (pending rows written).
  clock.t += 10_000;
  for (let i = 0; i < ids.length; i++) {
    samples[i].ts = clock.t;
    if (i % 100 === 0) samples[i].cpu.total = 97;
  }
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < ids.length; i++) bus.publish('metrics.sample', { agentId: ids[i], sample: samples[i] });
  await service.settle();
  const used = process.cpuUsage(cpu);
  const changed = { machines: Math.ceil(ids.length / 100), cpuMs: +((used.user + used.system) / 1000).toFixed(1), wallMs: +(performance.now() - wall).toFixed(1) };
  await service.stop();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
  const sorted = cycles.map((c) => c.cpuMs).sort((a, b) => a - b);
  return {
    agents: AGENTS,
    rules: Number(args.rules),
    cycles: cycles.length,
    cpuMsPerCycle: { mean: +(sorted.reduce((a, b) => a + b, 0) / sorted.length).toFixed(1), max: +sorted[sorted.length - 1].toFixed(1) },
    wallMsPerCycleMean: +(cycles.reduce((a, c) => a + c.wallMs, 0) / cycles.length).toFixed(1),
    cpuMicrosecondsPerHeartbeat: +((sorted.reduce((a, b) => a + b, 0) / sorted.length / AGENTS) * 1000).toFixed(2),
    cycleWithOnePercentCrossing: changed,
    noticesDuringSteadyState: notices,
  };
}

// ---- 2. latency through the real hub -----------------------------------------------------------
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function latency() {
  const arrivals = new Map();
  const receiver = createServer((request, response) => {
    const at = Date.now();
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const { notification } = JSON.parse(body);
      if (notification.kind === 'alerts') for (const a of notification.alerts) arrivals.set(`${a.agentName}|${a.subject}|${a.event}`, at);
      response.writeHead(200).end('ok');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-bench-alerts-hub-'));
  const adminToken = `fat_bench_${randomBytes(12).toString('hex')}`;
  const hub = await hubSource.startHub(
    { port: 0, bind: '127.0.0.1', dataDir, logLevel: 'warn' },
    { FAROL_ADMIN_TOKEN: adminToken, FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_ALERTS_CHANNELS: 'bench', FAROL_ROLLUP_INTERVAL: '1h' },
  );
  const api = async (method, route, body) => {
    const response = await fetch(`${hub.url}${route}`, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? null : response.json();
  };
  await api('POST', '/api/channels', { type: 'webhook', name: 'bench', settings: { url: `http://127.0.0.1:${receiver.address().port}/hook` }, rateLimit: { count: 10_000, perSeconds: 1 } });
  for (const rule of (await api('GET', '/api/alert-rules')).rules) await api('PATCH', `/api/alert-rules/${rule.id}`, { enabled: false });
  await api('POST', '/api/alert-rules', { name: 'cpu hot', condition: { kind: 'metric', metric: 'cpu', threshold: 90, for: FOR_MS }, cooldown: 0 });
  await api('POST', '/api/alert-rules', { name: 'gone', condition: { kind: 'offline', for: 0 }, cooldown: 0 });
  const { token } = await api('POST', '/api/join-tokens', { uses: PEERS, ttl: '1h' });

  const peers = [];
  for (let i = 0; i < PEERS; i++) {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwk = await exportJWK(publicKey);
    const system = { hostname: `bench-${i}`, os: 'linux', distro: 'Debian', release: '12', kernel: '6.1', arch: 'x64', cpuModel: 'bench', cpuCores: 2, memoryTotal: 8e9, agentVersion: '0.0.0', ips: [] };
    const response = await fetch(`${hub.url}/api/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, publicKey: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, system, protocolVersion: hubSource.PROTOCOL_VERSION }),
    });
    const enrollment = await response.json();
    const iat = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' }).setSubject(enrollment.agentId).setAudience(hubSource.AGENT_TOKEN_AUDIENCE).setIssuedAt(iat).setExpirationTime(iat + 30).setJti(randomUUID()).sign(privateKey);
    const socket = io(`${hub.url}/agent`, { transports: ['websocket'], reconnection: false, auth: { protocolVersion: hubSource.PROTOCOL_VERSION, token: jwt } });
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    await socket.timeout(5000).emitWithAck('agent:hello', { system, heartbeatIntervalMs: 10_000, challenge: randomBytes(32).toString('base64url') });
    peers.push({ socket, name: enrollment.name });
  }
  await sleep(1000);

  // Metric: each peer reports CPU 97 once; the condition is met FOR_MS after the hub has it.
  const metric = [];
  const sentAt = new Map();
  for (const peer of peers) {
    const s = sample(Date.now(), 0);
    s.cpu.total = 97;
    const before = Date.now();
    await peer.socket.timeout(5000).emitWithAck('metrics:report', { samples: [s] });
    sentAt.set(peer.name, before);
    await sleep(23);
  }
  const deadline = Date.now() + FOR_MS + 30_000;
  while ([...sentAt.keys()].some((name) => !arrivals.has(`${name}|CPU|firing`)) && Date.now() < deadline) await sleep(50);
  for (const [name, at] of sentAt) {
    const arrived = arrivals.get(`${name}|CPU|firing`);
    if (arrived !== undefined) metric.push(arrived - (at + FOR_MS));
  }

  // Disconnect: each peer closes its connection; the offline rule has no grace.
  const disconnect = [];
  const closedAt = new Map();
  for (const peer of peers) {
    closedAt.set(peer.name, Date.now());
    peer.socket.close();
    await sleep(23);
  }
  const deadline2 = Date.now() + 30_000;
  while ([...closedAt.keys()].some((name) => !arrivals.has(`${name}|offline|firing`)) && Date.now() < deadline2) await sleep(50);
  for (const [name, at] of closedAt) {
    const arrived = arrivals.get(`${name}|offline|firing`);
    if (arrived !== undefined) disconnect.push(arrived - at);
  }
  await hub.close();
  receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
  const summary = (values) => ({ n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) });
  return { peers: PEERS, forMs: FOR_MS, metricAfterForMs: summary(metric), disconnectMs: summary(disconnect), missing: { metric: PEERS - metric.length, disconnect: PEERS - disconnect.length } };
}

const evaluation = await evaluationCost();
console.error(`evaluation: ${JSON.stringify(evaluation)}`);
const latencies = await latency();
const result = { when: new Date().toISOString(), machine: machine(), evaluation, latency: latencies };
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/alerts.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
process.exit(0);
