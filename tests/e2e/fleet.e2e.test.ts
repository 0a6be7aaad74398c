import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, AgentList, MetricsResponse } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

const dir = tempDir('fleet');
let hub: Proc & { url: string };
let agent: Proc;
let agentName: string;

beforeAll(async () => {
  hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
  const token = await joinToken(hub.url, { labels: { role: 'e2e' } });
  agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--interval', '1s']);
  const online = await waitFor(async () => {
    const { body } = await api<AgentList>(hub.url, 'GET', '/api/agents?status=online');
    return body.agents[0];
  }, 30_000, 'the agent online');
  agentName = online.name;
});

afterAll(async () => {
  await agent?.stop();
  await hub?.stop();
  dir.remove();
});

describe('a real agent on this machine', () => {
  it('enrolls, connects and reports real measurements of this machine', async () => {
    const agentNow = await waitFor(async () => {
      const { body } = await api<Agent>(hub.url, 'GET', `/api/agents/${agentName}`);
      return body.latest ? body : undefined;
    }, 15_000, 'a first sample');
    expect(agentNow.labels).toEqual({ role: 'e2e' });
    expect(agentNow.system?.hostname).toBe(hostname());
    expect(agentNow.latest!.cpu.perCore.length).toBeGreaterThan(0);
    expect(agentNow.latest!.memory!.total).toBeGreaterThan(0);
    expect(agentNow.latest!.filesystems.length).toBeGreaterThan(0);
    expect(agentNow.latest!.topCpu.length).toBeGreaterThan(0);

    const since = Date.now();
    await new Promise((r) => setTimeout(r, 3_500));
    const { body: history } = await api<MetricsResponse>(hub.url, 'GET', `/api/agents/${agentName}/metrics?from=${since}`);
    expect(history.resolution).toBe('raw');
    expect(history.points.length).toBeGreaterThanOrEqual(2);
    expect(history.points.every((p) => typeof p.values.memory.avg === 'number')).toBe(true);
  });

  it('shows up in the CLI, as a table and as JSON', async () => {
    const env = { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN, FAROL_CONFIG: path.join(dir.path, 'no-config.json') };
    const table = run([farolBin, 'agents', 'ls'], { env });
    expect(await table.exited).toBe(0);
    expect(table.output()).toContain(agentName);
    expect(table.output()).toMatch(/online/);
    const json = run([farolBin, 'agents', 'ls', '--json'], { env });
    expect(await json.exited).toBe(0);
    const parsed = JSON.parse(json.output()) as Agent[] | { agents: Agent[] };
    const list = Array.isArray(parsed) ? parsed : parsed.agents;
    expect(list.map((a) => a.name)).toContain(agentName);
    const show = run([farolBin, 'agents', 'show', agentName], { env });
    expect(await show.exited).toBe(0);
    expect(show.output()).toContain(hostname());
  });

  it('gives one clear line and a failing exit code for an unknown agent, a bad token and an unreachable hub', async () => {
    const base = { FAROL_CONFIG: path.join(dir.path, 'no-config.json') };
    const unknown = run([farolBin, 'agents', 'show', 'no-such-machine'], { env: { ...base, FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
    expect(await unknown.exited).not.toBe(0);
    expect(unknown.output().trim().split('\n')).toHaveLength(1);
    const badToken = run([farolBin, 'agents', 'ls'], { env: { ...base, FAROL_HUB_URL: hub.url, FAROL_TOKEN: 'fat_wrong' } });
    expect(await badToken.exited).not.toBe(0);
    expect(badToken.output().trim().split('\n')).toHaveLength(1);
    const unreachable = run([farolBin, 'agents', 'ls'], { env: { ...base, FAROL_HUB_URL: `http://127.0.0.1:${await freePort()}`, FAROL_TOKEN: ADMIN_TOKEN } });
    expect(await unreachable.exited).not.toBe(0);
    expect(unreachable.output()).toMatch(/cannot reach the hub/);
  });
});
