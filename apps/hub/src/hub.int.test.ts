import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { generateKeyPair } from 'jose';
import { PROTOCOL_VERSION, UI_NAMESPACE, type Agent, type AgentStatusEvent, type MetricsResponse } from '@farol/protocol';
import { connectPeer, connectRaw, connectToken, emitAck, enrollPeer, hello, sample, systemInfo, type PeerIdentity } from './testing/protocol-peer.js';
import { startHubFixture, waitFor, type HubFixture } from './testing/hub-fixture.js';

let hub: HubFixture;

beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  await hub?.stop();
});

async function enrolled(hostname = 'test-host', tokenInput: Record<string, unknown> = {}): Promise<PeerIdentity> {
  return enrollPeer(hub.url, await hub.createJoinToken(tokenInput), hostname);
}

async function connected(peer: PeerIdentity, intervalMs = 10_000) {
  const result = await connectPeer(hub.url, peer);
  if (!result.socket) throw new Error(`connect failed: ${JSON.stringify(result.error)}`);
  const ack = await hello(result.socket, intervalMs);
  if (!ack.ok) throw new Error(`hello failed: ${JSON.stringify(ack)}`);
  return result.socket;
}

describe('operator REST', () => {
  it('answers liveness, readiness and OpenAPI without a token', async () => {
    expect((await hub.api('GET', '/health', undefined, null)).status).toBe(200);
    const ready = await hub.api('GET', '/ready', undefined, null);
    expect(ready.body).toMatchObject({ status: 'ready', database: 'ok' });
    const openapi = await hub.api('GET', '/api/openapi.json', undefined, null);
    const paths = Object.keys((openapi.body as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/agents', '/api/agents/{id}', '/api/agents/{id}/metrics', '/api/enroll', '/api/join-tokens']));
    expect((await hub.api('GET', '/api/docs/', undefined, null)).status).toBe(200);
  });

  it('refuses operator requests without a valid token with a problem body', async () => {
    const missing = await hub.api('GET', '/api/agents', undefined, null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(missing.body).toMatchObject({ code: 'unauthorized', status: 401 });
    expect((await hub.api('GET', '/api/agents', undefined, 'fat_wrong')).body).toMatchObject({ code: 'unauthorized' });
  });

  it('answers malformed JSON and invalid bodies with 400 and a stable code', async () => {
    const malformed = await hub.api('POST', '/api/join-tokens', '{"ttl": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'bad_request' });
    const invalid = await hub.api('POST', '/api/join-tokens', { ttl: 'forever', uses: -1 });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ code: 'validation_failed' });
    expect((invalid.body as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    const unknownRoute = await hub.api('GET', '/api/nothing-here');
    expect(unknownRoute.body).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('serves Prometheus metrics with hub internals and per-agent gauges', async () => {
    const peer = await enrolled('prom-host');
    const socket = await connected(peer);
    await emitAck(socket, 'metrics:report', { samples: [sample(Date.now(), 77)] });
    const text = (await hub.api('GET', '/metrics', undefined, null)).body as string;
    expect(text).toContain('farol_heartbeats_received_total');
    expect(text).toContain('farol_db_write_seconds_bucket');
    expect(text).toContain('farol_hub_nodejs_eventloop_lag_seconds');
    // Every series carries the hub that reports it (several hubs, #14).
    expect(text).toMatch(new RegExp(`farol_agent_up\\{agent_id="${peer.agentId}",name="prom-host",hub="[^"]+"\\} 1`));
    expect(text).toMatch(new RegExp(`farol_agent_cpu_percent\\{agent_id="${peer.agentId}",name="prom-host",hub="[^"]+"\\} 77`));
    socket.close();
  });
});

describe('enrollment and join tokens', () => {
  it('enrolls with a single-use token, then refuses the same token', async () => {
    const token = await hub.createJoinToken({ labels: { role: 'gpu' } });
    const peer = await enrollPeer(hub.url, token, 'gpu-box');
    expect(peer.enrollment.labels).toEqual({ role: 'gpu' });
    expect(peer.enrollment.hubPublicKey.kty).toBe('OKP');
    await expect(enrollPeer(hub.url, token, 'gpu-box-2')).rejects.toThrow(/token_used_up/);
  });

  it('counts uses of a reusable token and lists tokens without their secret', async () => {
    const token = await hub.createJoinToken({ uses: 2, note: 'lab' });
    await enrollPeer(hub.url, token, 'lab-1');
    await enrollPeer(hub.url, token, 'lab-2');
    await expect(enrollPeer(hub.url, token, 'lab-3')).rejects.toThrow(/token_used_up/);
    const list = (await hub.api('GET', '/api/join-tokens')).body as { tokens: Array<Record<string, unknown>> };
    const lab = list.tokens.find((t) => t.note === 'lab')!;
    expect(lab).toMatchObject({ uses: 2, maxUses: 2, state: 'used_up' });
    expect(JSON.stringify(list)).not.toContain(token.split('.')[1]);
  });

  it('refuses revoked, expired and forged join tokens', async () => {
    const token = await hub.createJoinToken();
    const id = token.split('.')[0]!;
    expect((await hub.api('DELETE', `/api/join-tokens/${id}`)).status).toBe(204);
    await expect(enrollPeer(hub.url, token)).rejects.toThrow(/token_revoked/);
    const shortLived = await hub.createJoinToken({ ttl: '1s' });
    await new Promise((r) => setTimeout(r, 1_100));
    await expect(enrollPeer(hub.url, shortLived)).rejects.toThrow(/token_expired/);
    await expect(enrollPeer(hub.url, `${id}.${'A'.repeat(43)}`)).rejects.toThrow(/token_invalid/);
    await expect(enrollPeer(hub.url, 'not-a-token')).rejects.toThrow(/token_invalid/);
  });

  it('names machines after their hostname and keeps names unique', async () => {
    const a = await enrolled('twin.example.com');
    const b = await enrolled('twin');
    expect(a.name).toBe('twin');
    expect(b.name).toBe('twin-2');
    const rename = await hub.api('PATCH', `/api/agents/${b.agentId}`, { name: 'twin' });
    expect(rename.status).toBe(409);
    expect(rename.body).toMatchObject({ code: 'name_taken' });
  });
});

describe('agent connections', () => {
  it('brings an agent online, stores its heartbeats and answers them after commit', async () => {
    const peer = await enrolled('live-host', { labels: { env: 'prod' } });
    const socket = await connected(peer);
    const now = Date.now();
    const ack = await emitAck<{ stored: number; duplicates: number }>(socket, 'metrics:report', { samples: [sample(now - 10_000, 10), sample(now, 20)] });
    expect(ack).toEqual({ ok: true, data: { stored: 2, duplicates: 0 } });
    const again = await emitAck(socket, 'metrics:report', { samples: [sample(now, 20)] });
    expect(again).toEqual({ ok: true, data: { stored: 0, duplicates: 1 } });

    const agent = (await hub.api('GET', `/api/agents/${peer.name}`)).body as Agent;
    expect(agent).toMatchObject({ id: peer.agentId, status: 'online', labels: { env: 'prod' } });
    expect(agent.latest?.cpu.total).toBe(20);
    expect(agent.system?.ips[0]?.isTailscale).toBe(true);
    const online = (await hub.api('GET', '/api/agents?status=online&label=env=prod')).body as { agents: Agent[] };
    expect(online.agents.map((a) => a.id)).toContain(peer.agentId);
    const metrics = (await hub.api('GET', `/api/agents/${peer.agentId}/metrics?from=${now - 60_000}&to=${now + 1}`)).body as MetricsResponse;
    expect(metrics.resolution).toBe('raw');
    expect(metrics.points.map((p) => p.values.cpu?.avg)).toEqual([10, 20]);

    socket.close();
    await waitFor(async () => ((await hub.api('GET', `/api/agents/${peer.agentId}`)).body as Agent).status === 'offline' || undefined, 5_000, 'offline');
  });

  it('takes the agent id from the verified token, never from a payload', async () => {
    const a = await enrolled('honest');
    const b = await enrolled('victim');
    const socket = await connected(a);
    const ts = Date.now();
    const ack = await emitAck(socket, 'metrics:report', { agentId: b.agentId, samples: [sample(ts, 99)] });
    expect(ack.ok).toBe(true);
    const victim = (await hub.api('GET', `/api/agents/${b.agentId}/metrics?from=${ts - 1000}&to=${ts + 1000}`)).body as MetricsResponse;
    expect(victim.points).toHaveLength(0);
    const honest = (await hub.api('GET', `/api/agents/${a.agentId}/metrics?from=${ts - 1000}&to=${ts + 1000}`)).body as MetricsResponse;
    expect(honest.points).toHaveLength(1);
    socket.close();
  });

  it('refuses bad, expired, replayed, over-long and another agent\'s tokens', async () => {
    const peer = await enrolled('auth-host');
    const other = await enrolled('other-host');
    const refusal = async (auth: Record<string, unknown>) => (await connectRaw(hub.url, auth)).error?.data?.code;

    expect(await refusal({ protocolVersion: PROTOCOL_VERSION, token: 'garbage' })).toBe('token_invalid');
    expect(await refusal({ protocolVersion: PROTOCOL_VERSION, token: await connectToken(peer, { issuedAtOffsetSeconds: -600 }) })).toBe('token_expired');
    expect(await refusal({ protocolVersion: PROTOCOL_VERSION, token: await connectToken(peer, { lifetimeSeconds: 3_600 }) })).toBe('token_invalid');
    expect(await refusal({ protocolVersion: PROTOCOL_VERSION, token: await connectToken(peer, { audience: 'someone-else' }) })).toBe('token_invalid');
    // Signed by one agent's key, claiming to be another agent.
    expect(await refusal({ protocolVersion: PROTOCOL_VERSION, token: await connectToken(peer, { sub: other.agentId }) })).toBe('token_invalid');
    const stranger = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey;
    expect(await refusal({ protocolVersion: PROTOCOL_VERSION, token: await connectToken(peer, { key: stranger }) })).toBe('token_invalid');
    expect(await refusal({ protocolVersion: PROTOCOL_VERSION, token: await connectToken(peer, { sub: 'ag_doesnotexist0000' }) })).toBe('agent_unknown');
    expect(await refusal({ token: 'x' })).toBe('bad_request');

    const token = await connectToken(peer);
    const first = await connectRaw(hub.url, { protocolVersion: PROTOCOL_VERSION, token });
    expect(first.socket).toBeDefined();
    first.socket?.close();
    expect(await refusal({ protocolVersion: PROTOCOL_VERSION, token })).toBe('token_replayed');
  });

  it('refuses a too-new protocol version and says which versions the hub speaks', async () => {
    const peer = await enrolled('future-host');
    const result = await connectRaw(hub.url, { protocolVersion: PROTOCOL_VERSION + 1, token: await connectToken(peer) });
    expect(result.error?.data).toMatchObject({
      code: 'protocol_version_unsupported',
      supportedProtocolVersions: { min: 1, max: PROTOCOL_VERSION },
    });
    expect(result.error?.message).toMatch(/speaks protocol versions 1 to 1/);
  });

  it('answers unknown events and bad payloads with error acks, then drops a socket that keeps at it', async () => {
    const peer = await enrolled('noisy-host');
    const result = await connectPeer(hub.url, peer);
    const socket = result.socket!;
    expect(await emitAck(socket, 'metrics:report', { samples: [sample(Date.now())] })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    await hello(socket);
    expect(await emitAck(socket, 'nonsense:event', {})).toMatchObject({ ok: false, error: { code: 'unknown_event' } });
    const bad = await emitAck(socket, 'metrics:report', { samples: [{ ts: 'yesterday' }] });
    expect(bad).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    const closed = new Promise<void>((resolve) => socket.on('disconnect', () => resolve()));
    for (let i = 0; i < 12; i++) socket.emit('garbage:event', { i }, () => undefined);
    await closed;
    expect((await hub.api('GET', '/health', undefined, null)).status).toBe(200);
  });

  it('drops a connection that sends a message over 1 MB and keeps serving', async () => {
    const peer = await enrolled('big-host');
    const socket = await connected(peer);
    const closed = new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
    socket.emit('metrics:report', { samples: [sample(Date.now())], padding: 'x'.repeat(1_100_000) }, () => undefined);
    expect(await closed).toMatch(/transport/);
    expect((await hub.api('GET', '/health', undefined, null)).status).toBe(200);
    const fresh = await connected(peer);
    expect(fresh.connected).toBe(true);
    fresh.close();
  });

  it('marks an agent offline after 3 missed heartbeats when its connection hangs silently', async () => {
    const peer = await enrolled('silent-host');
    const socket = await connected(peer, 1_000);
    const disconnected = new Promise<void>((resolve) => socket.on('disconnect', () => resolve()));
    const started = Date.now();
    await waitFor(async () => ((await hub.api('GET', `/api/agents/${peer.agentId}`)).body as Agent).status === 'offline' || undefined, 8_000, 'offline');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    await disconnected;
  });

  it('removes an agent for good: its socket closes and neither its token nor its key come back', async () => {
    const peer = await enrolled('doomed-host');
    const socket = await connected(peer);
    const closed = new Promise<void>((resolve) => socket.on('disconnect', () => resolve()));
    expect((await hub.api('DELETE', `/api/agents/${peer.name}`)).status).toBe(204);
    await closed;
    expect((await hub.api('GET', `/api/agents/${peer.agentId}`)).status).toBe(404);
    expect((await connectPeer(hub.url, peer)).error?.data?.code).toBe('agent_deleted');
    const response = await fetch(`${hub.url}/api/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: await hub.createJoinToken(),
        publicKey: { kty: 'OKP', crv: 'Ed25519', x: peer.publicX },
        system: systemInfo('doomed-host'),
        protocolVersion: PROTOCOL_VERSION,
      }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'key_revoked' });
  });
});

describe('/ui namespace', () => {
  it('refuses a bad token and streams presence to an operator', async () => {
    const refused = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token: 'nope' } });
    const error = await new Promise<Error & { data?: { code: string } }>((resolve) => refused.once('connect_error', resolve));
    expect(error.data?.code).toBe('unauthorized');
    refused.close();

    const ui = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token: hub.adminToken } });
    await new Promise<void>((resolve) => ui.once('connect', () => resolve()));
    const events: AgentStatusEvent[] = [];
    ui.on('agent:status', (event: AgentStatusEvent) => events.push(event));
    const peer = await enrolled('watched-host');
    const socket = await connected(peer);
    await waitFor(() => events.find((e) => e.agentId === peer.agentId && e.status === 'online'), 5_000, 'online event');
    socket.close();
    await waitFor(() => events.find((e) => e.agentId === peer.agentId && e.status === 'offline'), 5_000, 'offline event');
    ui.close();
  });

  it('streams a watched machine live: the agent is asked for 1 s samples, they reach only watchers, and it stops after', async () => {
    const peer = await enrolled('live-watch-host');
    const socket = await connected(peer);
    const liveRequests: Array<{ intervalMs: number | null }> = [];
    socket.on('telemetry:live', (request: { intervalMs: number | null }) => liveRequests.push(request));

    const ui = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token: hub.adminToken } });
    const bystander = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token: hub.adminToken } });
    await Promise.all([ui, bystander].map((s) => new Promise<void>((resolve) => s.once('connect', () => resolve()))));
    const seen: unknown[] = [];
    const seenByBystander: unknown[] = [];
    ui.on('metrics:live', (event: unknown) => seen.push(event));
    bystander.on('metrics:live', (event: unknown) => seenByBystander.push(event));

    expect(await ui.timeout(5_000).emitWithAck('agent:watch', { agentId: 'ag_0000000000000000' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ui.timeout(5_000).emitWithAck('agent:watch', { agentId: peer.agentId })).toEqual({ ok: true, data: { intervalMs: 1_000, online: true } });
    await waitFor(() => liveRequests.find((r) => r.intervalMs === 1_000), 5_000, 'live request');

    expect(await emitAck(socket, 'metrics:live', { sample: sample(Date.now(), 42) })).toEqual({ ok: true, data: {} });
    const event = await waitFor(() => seen[0], 5_000, 'live sample') as { agentId: string; sample: { cpu: { total: number } } };
    expect(event.agentId).toBe(peer.agentId);
    expect(event.sample.cpu.total).toBe(42);
    expect(seenByBystander).toHaveLength(0);

    ui.close();
    await waitFor(() => liveRequests.find((r) => r.intervalMs === null), 5_000, 'live off after the watcher left');
    bystander.close();
    socket.close();
  });
});
