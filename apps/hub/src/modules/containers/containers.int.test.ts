import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentContainersSchema, type ContainerSample } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, sample } from '../../testing/protocol-peer.js';

let hub: HubFixture;
const closers: Array<() => void> = [];

beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  closers.forEach((close) => close());
  await hub?.stop();
});

const container = (name: string, extra: Partial<ContainerSample> = {}): ContainerSample => ({
  id: 'a'.repeat(64),
  name,
  image: 'nginx:1.27',
  state: 'running',
  status: 'Up 2 hours (healthy)',
  health: 'healthy',
  restartCount: 0,
  exitCode: null,
  cpuPercent: 1.5,
  memoryBytes: 10_000_000,
  memoryLimitBytes: 1_000_000_000,
  createdAt: 1_700_000_000_000,
  startedAt: 1_700_000_100_000,
  watched: false,
  ...extra,
});

async function peerReporting(hostname: string, extra: Parameters<typeof sample>[2]) {
  const peer = await enrollPeer(hub.url, await hub.createJoinToken(), hostname);
  const result = await connectPeer(hub.url, peer);
  if (!result.socket) throw new Error(`connect failed: ${JSON.stringify(result.error)}`);
  const socket = result.socket;
  closers.push(() => socket.close());
  const ack = await hello(socket, 10_000, hostname);
  if (!ack.ok) throw new Error(`hello failed: ${JSON.stringify(ack)}`);
  return emitAck(socket, 'metrics:report', { samples: [sample(Date.now(), 10, extra)] });
}

describe('GET /api/agents/:id/containers', () => {
  it('answers the containers and Docker status of the latest heartbeat', async () => {
    const docker = { state: 'available' as const, endpoint: 'unix:///var/run/docker.sock', version: '27.1.0', error: null, since: 1_700_000_000_000 };
    const containers = [container('web', { watched: true }), container('db', { state: 'missing', id: '', image: '', health: 'none', watched: true, cpuPercent: null, memoryBytes: null, memoryLimitBytes: null, startedAt: null, createdAt: null })];
    await peerReporting('docker-box', { docker, containers });
    const answer = await waitFor(async () => {
      const { status, body } = await hub.api('GET', '/api/agents/docker-box/containers');
      return status === 200 && (body as { ts: number | null }).ts !== null ? body : undefined;
    }, 5_000, 'the stored sample');
    expect(AgentContainersSchema.parse(answer)).toMatchObject({ docker, containers });
  });

  it('says "no Docker report" (docker: null) for an older agent whose samples have no containers', async () => {
    await peerReporting('old-box', {});
    const answer = await waitFor(async () => {
      const { status, body } = await hub.api('GET', '/api/agents/old-box/containers');
      return status === 200 && (body as { ts: number | null }).ts !== null ? body : undefined;
    }, 5_000, 'the stored sample');
    expect(answer).toMatchObject({ docker: null, containers: [] });
  });

  it('refuses a heartbeat whose containers break the schema, and an unknown machine with 404', async () => {
    const ack = await peerReporting('bad-box', { containers: [container('web', { state: 'exploded' as never })] });
    expect(ack).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    const unknown = await hub.api('GET', '/api/agents/no-such-box/containers');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'not_found' });
  });
});
