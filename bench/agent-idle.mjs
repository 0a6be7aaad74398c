#!/usr/bin/env node
// The real agent's own cost when idle: one bundled agent enrolled to a local hub, heartbeats
// every 10 s, measured from /proc after a warm-up.
//   node bench/agent-idle.mjs --duration 300 [--node-args '--max-semi-space-size=1']
// --node-args: Node flags for the agent, by default those install.sh's service units and the agent
// image give it (pass '' for none).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { agentBundle, api, machine, root, sleep, startHub, waitExit, watchProcess } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    interval: { type: 'string', default: '10s' },
    'node-args': { type: 'string', default: '--max-semi-space-size=1' },
  },
});
const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-bench-agent-'));
const hub = await startHub({ dataDir });
const { token } = await api(hub, 'POST', '/api/join-tokens', { note: 'bench agent' });
// As the installed service does: enroll once, then run (enrolling loads fetch, which stays).
const state = path.join(dataDir, 'agent');
const enroll = spawn(process.execPath, [agentBundle, 'enroll', '--hub', hub.url, '--token', token, '--state', state], { stdio: 'inherit' });
if ((await waitExit(enroll)) !== 0) throw new Error('enroll failed');
const nodeArgs = args['node-args'].split(' ').filter(Boolean);
const agent = spawn(process.execPath, [...nodeArgs, agentBundle, 'run', '--state', state, '--interval', args.interval], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, FAROL_LOG_LEVEL: 'warn' },
});
await sleep(Number(args.warmup) * 1000);
const watch = watchProcess(agent.pid);
await sleep(Number(args.duration) * 1000);
const stats = watch.stop();
const agents = (await api(hub, 'GET', '/api/agents')).agents;
agent.kill('SIGTERM');
await waitExit(agent);
hub.child.kill('SIGTERM');
await waitExit(hub.child);
const result = {
  when: new Date().toISOString(),
  machine: machine(),
  interval: args.interval,
  nodeArgs,
  measuredSeconds: Math.round(stats.seconds),
  agentOnline: agents[0]?.status === 'online',
  agent: {
    cpuPercentOfOneCore: +stats.cpuPercentOfOneCore.toFixed(2),
    rssMaxMiB: +stats.rssMaxMiB.toFixed(1),
    rssAvgMiB: +stats.rssAvgMiB.toFixed(1),
  },
};
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/agent-idle.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
rmSync(dataDir, { recursive: true, force: true });
