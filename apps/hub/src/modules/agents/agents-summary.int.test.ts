import { rmSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentSummaryListSchema, summarizeAgent, UI_NAMESPACE, type AgentList, type AgentSummaryList, type AgentUpdatedEvent, type ContainerSample } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, sample } from '../../testing/protocol-peer.js';

let hub: HubFixture;
const sockets: Socket[] = [];

beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  sockets.forEach((socket) => socket.close());
  await hub?.stop();
});

async function reportingPeer(hostname: string, labels: Record<string, string>, cpu: number, on: HubFixture = hub, containers?: ContainerSample[]) {
  const peer = await enrollPeer(on.url, await on.createJoinToken({ labels }), hostname);
  const result = await connectPeer(on.url, peer);
  if (!result.socket) throw new Error(`connect failed: ${JSON.stringify(result.error)}`);
  sockets.push(result.socket);
  const ack = await hello(result.socket, 10_000, hostname);
  if (!ack.ok) throw new Error(`hello failed: ${JSON.stringify(ack)}`);
  await emitAck(result.socket, 'metrics:report', { samples: [{ ...sample(Date.now(), cpu), ...(containers ? { containers } : {}) }] });
  return peer;
}

describe('the fleet page\'s agent list (view=summary) and agent:updated', () => {
  it('answers the summary of every machine, the same figures as the full list, filtered alike', async () => {
    await reportingPeer('summary-web', { role: 'web' }, 42);
    await reportingPeer('summary-db', { role: 'db' }, 7);

    const full = (await hub.api('GET', '/api/agents')).body as AgentList;
    const summary = await hub.api('GET', '/api/agents?view=summary');
    expect(summary.status).toBe(200);
    const parsed = AgentSummaryListSchema.parse(summary.body);
    expect(parsed.agents).toEqual(full.agents.map(summarizeAgent));
    expect(parsed.agents.find((agent) => agent.hostname === 'summary-web')).toMatchObject({ status: 'online', cpu: 42, labels: { role: 'web' } });
    // Nothing the fleet page does not show: no samples, no keys.
    expect(JSON.stringify(summary.body)).not.toContain('keyFingerprint');
    expect(JSON.stringify(summary.body).length).toBeLessThan(JSON.stringify(full).length / 3);

    const db = (await hub.api('GET', '/api/agents?view=summary&label=role=db')).body as AgentSummaryList;
    expect(db.agents.map((agent) => agent.hostname)).toEqual(['summary-db']);
    const bad = await hub.api('GET', '/api/agents?view=summary&label=role');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed' });
    expect((await hub.api('GET', '/api/agents?view=everything')).status).toBe(400);
  });

  it('counts each machine\'s containers with an update available, null until any was checked (#18)', async () => {
    const container = (name: string, availableDigest: string | null | undefined): ContainerSample => ({
      id: `${name}-id`, name, image: 'reg:5000/app:1', state: 'running', status: 'Up', health: 'none', restartCount: 0, exitCode: null,
      cpuPercent: null, memoryBytes: null, memoryLimitBytes: null, createdAt: null, startedAt: null, watched: false,
      ...(availableDigest === undefined ? {} : { availableDigest }),
    });
    const offered = `sha256:${'2'.repeat(64)}`;
    const updates = await reportingPeer('summary-updates', {}, 5, hub, [container('web', offered), container('api', offered), container('db', null), container('new', undefined)]);
    const unchecked = await reportingPeer('summary-unchecked', {}, 5, hub, [container('web', undefined)]);
    const summary = (await hub.api('GET', '/api/agents?view=summary')).body as AgentSummaryList;
    expect(summary.agents.find((agent) => agent.id === updates.agentId)?.updatesAvailable).toBe(2);
    expect(summary.agents.find((agent) => agent.id === unchecked.agentId)?.updatesAvailable).toBeNull();
    const full = (await hub.api('GET', '/api/agents')).body as AgentList;
    expect(summarizeAgent(full.agents.find((agent) => agent.id === updates.agentId)!).updatesAvailable).toBe(2);
  });

  it('reads the stored latest sample for machines not heard since the hub started', async () => {
    const first = await startHubFixture();
    const peer = await reportingPeer('summary-restart', {}, 63, first, [
      { id: 'c1', name: 'web', image: 'reg:5000/app:1', state: 'running', status: 'Up', health: 'none', restartCount: 0, exitCode: null, cpuPercent: null, memoryBytes: null, memoryLimitBytes: null, createdAt: null, startedAt: null, watched: false, availableDigest: `sha256:${'3'.repeat(64)}` },
    ]);
    await first.close();
    const restarted = await startHubFixture({}, { dataDir: first.dataDir });
    try {
      const list = (await restarted.api('GET', '/api/agents?view=summary')).body as AgentSummaryList;
      expect(list.agents.find((agent) => agent.id === peer.agentId)).toMatchObject({ status: 'offline', cpu: 63, updatesAvailable: 1 });
    } finally {
      await restarted.stop();
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  });

  it('tells every dashboard about a rename or relabel', async () => {
    const peer = await reportingPeer('summary-renamed', { role: 'web' }, 1);
    const ui = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token: hub.adminToken } });
    sockets.push(ui);
    await new Promise<void>((resolve) => ui.once('connect', () => resolve()));
    const events: AgentUpdatedEvent[] = [];
    ui.on('agent:updated', (event: AgentUpdatedEvent) => events.push(event));

    expect((await hub.api('PATCH', `/api/agents/${peer.agentId}`, { name: 'new-name', labels: { role: 'db' } })).status).toBe(200);
    const event = await waitFor(() => events.find((e) => e.agentId === peer.agentId), 5_000, 'agent:updated');
    expect(event).toMatchObject({ name: 'new-name', labels: { role: 'db' } });
  });
});
