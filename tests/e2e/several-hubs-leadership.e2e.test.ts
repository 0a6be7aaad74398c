import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRule } from '@farol/protocol';
import { DEFAULT_RULES } from '../../apps/hub/src/modules/alerts/alert-conditions.js';
import { agentBundle, api, joinToken, run, waitFor, type Proc } from './support/processes.js';
import { startSeveralHubs, type FleetHub, type SeveralHubs } from './support/several-hubs.js';

/*
 * Issue #14, item 4 (ADR 0011): three real hub processes on one PostgreSQL and one Redis.
 *   - started at the same moment on an empty database, they create the first admin and the
 *     default alert rules once;
 *   - exactly one holds the leader lease;
 *   - a metric rule (made on a hub that does not lead, for an agent on another hub that does not
 *     lead) fires once: one request reaches a loopback webhook receiver;
 *   - the leader killed with -9 while that receiver holds a delivery: the next leader sends it
 *     again, once, with the same delivery id.
 */

/** This file's fleet: three hubs, its own database and Redis database number 13. */
let fleet: SeveralHubs;
type Hub = FleetHub;
let hubs: Hub[] = [];
const others: Proc[] = [];

/** What the loopback receiver saw: one entry per request. */
interface Received {
  deliveryId: string;
  text: string;
  at: number;
}
const received: Received[] = [];
/** true: requests are held open (a provider that has not answered yet) until released. */
let holding = false;
const held: ServerResponse[] = [];
let receiver: Server;
let receiverUrl: string;

function receive(request: IncomingMessage, response: ServerResponse): void {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    const parsed = JSON.parse(body) as { id: string; title: string; text: string };
    received.push({ deliveryId: String(request.headers['x-farol-delivery']), text: `${parsed.title}\n${parsed.text}`, at: Date.now() });
    expect(parsed.id).toBe(request.headers['x-farol-delivery']);
    if (holding) held.push(response);
    else response.writeHead(200).end('ok');
  });
}

async function leaseHolder(): Promise<{ holder: string; epoch: number } | undefined> {
  const rows = await fleet.query<{ holder: string; epoch: string; expires_at: string }>('select holder, epoch, expires_at from leader_leases where name = $1', ['leader']);
  const row = rows[0];
  if (!row || Number(row.expires_at) <= Date.now()) return undefined;
  return { holder: row.holder, epoch: Number(row.epoch) };
}

const alive = (hub: Hub): boolean => hub.isAlive();
const leaderOf = async (): Promise<Hub | undefined> => {
  const lease = await leaseHolder();
  return lease && hubs.find((hub) => lease.holder.startsWith(`${hub.id}/`) && alive(hub));
};

