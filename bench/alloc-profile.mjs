#!/usr/bin/env node
// What a running process allocates, collected garbage included (issue #16): V8's sampling heap
// profiler through the inspector of a process started with --inspect=127.0.0.1:PORT, for
// --seconds, then bytes allocated per second by package and by function (self), and under
// functions whose name matches --under (inclusive).
//   FAROL_BENCH_HUB_NODE_ARGS="--inspect=127.0.0.1:9231" node bench/heartbeats.mjs … &
//   node bench/alloc-profile.mjs --port 9231 --seconds 60 [--top 30] [--under 'ingest|recordBatch'] [--save file.heapprofile]
// A heap snapshot counts what survives; this counts what is made, which is what the young
// generation's collections and the old generation's growth pay for.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { groupOf, labelOf } from './profile-frames.mjs';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '9229' },
    seconds: { type: 'string', default: '60' },
    top: { type: 'string', default: '30' },
    interval: { type: 'string', default: '16384' },
    under: { type: 'string', multiple: true, default: [] },
    save: { type: 'string' },
  },
});

const targets = await (await fetch(`http://127.0.0.1:${args.port}/json/list`)).json();
if (!Array.isArray(targets) || targets.length === 0) throw new Error(`no inspector target on 127.0.0.1:${args.port}: start the process with --inspect=127.0.0.1:${args.port}`);
const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  socket.once('open', resolve);
  socket.once('error', reject);
});
let nextId = 1;
const pending = new Map();
socket.on('message', (data) => {
  const message = JSON.parse(data.toString());
  const waiter = pending.get(message.id);
  if (!waiter) return;
  pending.delete(message.id);
  if (message.error) waiter.reject(new Error(`${message.error.message} (${message.error.code})`));
  else waiter.resolve(message.result);
});
function call(method, params = {}) {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

await call('HeapProfiler.enable');
await call('HeapProfiler.startSampling', {
  samplingInterval: Number(args.interval),
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, Number(args.seconds) * 1000));
const { profile } = await call('HeapProfiler.stopSampling');
const seconds = (performance.now() - started) / 1000;
socket.close();
if (args.save) writeFileSync(args.save, JSON.stringify(profile));

const byGroup = new Map();
const byFunction = new Map();
const under = args.under.map((pattern) => ({ pattern, regex: new RegExp(pattern), bytes: 0 }));
let total = 0;
/** Walks the tree: self bytes to the frame's function and package, inclusive bytes to --under. */
function walk(node, inside) {
  const here = under.filter((entry) => !inside.has(entry) && entry.regex.test(node.callFrame.functionName));
  const nowInside = here.length > 0 ? new Set([...inside, ...here]) : inside;
  const self = node.selfSize;
  const group = groupOf(node.callFrame);
  const name = labelOf(node.callFrame);
  total += self;
  byGroup.set(group, (byGroup.get(group) ?? 0) + self);
  byFunction.set(name, (byFunction.get(name) ?? 0) + self);
  for (const entry of nowInside) entry.bytes += self;
  for (const child of node.children) walk(child, nowInside);
}
walk(profile.head, new Set());

const mib = (bytes) => (bytes / 1048576).toFixed(2);
const rows = (map) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(args.top))
    .map(([name, bytes]) => `  ${mib(bytes / seconds).padStart(8)} MiB/s  ${((bytes / total) * 100).toFixed(1).padStart(5)} %  ${name}`)
    .join('\n');
console.log(`allocated: ${mib(total / seconds)} MiB/s over ${seconds.toFixed(1)} s (sampled every ${args.interval} bytes)`);
console.log(`by package:\n${rows(byGroup)}`);
console.log(`by function (self):\n${rows(byFunction)}`);
for (const entry of under) console.log(`under /${entry.pattern}/: ${mib(entry.bytes / seconds)} MiB/s, ${((entry.bytes / total) * 100).toFixed(1)} %`);
