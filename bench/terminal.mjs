#!/usr/bin/env node
// Terminal: a `yes` flood through a real hub and a real agent (node-pty), read by a /ui client.
// (0) node-pty read directly, the machine's ceiling; (1) a fast reader: throughput of shell
// output to the operator; (2) a slow reader that
// acknowledges each chunk 20 ms late: what the operator holds unacknowledged and the hub's RSS,
// which flow control must keep flat.
//   node bench/terminal.mjs [--seconds 10]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pty from 'node-pty';
import { io } from 'socket.io-client';
import { agentBundle, api, machine, root, sleep, startHub, waitExit, watchProcess } from './lib.mjs';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const seconds = Number(args.seconds);
const round = (n) => Math.round(n * 10) / 10;

const dir = mkdtempSync(path.join(tmpdir(), 'farol-bench-terminal-'));
const hub = await startHub({ dataDir: path.join(dir, 'hub') });
const { token } = await api(hub, 'POST', '/api/join-tokens', {});
const agent = spawn(process.execPath, [agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir, 'agent'), '--name', 'bench-term', '--log-level', 'warn'], {
  env: { ...process.env, SHELL: '/bin/sh' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
for (let i = 0; (await api(hub, 'GET', '/api/agents?status=online')).agents.length === 0; i++) {
  if (i > 300) throw new Error('the agent did not come online');
  await sleep(100);
}

const ui = io(`${hub.url}/ui`, { transports: ['websocket'], auth: { token: hub.adminToken }, forceNew: true });
await new Promise((resolve, reject) => {
  ui.once('connect', resolve);
  ui.once('connect_error', reject);
});

/** One session flooding for `seconds`; `ackDelayMs` null acknowledges at once. */
async function flood(ackDelayMs) {
  const opened = await ui.timeout(20_000).emitWithAck('terminal:open', { agentId: 'bench-term', cols: 200, rows: 50 });
  if (!opened.ok) throw new Error(`terminal:open: ${opened.error.message}`);
  const { sessionId } = opened.data;
  let bytes = 0;
  let held = 0;
  let maxHeld = 0;
  const onOutput = (payload, ack) => {
    if (payload.sessionId !== sessionId) return;
    const size = payload.data.byteLength;
    bytes += size;
    if (ackDelayMs === null) return ack();
    held += size;
    maxHeld = Math.max(maxHeld, held);
    setTimeout(() => {
      held -= size;
      ack();
    }, ackDelayMs);
  };
  ui.on('terminal:output', onOutput);
  await sleep(500);
  const hubWatch = watchProcess(hub.child.pid, 250);
  const agentWatch = watchProcess(agent.pid, 250);
  const start = performance.now();
  const startBytes = bytes;
  await ui.timeout(5_000).emitWithAck('terminal:input', { sessionId, data: Buffer.from('yes\r') });
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  const moved = bytes - startBytes;
  const hubStats = hubWatch.stop();
  const agentStats = agentWatch.stop();
  await ui.timeout(5_000).emitWithAck('terminal:close', { sessionId });
  ui.off('terminal:output', onOutput);
  return {
    ackDelayMs,
    mibPerSecond: round(moved / elapsed / 2 ** 20),
    maxHeldKiB: ackDelayMs === null ? null : round(maxHeld / 1024),
    hubRssMaxMiB: round(hubStats.rssMaxMiB),
    hubCpuPercent: round(hubStats.cpuPercentOfOneCore),
    agentRssMaxMiB: round(agentStats.rssMaxMiB),
    agentCpuPercent: round(agentStats.cpuPercentOfOneCore),
  };
}

/** The same flood read straight from node-pty in this process: the ceiling of the machine's PTYs. */
async function rawPty() {
  const term = pty.spawn('/bin/sh', ['-c', 'yes'], { cols: 200, rows: 50, encoding: null });
  let bytes = 0;
  term.onData((data) => (bytes += data.length));
  await sleep(seconds * 1000);
  term.kill();
  return { mibPerSecond: round(bytes / seconds / 2 ** 20) };
}

const raw = await rawPty();
const fast = await flood(null);
const slow = await flood(20);
ui.close();
agent.kill('SIGTERM');
await waitExit(agent);
hub.child.kill('SIGTERM');
await waitExit(hub.child);
rmSync(dir, { recursive: true, force: true });

const result = { machine: machine(), seconds, raw, fast, slow };
console.log(JSON.stringify(result, null, 2));
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/terminal.json'), `${JSON.stringify(result, null, 2)}\n`);