beforeAll(async () => {
  receiver = createServer(receive);
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

  // All three at once, on an empty database.
  fleet = await startSeveralHubs({ idPrefix: 'lead', redisDb: 13, start: ['a', 'b', 'c'], env: { FAROL_LOG_LEVEL: 'info', FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.0/8' } });
  hubs = fleet.hubs;
}, 240_000);

afterAll(async () => {
  for (const response of held.splice(0)) response.destroy();
  for (const proc of others) await proc.stop('SIGKILL');
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  await fleet?.close();
});

describe('three hubs, one leader', () => {
  it('create the first admin and the default alert rules once when they start together', async () => {
    for (const hub of hubs) {
      const users = await api<{ users: Array<{ username: string }> }>(hub.url, 'GET', '/api/users');
      expect(users.status).toBe(200);
      expect(users.body.users.filter((user) => user.username === 'admin')).toHaveLength(1);
      const rules = await api<{ rules: AlertRule[] }>(hub.url, 'GET', '/api/alert-rules');
      expect(rules.body.rules.filter((rule) => rule.source === 'default').map((rule) => rule.name).toSorted()).toEqual(DEFAULT_RULES.map((rule) => rule.name).toSorted());
    }
    // Only the hub that created the admin shows its password.
    expect(hubs.filter((hub) => hub.proc.output().includes('Sign in as admin with this password'))).toHaveLength(1);
  });

  it('have exactly one leader', async () => {
    const leader = await waitFor(() => leaderOf(), 15_000, 'a leader');
    const says = hubs.filter((hub) => hub.proc.output().includes('"msg":"this hub is the leader"'));
    expect(says).toEqual([leader]);
  });

  it('send a firing metric rule once; after kill -9 of the leader mid-delivery, at most one duplicate with the same delivery id', { timeout: 120_000 }, async () => {
    const leader = (await leaderOf())!;
    const [first, second] = hubs.filter((hub) => hub !== leader) as [Hub, Hub];
    // Made on hubs that do not lead: the leader's engine learns of them over the bus.
    expect((await api(first.url, 'POST', '/api/channels', { type: 'webhook', name: 'leader-hook', settings: { url: receiverUrl } })).status).toBe(201);
    const rule = await api<AlertRule>(second.url, 'POST', '/api/alert-rules', {
      name: 'cpu seen',
      condition: { kind: 'metric', metric: 'cpu', op: '>=', threshold: 0, for: '0s' },
      channels: ['leader-hook'],
      cooldown: '1h',
    });
    expect(rule.status).toBe(201);
    // Every hub's API lists it (each keeps the rules in memory; `alerts.config` tells the others).
    for (const hub of hubs) {
      await waitFor(async () => (await api<{ rules: AlertRule[] }>(hub.url, 'GET', '/api/alert-rules')).body.rules.some((r) => r.name === 'cpu seen') || undefined, 10_000, `the rule on ${hub.id}`);
    }

    // The agent is held by a hub that does not lead: its samples reach the leader through the database.
    const agent = run([agentBundle, 'run', '--hub', first.url, '--token', await joinToken(first.url), '--name', 'led', '--state', path.join(fleet.dir, 'agent-led'), '--interval', '2s'], {
      env: { FAROL_LOG_LEVEL: 'info' },
    });
    others.push(agent);
    await waitFor(() => received.find((r) => r.text.includes('cpu seen')), 45_000, 'the cpu notification');
    // Several heartbeats later, on every hub: still one.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    expect(received.filter((r) => r.text.includes('cpu seen'))).toHaveLength(1);

    // Acknowledged on a hub that does not lead: the leader's live alert takes it (its API shows it).
    const firing = await api<{ alerts: Array<{ id: string; ruleName: string }> }>(second.url, 'GET', '/api/alerts');
    const cpuAlert = firing.body.alerts.find((a) => a.ruleName === 'cpu seen')!;
    expect((await api(second.url, 'POST', `/api/alerts/${cpuAlert.id}/ack`, { note: 'looking' })).status).toBe(200);
    await waitFor(async () => (await api<{ acknowledgedBy: string | null }>(leader.url, 'GET', `/api/alerts/${cpuAlert.id}`)).body.acknowledgedBy || undefined, 10_000, 'the acknowledgement on the leader');

    // Now the receiver holds the next delivery open, and the leader dies while it is in flight.
    holding = true;
    const before = received.length;
    expect((await api(second.url, 'POST', '/api/alert-rules', { name: 'memory seen', condition: { kind: 'metric', metric: 'memory', op: '>=', threshold: 0, for: '0s' }, channels: ['leader-hook'], cooldown: '1h' })).status).toBe(201);
    const inFlight = await waitFor(() => received.slice(before).find((r) => r.text.includes('memory seen')), 45_000, 'the memory notification in flight');
    const epochBefore = (await leaseHolder())!.epoch;
    await leader.proc.stop('SIGKILL');
    const killedAt = Date.now();
    holding = false;
    for (const response of held.splice(0)) response.destroy();

    const again = await waitFor(() => received.slice(before).filter((r) => r.text.includes('memory seen'))[1], 40_000, 'the delivery sent again by the next leader');
    expect(again.deliveryId).toBe(inFlight.deliveryId);
    const next = (await leaderOf())!;
    expect(next).toBeDefined();
    expect(next).not.toBe(leader);
    expect((await leaseHolder())!.epoch).toBeGreaterThan(epochBefore);
    // Takeover within 15 s of the death, plus the outbox's resumption right after.
    expect(again.at - killedAt).toBeLessThan(20_000);
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    const memory = received.filter((r) => r.text.includes('memory seen'));
    expect(memory).toHaveLength(2);
    expect(new Set(memory.map((r) => r.deliveryId)).size).toBe(1);
    expect(received.filter((r) => r.text.includes('cpu seen'))).toHaveLength(1);
  });
});
