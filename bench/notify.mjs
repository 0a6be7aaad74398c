#!/usr/bin/env node
// The notifier's outbox (issue #4): from `notify()` being called to the HTTP request arriving at
// a loopback generic-webhook receiver (HMAC-signed), through the real outbox on a real SQLite
// file: commit, worker pass, address guard, render, sign, send, mark sent. Two runs:
//  1. latency: notifications one at a time (the next after the previous arrived), p50/p99/max;
//  2. burst: N notifications to C channels at once, time until the last one arrived.
// Everything runs in this process (the notify module bundled from source with esbuild).
//   node bench/notify.mjs [--count 500] [--burst 2000] [--channels 10]
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { importHubSource, machine, root } from './lib.mjs';

const { values: args } = parseArgs({ options: { count: { type: 'string', default: '500' }, burst: { type: 'string', default: '2000' }, channels: { type: 'string', default: '10' } } });
const COUNT = Number(args.count);
const BURST = Number(args.burst);
const CHANNELS = Number(args.channels);

const m = await importHubSource('notify', [
  "export { openSqliteDatabase } from './apps/hub/src/infra/database.ts';",
  "export { createLogger } from './apps/hub/src/infra/logger.ts';",
  "export { createSecretBox } from './apps/hub/src/infra/secret-box.ts';",
  "export { createNotifyRepository } from './apps/hub/src/modules/notify/notify.repository.ts';",
  "export { createChannelsService } from './apps/hub/src/modules/notify/channels.service.ts';",
  "export { createNotifyService } from './apps/hub/src/modules/notify/notify.service.ts';",
  "export { createNetworkGuard, parseNetworks } from './apps/hub/src/modules/notify/net-guard.ts';",
  "export { ChannelCreateSchema } from './packages/protocol/src/index.ts';",
]);

const SECRET = 'bench-hmac-secret-0123456789abcdef';
const arrivals = new Map();
let badSignatures = 0;
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${req.headers['x-farol-timestamp']}.${body}`).digest('hex')}`;
    if (req.headers['x-farol-signature'] !== expected) badSignatures += 1;
    const id = JSON.parse(body).notification.alerts[0].alertId;
    arrivals.get(id)?.(performance.now());
    res.writeHead(200).end('{}');
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${receiver.address().port}`;

const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-bench-notify-'));
const { db } = await m.openSqliteDatabase(dataDir);
const logger = m.createLogger('silent');
const deps = {
  repo: m.createNotifyRepository(db),
  box: m.createSecretBox(Buffer.alloc(32, 7)),
  guard: m.createNetworkGuard({ allow: m.parseNetworks('127.0.0.1/32') }),
  clock: { now: () => Date.now() },
  logger,
};
const channels = m.createChannelsService(deps);
const outbox = m.createNotifyService(deps);
for (let c = 0; c < CHANNELS; c += 1) {
  await channels.create(m.ChannelCreateSchema.parse({ type: 'webhook', name: `ch${c}`, settings: { url: `${url}/hook/${c}`, secret: SECRET }, rateLimit: { count: 10_000, perSeconds: 1 } }));
}
await outbox.start();

const notice = (id) => ({
  kind: 'alerts',
  alerts: [{ alertId: id, ruleId: 'ru', ruleName: 'high cpu', event: 'firing', severity: 'warning', agentId: 'ag', agentName: 'web-1', subject: 'cpu', summary: 'CPU 93 % > 85 % for 5 min', value: 93, threshold: 85, comparator: '>', unit: '%', since: Date.now() - 300_000, resolvedAt: null, labels: {} }],
});
const arrived = (id) => new Promise((resolve) => arrivals.set(id, resolve));

// 1. latency, one at a time
const latencies = [];
for (let i = 0; i < COUNT; i += 1) {
  const id = `lat${i}`;
  const done = arrived(id);
  const start = performance.now();
  await outbox.notify(['ch0'], notice(id));
  latencies.push((await done) - start);
}
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);

// 2. burst across channels
const burstStart = performance.now();
const all = [];
for (let i = 0; i < BURST; i += 1) {
  const id = `burst${i}`;
  all.push(arrived(id));
  await outbox.notify([`ch${i % CHANNELS}`], notice(id));
}
const committed = performance.now() - burstStart;
await Promise.all(all);
const burstMs = performance.now() - burstStart;

await outbox.stop();
await db.destroy();
receiver.close();
rmSync(dataDir, { recursive: true, force: true });

const result = {
  machine: machine(),
  latency: { count: COUNT, p50Ms: pct(50), p99Ms: pct(99), maxMs: latencies.at(-1).toFixed(1) },
  burst: { notifications: BURST, channels: CHANNELS, allCommittedMs: committed.toFixed(0), allDeliveredMs: burstMs.toFixed(0), perSecond: Math.round((BURST / burstMs) * 1000) },
  badSignatures,
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/notify.json'), `${JSON.stringify(result, null, 2)}\n`);
