import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitHeapGrowth } from './heap-growth.js';

const run = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), 'farol-heap-growth-'));
const program = path.join(work, 'churn.mjs');

/**
 * A process that keeps ~150 MiB live and allocates several times that in garbage, as the hub does
 * with heartbeats, after calling limitHeapGrowth(percent) once it runs; prints its largest heap.
 */
beforeAll(async () => {
  const module = path.join(work, 'heap-growth.mjs');
  await build({ entryPoints: [fileURLToPath(new URL('./heap-growth.ts', import.meta.url))], outfile: module, format: 'esm', platform: 'node', bundle: true, logLevel: 'silent' });
  writeFileSync(
    program,
    `import { limitHeapGrowth } from './heap-growth.mjs';
const live = [];
for (let i = 0; i < 1_000_000; i++) live.push({ i, text: 'live ' + i, pair: [i, i + 1] });
limitHeapGrowth(Number(process.argv[2]));
let largest = 0;
for (let round = 0; round < 200; round++) {
  let junk = [];
  for (let i = 0; i < 100_000; i++) junk.push({ i, text: 'junk ' + i });
  junk = null;
  largest = Math.max(largest, process.memoryUsage().heapTotal);
}
console.log(JSON.stringify({ largestMiB: largest / 2 ** 20, live: live.length }));
`,
  );
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function largestHeap(percent: number): Promise<number> {
  const { stdout } = await run(process.execPath, [program, String(percent)], { timeout: 60_000 });
  return (JSON.parse(stdout) as { largestMiB: number }).largestMiB;
}

describe('limitHeapGrowth', () => {
  it('holds the heap much closer to the live set than V8 does when left alone (0)', async () => {
    const leftAlone = await largestHeap(0);
    const limited = await largestHeap(20);
    expect(limited).toBeLessThan(leftAlone * 0.75);
  });

  it('refuses a negative or fractional percentage', () => {
    expect(() => limitHeapGrowth(-1)).toThrow(RangeError);
    expect(() => limitHeapGrowth(2.5)).toThrow(RangeError);
  });
});
