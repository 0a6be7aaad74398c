import { execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from './test-support/fake-hub.js';

/**
 * The CLI as operators run it: bundled by esbuild (as scripts/build.mjs does) and started as a
 * real process, so exit codes and "no stack trace" are checked where they matter.
 */

const cliDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bundle = path.join(cliDir, '.farol-test', 'farol.mjs');
/** What bin/farol.mjs does: import the bundle and hand it process.argv. */
const launcher = path.join(cliDir, '.farol-test', 'launcher.mjs');
let home: string;

interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runBundle(args: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [launcher, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: home, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'farol-bundle-'));
  await build({
    entryPoints: [path.join(cliDir, 'src', 'main.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    define: { __FAROL_VERSION__: JSON.stringify('0.0.0-test') },
    banner: { js: "import { createRequire as __farolCreateRequire } from 'node:module';\nconst require = __farolCreateRequire(import.meta.url);" },
    external: ['commander'],
  });
  await writeFile(launcher, "import { main } from './farol.mjs';\nawait main(process.argv);\n");
});
afterAll(async () => {
  await rm(path.dirname(bundle), { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

describe('the bundled CLI', () => {
  it('prints one line and exits 1 when the hub is unreachable', async () => {
    const gone = await startFakeHub({});
    await gone.close();
    const result = await runBundle(['agents', 'ls', '--token', 't'], { FAROL_HUB_URL: gone.url });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `farol: cannot reach the hub at ${gone.url} (connection refused); is it running? set --hub or FAROL_HUB_URL\n`,
    });
  });

  it('exits 2 on a usage error', async () => {
    const result = await runBundle(['token', 'create', '--uses', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('lists agents from a hub as JSON', async () => {
    const hub: FakeHub = await startFakeHub({ 'GET /api/agents': { status: 200, body: { agents: [] } } }, { token: 'tok' });
    try {
      const result = await runBundle(['agents', 'ls', '--json'], { FAROL_HUB_URL: hub.url, FAROL_TOKEN: 'tok' });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ agents: [] });
    } finally {
      await hub.close();
    }
  });

  it('refuses farol shell at once, in one line, when stdin is not a terminal (#21)', async () => {
    // stdin from /dev/null: the old code waited forever for a terminal that never came.
    const hub = await startFakeHub({}, { token: 'tok' });
    try {
      const started = Date.now();
      const result = await new Promise<ProcessResult>((resolve) => {
        const child = spawn(process.execPath, [launcher, 'shell', 'box', '--hub', hub.url, '--token', 'tok'], {
          env: { PATH: process.env.PATH ?? '', HOME: home },
          stdio: [openSync('/dev/null', 'r'), 'pipe', 'pipe'],
          timeout: 20_000,
        });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr: `farol: a shell needs a terminal, and stdin is not one; to run a command without one, use node ${path.relative(process.cwd(), launcher)} exec box -- COMMAND\n`,
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await hub.close();
    }
  });

  it('reports its version', async () => {
    expect(await runBundle(['--version'])).toEqual({ code: 0, stdout: '0.0.0-test\n', stderr: '' });
  });
});
