import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JoinTokenCreated } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubOverrides, RunningHub } from '../bundles.js';
import { createCliHarness, type CliHarness, type CliRun } from '../test-support/cli-runner.js';
import { readFakeAgentCalls, writeFakeAgent } from '../test-support/fake-agent.js';
import { NOW, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';
import { waitFor } from '../test-support/wait-for.js';

let cli: CliHarness;
let hub: FakeHub;
let agentBundle: string;
let argsFile: string;

const joinToken: JoinTokenCreated = {
  id: 'jt_local',
  token: 'fjt_local',
  labels: {},
  note: 'local agent of farol dev',
  maxUses: 1,
  uses: 0,
  createdAt: NOW,
  expiresAt: NOW + 3_600_000,
  revokedAt: null,
  lastUsedAt: null,
  state: 'active',
};

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({ 'POST /api/join-tokens': { status: 201, body: joinToken } }, { token: 'adm' });
  agentBundle = path.join(cli.home, 'farol-agent.mjs');
  argsFile = path.join(cli.home, 'agent-args.log');
  await writeFakeAgent(agentBundle, argsFile, 'run-until-sigterm');
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

/**
 * Starts `farol dev ARGS` with an in-memory hub bundle whose startHub returns the fake hub, and
 * returns a handle to send the shutdown signal and collect the result.
 */
function startDev(args: string[] = []) {
  const started: HubOverrides[] = [];
  let closed = 0;
  let signal: ((name: string) => void) | undefined;
  const running: RunningHub = {
    url: hub.url,
    adminToken: 'adm',
    adminTokenGenerated: true,
    adminTokenPath: path.join(cli.home, 'data', 'admin-token'),
    close: async () => void (closed += 1),
  };
  const done: Promise<CliRun> = cli.run(['dev', ...args], {}, {
    bundles: { hub: pathToFileURL(path.join(cli.home, 'hub.mjs')), agent: pathToFileURL(agentBundle) },
    importModule: async () => ({ startHub: async (overrides: HubOverrides) => (started.push(overrides), running) }),
    onShutdownSignal: (listener) => {
      signal = listener;
      return () => (signal = undefined);
    },
  });
  return {
    started,
    closed: () => closed,
    stop: async (name = 'SIGINT') => {
      await waitFor(() => signal);
      signal?.(name);
      return done;
    },
  };
}

describe('farol dev', () => {
  it('starts the hub on ./data, enrolls the local agent with a single-use token and stops both on SIGINT', async () => {
    const dev = startDev();
    const calls = await waitFor(async () => {
      const recorded = await readFakeAgentCalls(argsFile);
      return recorded.length > 0 && recorded;
    });
    const result = await dev.stop();

    expect(result.code).toBe(0);
    expect(dev.started).toEqual([{ dataDir: path.join(cli.home, 'data') }]);
    expect(hub.requests).toEqual([
      expect.objectContaining({ method: 'POST', path: '/api/join-tokens', authorization: 'Bearer adm', body: { ttl: '1h', uses: 1, note: 'local agent of farol dev' } }),
    ]);
    expect(calls[0]).toEqual(['run', '--hub', hub.url, '--state', path.join(cli.home, 'data', 'agent'), '--token', 'fjt_local']);
    expect((await readFakeAgentCalls(argsFile)).at(-1)).toEqual(['<SIGTERM>']);
    expect(dev.closed()).toBe(1);
  });

  it('prints the URLs, the admin token and where it is kept, and how to add a machine', async () => {
    const dev = startDev();
    await waitFor(async () => (await readFakeAgentCalls(argsFile)).length > 0);
    const result = await dev.stop();

    expect(result.stdout).toMatch(new RegExp(`Dashboard and API +${hub.url}\\n`));
    expect(result.stdout).toMatch(new RegExp(`API docs +${hub.url}/api/docs\\n`));
    expect(result.stdout).toMatch(/Admin token +adm\n/);
    expect(result.stdout).toContain(`(new, saved in ${path.join(cli.home, 'data', 'admin-token')})`);
    expect(result.stdout).toContain('farol token create');
    expect(result.stdout).toContain(`farol login --hub ${hub.url} --token adm`);
  });

  it('pipes the agent output with an [agent] prefix', async () => {
    const dev = startDev();
    await waitFor(async () => (await readFakeAgentCalls(argsFile)).length > 0);
    // The fake agent prints right after recording its arguments.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const result = await dev.stop();
    expect(result.stdout).toContain('[agent] hello from agent\n');
    expect(result.stderr).toContain('[agent] warning from agent\n');
  });

  it('starts an already enrolled agent without a join token', async () => {
    await mkdir(path.join(cli.home, 'data', 'agent'), { recursive: true });
    await writeFile(path.join(cli.home, 'data', 'agent', 'identity.json'), '{}');
    const dev = startDev(['--port', '9090']);
    const calls = await waitFor(async () => {
      const recorded = await readFakeAgentCalls(argsFile);
      return recorded.length > 0 && recorded;
    });
    const result = await dev.stop('SIGTERM');

    expect(result.code).toBe(0);
    expect(dev.started).toEqual([{ port: 9090, dataDir: path.join(cli.home, 'data') }]);
    expect(hub.requests).toEqual([]);
    expect(calls[0]).toEqual(['run', '--hub', hub.url, '--state', path.join(cli.home, 'data', 'agent')]);
  });
});
