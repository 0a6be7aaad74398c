import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AgentList } from '@farol/protocol';
import { agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

const dir = tempDir('lifecycle');
const procs: Proc[] = [];
// A failed attempt's processes go before a retry starts (the hub holds its data-dir lock).
afterEach(async () => {
  for (const proc of procs.splice(0)) await proc.stop('SIGKILL');
});
afterAll(() => dir.remove());
let attempt = 0;

describe('process lifecycle', () => {
  it('stops agent and hub cleanly on SIGTERM', async () => {
    attempt++;
    const hub = await startHubProcess(path.join(dir.path, `hub-${attempt}`), await freePort());
    procs.push(hub);
    const agent = run([agentBundle, 'run', '--hub', hub.url, '--token', await joinToken(hub.url), '--state', path.join(dir.path, `agent-${attempt}`), '--interval', '1s']);
    procs.push(agent);
    await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.length ? true : undefined), 30_000, 'online');

    const agentStopped = Date.now();
    expect(await agent.stop('SIGTERM')).toBe(0);
    expect(Date.now() - agentStopped, agent.output()).toBeLessThan(3_000);
    await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=offline')).body.agents.length ? true : undefined), 5_000, 'offline');

    const hubStopped = Date.now();
    expect(await hub.stop('SIGTERM')).toBe(0);
    expect(Date.now() - hubStopped).toBeLessThan(10_000);
    expect(hub.output()).toContain('hub stopped');
  });

  it('refuses to start an agent that is not enrolled, saying what to do', async () => {
    const agent = run([agentBundle, 'run', '--state', path.join(dir.path, 'nobody')]);
    expect(await agent.exited).not.toBe(0);
    expect(agent.output()).toMatch(/--token/);
  });

  it('starts the main job: hub, local agent enrolled automatically, URL and admin token printed', async () => {
    const port = await freePort();
    const dataDir = path.join(dir.path, 'dev-data');
    const dev = run([farolBin, 'dev', '--port', String(port), '--data', dataDir]);
    procs.push(dev);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(() => (dev.output().includes(url) ? true : undefined), 30_000, 'the banner');
    const tokenFile = path.join(dataDir, 'admin-token');
    await waitFor(() => (existsSync(tokenFile) ? true : undefined), 10_000, 'admin token file');
    const adminToken = readFileSync(tokenFile, 'utf8').trim();
    // The hub logs its URL before `farol dev` prints its banner; wait for the banner itself.
    await waitFor(() => (dev.output().includes(adminToken) ? true : undefined), 10_000, 'the admin token in the banner');
    expect(dev.output()).toContain(adminToken);
    const agents = await waitFor(async () => {
      const response = await fetch(`${url}/api/agents?status=online`, { headers: { authorization: `Bearer ${adminToken}` } });
      const body = (await response.json()) as AgentList;
      return body.agents.length === 1 ? body.agents : undefined;
    }, 40_000, 'the local agent online');
    expect(agents[0]!.status).toBe('online');
    expect(await dev.stop('SIGINT')).toBe(0);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});
