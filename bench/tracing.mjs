#!/usr/bin/env node
// What traces cost (issue #20): REST latency and hub CPU per request with tracing off, on
// (exporting to a loopback OTLP/HTTP receiver), and, with --previous, a hub built from a tree
// without tracing at all (e.g. `git archive <commit> | tar -x -C /tmp/farol-prev`, node_modules
// linked, `node scripts/build.mjs` there). The hubs run side by side and are measured in
// alternating rounds, so load from elsewhere hits them alike.
//   node bench/tracing.mjs [--requests 4000] [--rounds 5] [--concurrency 8] [--previous /tmp/farol-prev]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { farolBin, freePort, machine, procSnapshot, root, sleep, waitExit } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '8' },
    previous: { type: 'string' },
  },
});
const requests = Number(args.requests);
const rounds = Number(args.rounds);
const concurrency = Number(args.concurrency);

// The loopback collector: counts spans (JSON export), answers at once.
let spansReceived = 0;
const collector = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    for (const resource of body.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) spansReceived += scope.spans?.length ?? 0;
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise((resolve) => collector.listen(0, '127.0.0.1', resolve));
const collectorUrl = `http://127.0.0.1:${collector.address().port}`;

const adminToken = 'fat_bench_tracing_0123456789abcdef';
async function startHub(label, bin, env) {
  const dataDir = mkdtempSync(path.join(tmpdir(), `farol-bench-tracing-${label}-`));
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'hub', '--port', String(port), '--data', dataDir], {
    env: { ...process.env, FAROL_ADMIN_TOKEN: adminToken, FAROL_LOG_LEVEL: 'warn', FAROL_API_RATE_LIMIT: '0', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    try {
      if ((await fetch(`${url}/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${label} hub did not become ready`);
    await sleep(100);
  }
  return { label, child, url, dataDir, latencies: [], cpuSeconds: 0, wallSeconds: 0, count: 0 };
}

/** `count` authenticated GET /api/agents (auth, a query, JSON), `concurrency` at a time. */
async function burst(hub, count) {
  const before = procSnapshot(hub.child.pid);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const t0 = performance.now();
      const response = await fetch(`${hub.url}/api/agents`, { headers: { authorization: `Bearer ${adminToken}` } });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${hub.label}: ${response.status}`);
      hub.latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const after = procSnapshot(hub.child.pid);
  hub.wallSeconds += (performance.now() - started) / 1000;
  hub.cpuSeconds += after.cpuSeconds - before.cpuSeconds;
  hub.count += count;
}

const hubs = [];
if (args.previous) hubs.push(await startHub('previous', path.join(path.resolve(args.previous), 'bin/farol.mjs'), {}));
hubs.push(await startHub('off', farolBin, {}));
hubs.push(await startHub('on', farolBin, { FAROL_OTLP_ENDPOINT: collectorUrl }));

// Warm-up (JIT, statement caches), not counted.
for (const hub of hubs) {
  await burst(hub, 500);
  Object.assign(hub, { latencies: [], cpuSeconds: 0, wallSeconds: 0, count: 0 });
}
for (let round = 0; round < rounds; round++) for (const hub of hubs) await burst(hub, requests);
await sleep(2_000); // the last batch of spans

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const results = hubs.map((hub) => {
  const sorted = hub.latencies.sort((a, b) => a - b);
  return {
    hub: hub.label,
    requests: hub.count,
    requestsPerSecond: Math.round(hub.count / hub.wallSeconds),
    p50Ms: Number(percentile(sorted, 50).toFixed(3)),
    p99Ms: Number(percentile(sorted, 99).toFixed(3)),
    hubCpuMicrosecondsPerRequest: Math.round((hub.cpuSeconds / hub.count) * 1e6),
  };
});
const report = JSON.stringify({ machine: machine(), concurrency, rounds, requestsPerRound: requests, spansReceived, results }, null, 2);
console.log(report);
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/tracing.json'), `${report}\n`);

for (const hub of hubs) {
  hub.child.kill('SIGTERM');
  await waitExit(hub.child);
  rmSync(hub.dataDir, { recursive: true, force: true });
}
collector.close();
