#!/usr/bin/env node
// The real agent's own cost when idle: one bundled agent enrolled to a local hub, heartbeats
// every 10 s, measured from /proc after a warm-up.
//   node bench/agent-idle.mjs --duration 300 [--node-args '--max-semi-space-size=1'] [--heap-snapshot]
// --exe PATH: measure a one-file agent (scripts/build-agent-exe.mjs) instead of the bundle; its
// Node flags are its own (the SEA configuration's execArgv), so --node-args does not apply.
// --heap-snapshot: at the end, the agent's heap is written to bench/results/agent-idle.heapsnapshot
// (read it with bench/heap-retainers.mjs).
// --node-args: Node flags for the agent, by default those install.sh's service units and the agent
// image give it (pass '' for none).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    'heap-snapshot': { type: 'boolean', default: false },
    exe: { type: 'string' },
  },
});
const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-bench-agent-'));
const hub = await startHub({ dataDir });
const { token } = await api(hub, 'POST', '/api/join-tokens', { note: 'bench agent' });
// As the installed service does: enroll once, then run (enrolling loads fetch, which stays).
const state = path.join(dataDir, 'agent');
/** The agent program and the arguments before its own: the bundle under this Node, or a one-file agent. */
const program = (nodeArgs) => (args.exe ? [path.resolve(args.exe), []] : [process.execPath, [...nodeArgs, agentBundle]]);
const [enrollProgram, enrollPrefix] = program([]);
const enroll = spawn(enrollProgram, [...enrollPrefix, 'enroll', '--hub', hub.url, '--token', token, '--state', state], { stdio: 'inherit' });
if ((await waitExit(enroll)) !== 0) throw new Error('enroll failed');
const nodeArgs = args.exe ? [] : args['node-args'].split(' ').filter(Boolean);
const snapshotArgs = args['heap-snapshot'] ? ['--heapsnapshot-signal=SIGUSR2'] : [];
const [agentProgram, agentPrefix] = program([...nodeArgs, ...snapshotArgs]);
const agent = spawn(agentProgram, [...agentPrefix, 'run', '--state', state, '--interval', args.interval], {
  cwd: dataDir,
  stdio: ['ignore', 'ignore', 'inherit'],
  // A one-file agent takes Node flags from NODE_OPTIONS only.
  env: { ...process.env, FAROL_LOG_LEVEL: 'warn', ...(args.exe && args['heap-snapshot'] ? { NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2' } : {}) },
});
await sleep(Number(args.warmup) * 1000);
const watch = watchProcess(agent.pid);
await sleep(Number(args.duration) * 1000);
const stats = watch.stop();
const memory = memoryOf(agent.pid);
if (args['heap-snapshot']) {
  agent.kill('SIGUSR2');
  const written = await waitForSnapshot(dataDir);
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  copyFileSync(written, path.join(root, 'bench/results/agent-idle.heapsnapshot'));
}
const agents = (await api(hub, 'GET', '/api/agents')).agents;
agent.kill('SIGTERM');
await waitExit(agent);
hub.child.kill('SIGTERM');
await waitExit(hub.child);
const result = {
  when: new Date().toISOString(),
  machine: machine(),
  interval: args.interval,
  program: args.exe ? path.basename(args.exe) : 'farol-agent.mjs',
  nodeArgs,
  measuredSeconds: Math.round(stats.seconds),
  agentOnline: agents[0]?.status === 'online',
  agent: {
    cpuPercentOfOneCore: +stats.cpuPercentOfOneCore.toFixed(2),
    rssMaxMiB: +stats.rssMaxMiB.toFixed(1),
    rssAvgMiB: +stats.rssAvgMiB.toFixed(1),
    ...memory,
  },
};
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/agent-idle.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
rmSync(dataDir, { recursive: true, force: true });

/** RSS at the end split as /proc/<pid>/smaps_rollup splits it: file-backed pages (the binary, libraries) and anonymous. */
function memoryOf(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
  const mib = (value) => +(value / 1024).toFixed(1);
  return { rssLastMiB: mib(kib('Rss')), fileBackedMiB: mib(kib('Rss') - kib('Anonymous')), anonymousMiB: mib(kib('Anonymous')) };
}

/** The heap snapshot Node writes on SIGUSR2 into the agent's working directory, once complete. */
async function waitForSnapshot(dir) {
  for (let waited = 0; waited < 60_000; waited += 500) {
    await sleep(500);
    const name = readdirSync(dir).find((file) => file.endsWith('.heapsnapshot'));
    // Node writes the file in one go and closes it; a snapshot ends with its strings array and '}'.
    if (name && readFileSync(path.join(dir, name), 'utf8').trimEnd().endsWith('}')) return path.join(dir, name);
  }
  throw new Error('the agent wrote no heap snapshot within 60 s');
}
