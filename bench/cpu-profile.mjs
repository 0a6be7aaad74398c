#!/usr/bin/env node
// Where a process's CPU went, from a V8 .cpuprofile (node --cpu-prof): self time by package and
// by function, and the inclusive time under functions whose name matches a pattern.
//   node bench/cpu-profile.mjs <file.cpuprofile> [--last 90] [--top 30] [--under 'recordBatch|rollup']
// --last S: only the profile's last S seconds (a benchmark's steady state, not its start).
// Shares are of the busy time: every sample except (idle) and (program).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { groupOf, labelOf } from './profile-frames.mjs';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    last: { type: 'string' },
    top: { type: 'string', default: '25' },
    under: { type: 'string', multiple: true, default: [] },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/cpu-profile.mjs <file.cpuprofile> [--last seconds] [--top N] [--under regex]...');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

// Sample i lasted timeDeltas[i + 1] µs (the last one: the mean).
const { samples, timeDeltas } = profile;
const times = [];
let at = profile.startTime;
for (let i = 0; i < samples.length; i++) {
  at += timeDeltas[i];
  times.push(at);
}
const from = args.last ? profile.endTime - Number(args.last) * 1e6 : profile.startTime;
const mean = (profile.endTime - profile.startTime) / Math.max(1, samples.length);

const selfByGroup = new Map();
const selfByFunction = new Map();
const under = args.under.map((pattern) => ({ pattern, regex: new RegExp(pattern), us: 0 }));
let busy = 0;
let total = 0;
for (let i = 0; i < samples.length; i++) {
  if (times[i] < from) continue;
  const us = i + 1 < samples.length ? timeDeltas[i + 1] : mean;
  total += us;
  const node = nodes.get(samples[i]);
  const name = node.callFrame.functionName;
  if (name === '(idle)' || name === '(program)') continue;
  busy += us;
  const group = groupOf(node.callFrame);
  selfByGroup.set(group, (selfByGroup.get(group) ?? 0) + us);
  const key = labelOf(node.callFrame);
  selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + us);
  for (const entry of under) {
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      if (entry.regex.test(nodes.get(id).callFrame.functionName)) {
        entry.us += us;
        break;
      }
    }
  }
}

const share = (us) => `${((us / busy) * 100).toFixed(1).padStart(5)} %`;
const seconds = total / 1e6;
console.log(`${seconds.toFixed(1)} s profiled, busy ${((busy / total) * 100).toFixed(1)} % of it (${(busy / 1e6).toFixed(1)} s); shares below are of the busy time`);
console.log('\nself time by package');
for (const [group, us] of [...selfByGroup].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) console.log(`  ${share(us)}  ${group}`);
console.log('\nself time by function');
for (const [fn, us] of [...selfByFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) console.log(`  ${share(us)}  ${fn}`);
if (under.length > 0) {
  console.log('\ninclusive time under functions matching');
  for (const entry of under) console.log(`  ${share(entry.us)}  /${entry.pattern}/`);
}
