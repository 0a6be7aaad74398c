#!/usr/bin/env node
// Runs every benchmark in turn (npm run bench). Each prints its figures and writes them to
// bench/results/; docs/benchmarks.md records them with the machine and command.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { root } from './lib.mjs';

const steps = [
  ['agent-idle.mjs', '--duration', '300'],
  ['heartbeats.mjs', '--agents', '1000', '--duration', '180'],
  ['heartbeats.mjs', '--agents', '10000', '--duration', '180'],
  ['commands.mjs', '--runs', '500', '--fanout', '1000', '--fanout', '10000'],
  ['tracing.mjs', '--requests', '3000', '--rounds', '6'],
  ['checks.mjs', '--agents', '1000', '--rounds', '4', '--probes', '50'],
  // Several hubs (issue #14): needs this machine's PostgreSQL and Redis.
  ['reconnect-storm.mjs', '--agents', '1000', '--hubs', '3'],
];
for (const [script, ...args] of steps) {
  console.error(`\n== ${script} ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [path.join(root, 'bench', script), ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
