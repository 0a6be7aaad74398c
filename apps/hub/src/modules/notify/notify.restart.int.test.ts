import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../../main.js';
import { startHub } from '../../testing/start-test-hub.js';
import { waitFor } from '../../testing/hub-fixture.js';
import { connectPeer, enrollPeer, hello } from '../../testing/protocol-peer.js';
import { startWebhookReceiver, type ProviderEmulator } from './testing/provider-emulators.js';

const HMAC_SECRET = 'restart-test-hmac-secret-0123456789';
const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-notify-restart-'));
const env = { FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_ROLLUP_INTERVAL: '1h' };
const running: RunningHub[] = [];
let receiver: ProviderEmulator | undefined;

async function start(): Promise<RunningHub> {
  const hub = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'silent' }, env);
  running.push(hub);
  return hub;
}

async function api(hub: RunningHub, method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${hub.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${hub.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

afterAll(async () => {
  // close() is idempotent: the hub the test closed already resolves at once.
  for (const hub of running) await hub.close();
  await receiver?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a hub restart with a delivery pending', () => {
  it('delivers the queued event after the restart, once, signed, with its delivery id', async () => {
    receiver = await startWebhookReceiver(HMAC_SECRET);
    const first = await start();
    const created = await api(first, 'POST', '/api/webhooks', { name: 'n8n', url: `${receiver.url}/webhook/vigilo`, secret: HMAC_SECRET, events: ['agent.online'] });
    expect(created.status).toBe(201);

    // The receiver is down when a machine comes online: the event is queued and retried.
    await receiver.down();
    const token = ((await api(first, 'POST', '/api/join-tokens', {})).body as { token: string }).token;
    const peer = await enrollPeer(first.url, token, 'db-restart');
    const connected = await connectPeer(first.url, peer);
    if (!connected.socket) throw new Error(`connect failed: ${connected.error.message}`);
    expect((await hello(connected.socket, 10_000, 'db-restart')).ok).toBe(true);
    const pending = await waitFor(
      async () => {
        const { entries } = (await api(first, 'GET', '/api/notify/outbox')).body as { entries: Array<{ id: string; state: string; attempts: number; kind: string }> };
        return entries.find((e) => e.kind === 'agent.online' && e.state === 'pending' && e.attempts >= 1);
      },
      10_000,
      'a failed first attempt',
    );
    connected.socket.disconnect();
    await first.close();

    await receiver.up();
    const second = await start();
    // The row keeps its backoff across the restart (longer when a slow machine let it fail twice).
    const { entries: queued } = (await api(second, 'GET', '/api/notify/outbox')).body as { entries: Array<{ id: string; state: string; nextAttemptAt: number | null }> };
    const retryAt = queued.find((e) => e.id === pending.id)?.nextAttemptAt ?? Date.now();
    await waitFor(() => (receiver!.requests.length > 0 ? true : undefined), Math.max(0, retryAt - Date.now()) + 10_000, 'the delivery after the restart');
    const [request] = receiver.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/webhook/vigilo', headers: { 'x-farol-delivery': pending.id } });
    expect(request!.json).toMatchObject({ id: pending.id, event: 'agent.online', agent_name: 'db-restart', status: 'alive', agent: { name: 'db-restart' } });
    // The receiver has the request before the hub records the answer: wait for the record.
    const recorded = await waitFor(async () => {
      const { entries } = (await api(second, 'GET', '/api/notify/outbox')).body as { entries: Array<{ id: string; state: string }> };
      const entry = entries.find((e) => e.id === pending.id);
      return entry && entry.state !== 'sending' && entry.state !== 'pending' ? entry : undefined;
    }, 10_000, 'the delivery recorded');
    expect(recorded).toMatchObject({ state: 'sent' });
    expect(receiver.requests.filter((r) => r.headers['x-farol-delivery'] === pending.id)).toHaveLength(1);
  });
});
