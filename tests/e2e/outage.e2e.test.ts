import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentList, MetricsResponse } from '@farol/protocol';
import { agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

const dir = tempDir('outage');
const procs: Proc[] = [];

afterAll(async () => {
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

const onlineAgents = async (url: string) => (await api<AgentList>(url, 'GET', '/api/agents?status=online')).body.agents;

describe('the hub killed with SIGKILL while agents write', () => {
  it('reopens a clean database and the agents backfill what they buffered, with no hole', async () => {
    const port = await freePort();
    const dataDir = path.join(dir.path, 'hub');
    let hub = await startHubProcess(dataDir, port);
    procs.push(hub);
    const token = await joinToken(hub.url, { uses: 2 });
    for (const name of ['a', 'b']) {
      procs.push(
        run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, name), '--interval', '1s', '--reconnect-max', '2s']),
      );
    }
    await waitFor(async () => ((await onlineAgents(hub.url)).length === 2 ? true : undefined), 30_000, 'two agents online');
    await new Promise((r) => setTimeout(r, 3_000));

    const killedAt = Date.now();
    hub.child.kill('SIGKILL');
    await hub.exited;
    await new Promise((r) => setTimeout(r, 6_000));

    // The database survives a crash mid-write.
    const db = new Database(path.join(dataDir, 'farol.db'));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    hub = await startHubProcess(dataDir, port);
    procs.push(hub);
    const restartedAt = Date.now();
    const agents = await waitFor(async () => {
      const list = await onlineAgents(hub.url);
      return list.length === 2 ? list : undefined;
    }, 30_000, 'both agents back online');

    for (const agent of agents) {
      const points = await waitFor(async () => {
        const { body } = await api<MetricsResponse>(hub.url, 'GET', `/api/agents/${agent.id}/metrics?from=${killedAt - 3_000}&to=${restartedAt + 1_000}&resolution=raw`);
        const last = body.points.at(-1);
        return last && last.ts >= restartedAt - 1_500 ? body.points : undefined;
      }, 30_000, `backfill of ${agent.name}`);
      const gaps = points.slice(1).map((p, i) => p.ts - points[i]!.ts);
      // Samples every second; the outage lasted over six seconds. No gap may exceed two intervals.
      expect(points.length).toBeGreaterThanOrEqual(8);
      expect(Math.max(...gaps)).toBeLessThan(2_100);
      expect(points.some((p) => p.ts > killedAt + 1_000 && p.ts < restartedAt - 1_000)).toBe(true);
    }
  });
});
