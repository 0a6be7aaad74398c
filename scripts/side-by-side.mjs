#!/usr/bin/env node
// Runs commands side by side and prints each one's output whole when it ends, so `npm test`'s
// checks (two type checks and the linter, each on one core) take as long as the longest rather
// than their sum. Exits 1 when any failed, after naming which.
//   node scripts/side-by-side.mjs 'tsc -p tsconfig.json --noEmit' 'eslint .'
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const commands = process.argv.slice(2);
if (commands.length === 0) {
  console.error('usage: node scripts/side-by-side.mjs COMMAND [COMMAND…] (each one shell command line)');
  process.exit(2);
}

/** Runs one command line with the project's binaries on PATH; resolves with its exit code and output. */
function runOne(command) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, {
      cwd: root,
      shell: true,
      env: { ...process.env, PATH: `${path.join(root, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (error) => resolve({ command, code: 1, output: Buffer.from(`${error.message}\n`), seconds: 0 }));
    child.on('close', (code, signal) => resolve({ command, code: code ?? (signal ? 1 : 0), output: Buffer.concat(output), seconds: (Date.now() - started) / 1000 }));
  });
}

const results = await Promise.all(
  commands.map((command) =>
    runOne(command).then((result) => {
      process.stdout.write(`\n> ${result.command}  (${result.seconds.toFixed(1)} s, exit ${result.code})\n`);
      process.stdout.write(result.output);
      return result;
    }),
  ),
);
const failed = results.filter((result) => result.code !== 0);
if (failed.length > 0) {
  console.error(`\nfarol: failed: ${failed.map((result) => result.command).join('; ')}`);
  process.exit(1);
}
