import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JoinTokenCreated } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubOverrides, RunningHub } from '../bundles.js';
import { createCliHarness, type CliHarness, type CliRun } from '../test-support/cli-runner.js';
import { readFakeAgentCalls, readFakeAgentProcesses, writeFakeAgent } from '../test-support/fake-agent.js';
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
  hub = await startFakeHub({ 'POST /api/join-tokens': { status: 201, body: joinToken }, 'GET /api/channels': { status: 200, body: { channels: [] } } }, { token: 'adm' });
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
function startDev(args: string[] = [], env: Record<string, string> = {}) {
  const started: HubOverrides[] = [];
  const hubEnvs: Array<Record<string, string | undefined> | undefined> = [];
  /** Lines the hub logged to its own stdout (no destination given: JSON as under farol hub). */
  const jsonLogged: object[] = [];
  let closed = 0;
  let signal: ((name: string) => void) | undefined;
  const running: RunningHub = {
    url: hub.url,
    adminToken: 'adm',
    adminTokenGenerated: true,
    adminTokenPath: path.join(cli.home, 'data', 'admin-token'),
    close: async () => void (closed += 1),
  };
  const done: Promise<CliRun> = cli.run(['dev', ...args], env, {
    bundles: { hub: pathToFileURL(path.join(cli.home, 'hub.mjs')), agent: pathToFileURL(agentBundle) },
    importModule: async () => ({
      startHub: async (overrides: HubOverrides, hubEnv?: Record<string, string | undefined>, seams?: { logDestination?: NodeJS.WritableStream }) => {
        started.push(overrides);
        hubEnvs.push(hubEnv);
        // What the hub's pino logger writes: one JSON line per event.
        const line = { level: 40, time: Date.UTC(2026, 11, 6, 9, 3, 7), pid: 1, hostname: 'h', service: 'farol-hub', msg: 'no notification channel is configured', deliveries: 2 };
        if (seams?.logDestination) seams.logDestination.write(`${JSON.stringify(line)}\n`);
        else jsonLogged.push(line);
        return running;
      },
    }),
    onShutdownSignal: (listener) => {
      signal = listener;
      return () => (signal = undefined);
    },
  });
  return {
    started,
    hubEnvs,
    jsonLogged,
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
    expect(hub.requests.filter((r) => r.method === 'POST')).toEqual([
      expect.objectContaining({ method: 'POST', path: '/api/join-tokens', authorization: 'Bearer adm', body: { ttl: '1h', uses: 1, note: 'local agent of farol dev' } }),
    ]);
    expect(calls[0]).toEqual(['run', '--hub', hub.url, '--state', path.join(cli.home, 'data', 'agent')]);
    expect((await readFakeAgentProcesses(argsFile))[0]!.joinToken).toBe('fjt_local');
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
    expect(result.stdout).toContain('farol join-tokens create');
    expect(result.stdout).toContain('Alerts notify no one until you add a notification channel');
    expect(result.stdout).toContain('farol channels add NAME --type telegram');
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
    expect(hub.requests.filter((r) => r.method === 'POST')).toEqual([]);
    expect(calls[0]).toEqual(['run', '--hub', hub.url, '--state', path.join(cli.home, 'data', 'agent')]);
  });

  it('honours FAROL_DATA_DIR and hands the hub the same FAROL_* environment as farol hub (#21)', async () => {
    const dataDir = path.join(cli.home, 'elsewhere');
    const dev = startDev([], { FAROL_DATA_DIR: dataDir, FAROL_PUBLIC_URL: 'http://hub.example:8080' });
    const calls = await waitFor(async () => {
      const recorded = await readFakeAgentCalls(argsFile);
      return recorded.length > 0 && recorded;
    });
    await dev.stop();
    expect(dev.started).toEqual([{ dataDir }]);
    expect(dev.hubEnvs[0]).toMatchObject({ FAROL_DATA_DIR: dataDir, FAROL_PUBLIC_URL: 'http://hub.example:8080' });
    expect(calls[0]).toEqual(['run', '--hub', hub.url, '--state', path.join(dataDir, 'agent')]);
    // --data still wins over the environment, as for farol hub.
    const flagged = startDev(['--data', 'mine'], { FAROL_DATA_DIR: dataDir });
    await waitFor(async () => (await readFakeAgentCalls(argsFile)).length > 2);
    await flagged.stop();
    expect(flagged.started).toEqual([{ dataDir: path.join(cli.home, 'mine') }]);
  });

  it('prints the hub\'s log as short lines, not JSON, unless --json-logs (#21)', async () => {
    const dev = startDev();
    await waitFor(async () => (await readFakeAgentCalls(argsFile)).length > 0);
    const result = await dev.stop();
    expect(result.stdout).toMatch(/^\d\d:\d\d:07 WARN {2}no notification channel is configured deliveries=2$/m);
    expect(result.stdout).not.toContain('"level"');

    const json = startDev(['--json-logs']);
    await waitFor(async () => (await readFakeAgentCalls(argsFile)).length > 2);
    expect((await json.stop()).stdout).not.toContain('WARN');
    expect(json.jsonLogged).toHaveLength(1);
  });
});
