import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, AgentList } from '@farol/protocol';
import { ADMIN_TOKEN, api, farolBin, freePort, joinToken, root, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// A second, independent agent (issue #17): examples/python-agent, written from docs/protocol.md
// alone, against a real hub process and the farol CLI. The proof that the published contract is
// enough to implement an agent.

const PYTHON = '/usr/bin/python3';
const MODULES = 'socketio, engineio, websocket, requests, cryptography, jwt';

function pythonSkipReason(): string | null {
  const probe = spawnSync(PYTHON, ['-c', `import ${MODULES}`], { encoding: 'utf8' });
  if (probe.status === 0) return null;
  const reason = `${PYTHON} cannot import ${MODULES} (apt-get install python3-socketio python3-websocket python3-requests python3-cryptography python3-jwt): ${(probe.stderr || String(probe.error)).trim().split('\n').at(-1)}`;
  if (process.env.CI) throw new Error(`${reason}; CI must provide them (.ci/run)`);
  console.warn(`skipping the Python agent test: ${reason}`);
  return reason;
}

const skip = pythonSkipReason();
const agentScript = path.join(root, 'examples/python-agent/farol_agent.py');

interface PythonAgent {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startPythonAgent(args: string[]): PythonAgent {
  const child = spawn(PYTHON, [agentScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe.skipIf(skip !== null)('the Python agent against a real hub (#17)', () => {
  const dir = tempDir('python-agent');
  const pythons: PythonAgent[] = [];
  let hub: Proc & { url: string };
  let token: string;

  function cli(args: string[]): Promise<{ code: number | null; output: string }> {
    const proc = run([farolBin, ...args], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
    return proc.exited.then((code) => ({ code, output: proc.output() }));
  }
  const agentNamed = async (name: string) => {
    const { status, body } = await api<Agent>(hub.url, 'GET', `/api/agents/${name}`);
    return status === 200 ? body : undefined;
  };
  const start = (name: string, extra: string[] = []) => {
    const agent = startPythonAgent(['--hub', hub.url, '--state', path.join(dir.path, name), '--join-token', token, '--name', 'py', '--interval', '1', ...extra]);
    pythons.push(agent);
    return agent;
  };

  beforeAll(async () => {
    hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
    token = await joinToken(hub.url, { uses: 5 });
  });
  afterAll(async () => {
    for (const agent of pythons) if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    await hub?.stop('SIGKILL');
    dir.remove();
  });

  it('enrolls, comes online with its own numbers, runs farol exec with output and exit code, and goes offline on stop', async () => {
    const first = start('one');
    await waitFor(() => (first.output().includes('linked as py') ? true : undefined), 20_000, 'the first agent linked');
    // A name clash: the second asks for the same name and takes the one the hub gives it. It
    // also takes Socket.IO's server, the first the hub's lean one (ADR 0036): both carry all below.
    const second = start('two', ['--link', 'socket.io']);
    await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.length === 2 ? true : undefined), 30_000, 'two python agents online');
    const py = await waitFor(async () => {
      const agent = await agentNamed('py');
      return agent?.latest?.cpu.total !== null && agent?.latest?.cpu.total !== undefined ? agent : undefined;
    }, 20_000, 'a sample with CPU figures');
    expect(py.system).toMatchObject({ os: 'linux', agentVersion: 'python-agent/0.1', cpuCores: expect.any(Number) });
    expect(py.latest!.memory!.total).toBeGreaterThan(0);
    expect(py.latest!.filesystems.length).toBeGreaterThan(0);
    expect(await agentNamed('py-2')).toMatchObject({ status: 'online' });
    await waitFor(() => (second.output().includes('linked as py-2') ? true : undefined), 10_000, 'the second agent to use the name the hub gave it');

    // One machine: output and the remote exit code.
    const failing = await cli(['exec', 'py', '--', 'sh', '-c', 'echo olá; echo oops >&2; exit 7']);
    expect(failing.code).toBe(7);
    expect(failing.output).toContain('py | olá');
    expect(failing.output).toContain('py | oops');
    // Two machines at once: one signature over a Merkle tree, each agent checks its proof.
    const both = await cli(['exec', 'py,py-2', '--', 'echo', 'batch;$(not run)']);
    expect(both.code).toBe(0);
    expect(both.output).toContain('py   | batch;$(not run)');
    expect(both.output).toContain('py-2 | batch;$(not run)');
    expect(both.output).toContain('2/2 done: 2 succeeded');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await waitFor(async () => ((await agentNamed('py'))?.status === 'offline' ? true : undefined), 10_000, 'py offline on stop');
  });

  it('stops retrying, with a clear message, once the hub removed it', async () => {
    const second = pythons[1]!;
    expect((await api(hub.url, 'DELETE', '/api/agents/py-2')).status).toBe(204);
    expect(await second.exited).toBe(2);
    expect(second.output()).toContain('refused this agent for good (agent_deleted)');
  });
});
