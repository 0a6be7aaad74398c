import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, Check, ChecksAssign } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { createTestDatabase, isPostgresRun } from '../../testing/postgres-test-db.js';
import { connectPeer, emitAck, enrollPeer, hello } from '../../testing/protocol-peer.js';

/*
 * Issue #14 for checks: two hubs in this process on one PostgreSQL database and one Redis, with
 * real leadership. Each hub holds the results of the machines connected to it; the leader's
 * alerts engine must still judge "down from 2 of 2" on both, and a new leader must carry on
 * from the stored state: the open alert neither resolves on a partial view nor fires again.
 * PostgreSQL and Redis only (`int-pg`).
 */

const REDIS_DB = 10;
const ADMIN = randomBytes(24).toString('hex');
const hubs = new Map<string, HubFixture>();
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
let env: Record<string, string>;
const closers: Array<() => Promise<void> | void> = [];

async function flushRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();
}

async function leaderId(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const rows = (await client.query<{ holder: string; expires_at: string }>("select holder, expires_at from leader_leases where name = 'leader'")).rows;
    const row = rows[0];
    return row && Number(row.expires_at) > Date.now() ? row.holder.split('/')[0] : undefined;
  } finally {
    await client.end();
  }
}

describe.skipIf(!isPostgresRun())('check state across several hubs (#14)', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'farol-checks-hubs-'));
    const hubKeyFile = path.join(dir, 'hub-key.json');
    writeFileSync(hubKeyFile, JSON.stringify(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })), { mode: 0o600 });
    const secretKeyFile = path.join(dir, 'secret.key');
    writeFileSync(secretKeyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const redisUrl = new URL(process.env.FAROL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    redisUrl.pathname = `/${REDIS_DB}`;
    await flushRedis(redisUrl.toString());
    env = {
      FAROL_DATABASE_URL: database.url,
      FAROL_REDIS_URL: redisUrl.toString(),
      FAROL_HUB_KEY_FILE: hubKeyFile,
      FAROL_SECRET_KEY_FILE: secretKeyFile,
      FAROL_ADMIN_TOKEN: ADMIN,
    };
    for (const name of ['checks-a', 'checks-b']) hubs.set(name, await startHubFixture({ ...env, FAROL_HUB_ID: name }));
  }, 120_000);

  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    for (const hub of hubs.values()) await hub.stop().catch(() => undefined);
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('judges a check on every hub\'s locations, and a new leader keeps its open "down" without firing again', { timeout: 120_000 }, async () => {
    const leaderName = await waitFor(leaderId, 30_000, 'a leader');
    const leader = hubs.get(leaderName)!;
    const [followerName, follower] = [...hubs].find(([name]) => name !== leaderName)!;
    expect(follower).toBeDefined();

    // One machine on each hub.
    const token = await leader.createJoinToken({ uses: 2 });
    const peers: Array<{ socket: Socket; assigned: ChecksAssign[] }> = [];
    for (const [name, hub] of [['edge-a', leader], ['edge-b', follower]] as const) {
      const peer = await enrollPeer(hub.url, token, name);
      const { socket } = await connectPeer(hub.url, peer);
      const assigned: ChecksAssign[] = [];
      socket!.on('checks:assign', (payload: ChecksAssign) => assigned.push(payload));
      expect((await hello(socket!, 10_000, name)).ok).toBe(true);
      peers.push({ socket: socket!, assigned });
      closers.push(() => void socket!.disconnect());
    }

    // Made on the hub that does not lead: the rule and the check reach every hub.
    const rule = await follower.api('POST', '/api/alert-rules', { name: 'shared down', condition: { kind: 'check', condition: 'down', minLocations: 2, checks: ['shared api'] }, severity: 'critical' });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const created = await follower.api('POST', '/api/checks', { name: 'shared api', probe: { kind: 'http', url: 'http://127.0.0.1:9/' }, interval: '30s', runOn: { agents: ['edge-a', 'edge-b'] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const checkId = (created.body as Check).id;
    for (const { assigned } of peers) await waitFor(() => (assigned.at(-1)?.checks.some((c) => c.id === checkId) ? true : undefined), 20_000, 'the assignment');

    const report = async (index: number, status: string, message: string) => {
      const ack = await emitAck<{ stored: number }>(peers[index]!.socket, 'check:results', { results: [{ checkId, ts: Date.now(), status, latencyMs: status === 'critical' ? null : 5, message, certDaysLeft: null, perfdata: [] }] });
      expect(ack).toEqual({ ok: true, data: { stored: 1, ignored: 0 } });
    };
    const alerts = async (hub: HubFixture): Promise<Alert[]> =>
      ((await hub.api('GET', '/api/alerts?state=all&limit=100')).body as { alerts: Alert[] }).alerts.filter((a) => a.ruleName === 'shared down');

    // Each result reaches a different hub; the leader's engine sees both.
    await report(0, 'critical', 'ECONNREFUSED');
    await report(1, 'critical', 'connect ETIMEDOUT');
    const firing = await waitFor(async () => (await alerts(follower)).find((a) => a.state === 'firing'), 30_000, 'the down alert');
    expect(firing.summary).toMatch(/^check shared api down from 2 of 2 locations \(edge-a, edge-b\)/);
    // Every hub's API shows every location.
    await waitFor(async () => {
      const shown = (await follower.api('GET', '/api/checks/shared%20api')).body as Check;
      return shown.locations.length === 2 && shown.status === 'critical' ? true : undefined;
    }, 20_000, 'both locations on the other hub');

    // The leader goes (its lease given up); the other hub leads and hears only from edge-b.
    await leader.stop();
    hubs.delete(leaderName);
    await waitFor(async () => ((await leaderId()) === followerName ? true : undefined), 60_000, 'the new leader');
    await report(1, 'critical', 'connect ETIMEDOUT');
    // edge-b comes back: 1 of 2 locations down. The new leader resolves the same alert, having
    // judged it on both locations (a view of edge-b alone would have said "0 of 1" long before).
    await report(1, 'ok', 'HTTP 200');
    const resolved = await waitFor(async () => (await alerts(follower)).find((a) => a.state === 'resolved'), 30_000, 'the resolved alert');
    expect(resolved.id).toBe(firing.id);
    expect(resolved.summary).toBe('check shared api is up again (1 of 2 locations)');
    expect(resolved.firedAt).toBe(firing.firedAt);
    expect(await alerts(follower)).toHaveLength(1);
  });

  it('shows the results of the checks the leader runs itself on a hub that does not lead', { timeout: 120_000 }, async () => {
    const leaderName = await waitFor(leaderId, 30_000, 'a leader');
    const hub = await startHubFixture({ ...env, FAROL_HUB_ID: 'checks-c' });
    hubs.set('checks-c', hub);
    expect(await leaderId()).toBe(leaderName);
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const created = await hub.api('POST', '/api/checks', { name: 'hub port', probe: { kind: 'tcp', host: '127.0.0.1', port }, interval: '10s', timeout: '1s' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const shown = await waitFor(async () => {
      const check = (await hub.api('GET', '/api/checks/hub%20port')).body as Check;
      return check.status === 'critical' ? check : undefined;
    }, 40_000, 'the hub-run result');
    expect(shown.locations).toEqual([expect.objectContaining({ location: 'hub', status: 'critical' })]);
  });
});
