import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFakeAgentCalls, readFakeAgentProcesses, writeFakeAgent } from '../test-support/fake-agent.js';
import { waitFor } from '../test-support/wait-for.js';
import { superviseAgent, type AgentSupervisor, type AgentSupervisorOptions } from './agent-supervisor.js';

let dir: string;
let bundle: string;
let argsFile: string;
let supervisor: AgentSupervisor | undefined;
let stdout: string;
let stderr: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'farol-supervisor-'));
  bundle = path.join(dir, 'farol-agent.mjs');
  argsFile = path.join(dir, 'args.log');
  stdout = '';
  stderr = '';
});
afterEach(async () => {
  supervisor?.kill();
  supervisor = undefined;
  await rm(dir, { recursive: true, force: true });
});

function start(overrides: Partial<AgentSupervisorOptions> = {}): AgentSupervisor {
  supervisor = superviseAgent({
    execPath: process.execPath,
    bundlePath: bundle,
    hubUrl: 'http://127.0.0.1:1',
    stateDir: path.join(dir, 'state'),
    env: { PATH: process.env.PATH },
    joinToken: async () => undefined,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    now: () => Date.now(),
    restartDelayMs: 10,
    ...overrides,
  });
  return supervisor;
}

describe('superviseAgent', () => {
  it('hands the join token over in the environment, never on the command line other users can read (#11)', async () => {
    await writeFakeAgent(bundle, argsFile, 'run-until-sigterm');
    const running = start({ joinToken: async () => 'fjt_secret_1', env: { PATH: process.env.PATH, FAROL_JOIN_TOKEN: 'fjt_inherited' } });
    const [seen] = await waitFor(async () => (await readFakeAgentProcesses(argsFile)).at(0) && readFakeAgentProcesses(argsFile));
    expect(seen!.joinToken).toBe('fjt_secret_1');
    expect(seen!.cmdline.join(' ')).not.toContain('fjt_');
    expect(seen!.cmdline).not.toContain('--token');
    await running.stop();
  });

  it('passes no join token at all to an agent that is already enrolled', async () => {
    await writeFakeAgent(bundle, argsFile, 'run-until-sigterm');
    const running = start({ joinToken: async () => undefined, env: { PATH: process.env.PATH, FAROL_JOIN_TOKEN: 'fjt_inherited' } });
    const [seen] = await waitFor(async () => (await readFakeAgentProcesses(argsFile)).at(0) && readFakeAgentProcesses(argsFile));
    expect(seen!.joinToken).toBeNull();
    await running.stop();
  });

  it('starts the agent with run, the hub and the state, and prefixes its output', async () => {
    await writeFakeAgent(bundle, argsFile, 'run-until-sigterm');
    const running = start({ joinToken: async () => 'fjt_1' });

    const [args] = await waitFor(async () => (await readFakeAgentCalls(argsFile)).at(0) && readFakeAgentCalls(argsFile));
    expect(args).toEqual(['run', '--hub', 'http://127.0.0.1:1', '--state', path.join(dir, 'state')]);
    await waitFor(() => stdout.includes('[agent] hello from agent\n') && stderr.includes('[agent] warning from agent\n'));

    await running.stop();
    expect((await readFakeAgentCalls(argsFile)).at(-1)).toEqual(['<SIGTERM>']);
  });

  it('restarts a crashing agent, then gives up after the limit', async () => {
    await writeFakeAgent(bundle, argsFile, { exitCode: 1 });
    let tokens = 0;
    start({ maxRestarts: 2, joinToken: async () => `fjt_${++tokens}` });

    await waitFor(() => stderr.includes('not restarting it'));
    const calls = await readFakeAgentProcesses(argsFile);
    expect(calls).toHaveLength(3);
    // No identity appeared, so every start asked for a fresh single-use token.
    expect(calls.map((call) => call.joinToken)).toEqual(['fjt_1', 'fjt_2', 'fjt_3']);
    expect(stderr).toContain('farol: the local agent failed 3 times within a minute; not restarting it (the hub keeps running)');
  });

  it('does not restart an agent the hub refused for good (exit code 3)', async () => {
    await writeFakeAgent(bundle, argsFile, { exitCode: 3 });
    start();
    await waitFor(() => stderr.includes('not restarting it'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await readFakeAgentCalls(argsFile)).toHaveLength(1);
    expect(stderr).toContain('the hub refused it for good');
  });

  it('does not restart an agent that exits while it is being stopped', async () => {
    await writeFakeAgent(bundle, argsFile, { exitCode: 0 });
    const running = start({ restartDelayMs: 300 });
    await waitFor(async () => (await readFakeAgentCalls(argsFile)).length === 1);
    // The agent has exited (as on Ctrl-C, which reaches it too); the stop arrives a moment later.
    await running.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await readFakeAgentCalls(argsFile)).toHaveLength(1);
    expect(stderr).not.toContain('restarting');
  });

  it('kills an agent that ignores SIGTERM once the timeout passes', async () => {
    await writeFakeAgent(bundle, argsFile, 'ignore-sigterm');
    const running = start({ killTimeoutMs: 300 });
    await waitFor(() => stdout.includes('hello from agent'));

    await running.stop();
    expect((await readFakeAgentCalls(argsFile)).at(-1)).toEqual(['<SIGTERM ignored>']);
  });

  it('keeps trying when the join token cannot be created', async () => {
    await writeFakeAgent(bundle, argsFile, 'run-until-sigterm');
    let attempts = 0;
    start({
      joinToken: async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('hub not ready');
        return 'fjt_ok';
      },
    });
    await waitFor(async () => (await readFakeAgentCalls(argsFile)).length === 1);
    expect(stderr).toContain('farol: cannot create a join token for the local agent: hub not ready');
    expect((await readFakeAgentProcesses(argsFile))[0]?.joinToken).toBe('fjt_ok');
  });
});
