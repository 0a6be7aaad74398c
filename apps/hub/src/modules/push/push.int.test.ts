import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify, type ECDH } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditList, PushMessage, PushSubscription, PushSubscriptionList, PushVapidKey } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { createTestDatabase, isPostgresRun } from '../../testing/postgres-test-db.js';
import { connectPeer, emitAck, enrollPeer, hello, sample, type PeerIdentity } from '../../testing/protocol-peer.js';

// Issue #20, browser notifications: a real hub delivering alert notices to a loopback push
// service that does what a browser's push service and the browser do together: it checks the
// VAPID JWT (RFC 8292) against the hub's public key and decrypts the message (RFC 8291,
// aes128gcm) with the browser's private key and auth secret.

interface Browser {
  ecdh: ECDH;
  auth: Buffer;
  endpoint: string;
}

interface Delivered {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const delivered: Delivered[] = [];
let pushService: Server;
let pushBase: string;
let hub: HubFixture;
let staging: PeerIdentity;
let prod: PeerIdentity;
let stanToken: string;
let audreyToken: string;

function newBrowser(name: string, kind: 'push' | 'gone' = 'push'): Browser {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { ecdh, auth: randomBytes(16), endpoint: `${pushBase}/${kind}/${name}` };
}

const subscription = (browser: Browser) => ({
  endpoint: browser.endpoint,
  expirationTime: null,
  keys: { p256dh: browser.ecdh.getPublicKey().toString('base64url'), auth: browser.auth.toString('base64url') },
});

/** RFC 8291 §3.4 + RFC 8188: what the browser does with a message from its push service. */
function decrypt(browser: Browser, body: Buffer): string {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const senderKey = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  expect(idLength).toBe(65);
  expect(ciphertext.length).toBeLessThanOrEqual(recordSize);
  const secret = browser.ecdh.computeSecret(senderKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), browser.ecdh.getPublicKey(), senderKey]);
  const ikm = Buffer.from(hkdfSync('sha256', secret, browser.auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // One record: the content, then the delimiter 0x02 (last record), then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  expect(padded[end]).toBe(2);
  return padded.subarray(0, end).toString('utf8');
}

/** RFC 8292 §3: `vapid t=<JWT>, k=<public key>`; the JWT is ES256 over the push service's origin. */
function checkVapid(headers: IncomingHttpHeaders, publicKey: string): { aud: string; exp: number; sub: string } {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(String(headers.authorization));
  expect(match, String(headers.authorization)).not.toBeNull();
  const [, jwt, k] = match!;
  expect(k).toBe(publicKey);
  const [header, claims, signature] = jwt!.split('.') as [string, string, string];
  expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'ES256' });
  const point = Buffer.from(publicKey, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') }, format: 'jwk' });
  const valid = verify('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  expect(valid, 'the VAPID JWT verifies against the hub\'s public key').toBe(true);
  return JSON.parse(Buffer.from(claims, 'base64url').toString()) as { aud: string; exp: number; sub: string };
}

/** The `kv` row of the key pair, read from the hub's database (SQLite file, or its PostgreSQL database in int-pg). */
async function storedVapid(): Promise<string> {
  const select = "select value from kv where key = 'push.vapid'";
  if (isPostgresRun()) {
    const client = new pg.Client({ connectionString: (await createTestDatabase(path.resolve(hub.dataDir))).url });
    await client.connect();
    try {
      return (await client.query<{ value: string }>(select)).rows[0]!.value;
    } finally {
      await client.end();
    }
  }
  const db = new Database(path.join(hub.dataDir, 'farol.db'), { readonly: true });
  try {
    return (db.prepare(select).get() as { value: string }).value;
  } finally {
    db.close();
  }
}

async function report(peer: PeerIdentity, cpu: number): Promise<void> {
  const { socket } = await connectPeer(hub.url, peer);
  expect(await hello(socket!, 10_000, peer.name)).toMatchObject({ ok: true });
  expect(await emitAck(socket!, 'metrics:report', { samples: [sample(Date.now(), cpu)] })).toMatchObject({ ok: true });
  socket!.close();
}

async function signIn(username: string, role: string, scope?: string): Promise<string> {
  const password = 'correct horse battery staple';
  expect((await hub.api('POST', '/api/users', { username, password, role, ...(scope ? { scope } : {}) })).status).toBe(201);
  const login = await hub.api('POST', '/api/auth/login', { username, password, issue: 'token' }, null);
  return (login.body as { token: { token: string } }).token.token;
}

beforeAll(async () => {
  pushService = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      delivered.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
      // A browser that unsubscribed: its push service answers 410 Gone (RFC 8030 §7.3).
      response.writeHead(request.url?.startsWith('/gone/') ? 410 : request.url === '/hook' ? 200 : 201).end();
    });
  });
  await new Promise<void>((resolve) => pushService.listen(0, '127.0.0.1', resolve));
  const address = pushService.address();
  pushBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  hub = await startHubFixture({ FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_ALERTS_CHANNELS: 'ops-hook', FAROL_ALERTS_GROUP_WINDOW: '50ms', FAROL_PUSH_CONTACT: 'mailto:ops@example.com' });
  expect((await hub.api('POST', '/api/channels', { type: 'webhook', name: 'ops-hook', settings: { url: `${pushBase}/hook` } })).status).toBe(201);
  expect((await hub.api('POST', '/api/alert-rules', { name: 'cpu busy', condition: { kind: 'metric', metric: 'cpu', threshold: 80, for: '0s' }, cooldown: '1h' })).status).toBe(201);
  staging = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env: 'staging' } }), 'web-staging');
  prod = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env: 'prod' } }), 'db-prod');
  stanToken = await signIn('stan', 'operator', 'env=staging');
  expect((await hub.api('POST', '/api/roles', { name: 'audit-only', permissions: ['audit:read'] })).status).toBe(201);
  audreyToken = await signIn('audrey', 'audit-only');
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  await new Promise<void>((resolve) => pushService.close(() => resolve()));
});

describe('browser notifications (Web Push)', () => {
  let publicKey: string;
  let admin: Browser;
  let adminOld: Browser;
  let stan: Browser;

  it('makes one VAPID key pair, kept sealed in the database', async () => {
    const first = await hub.api('GET', '/api/push/vapid-public-key');
    expect(first.status).toBe(200);
    publicKey = (first.body as PushVapidKey).publicKey;
    const point = Buffer.from(publicKey, 'base64url');
    expect(point.length).toBe(65);
    expect(point[0]).toBe(4);
    expect(((await hub.api('GET', '/api/push/vapid-public-key', undefined, stanToken)).body as PushVapidKey).publicKey).toBe(publicKey);
    const stored = await storedVapid();
    expect(stored).not.toContain(publicKey);
    expect(stored).not.toContain('privateKey');
  });

  it('subscribes browsers per user, refuses bad input and other networks, audits it', async () => {
    admin = newBrowser('admin');
    adminOld = newBrowser('admin-old', 'gone');
    stan = newBrowser('stan');
    const created = await hub.api('POST', '/api/push/subscriptions', subscription(admin));
    expect(created.status).toBe(201);
    expect(created.body as PushSubscription).toMatchObject({ endpoint: admin.endpoint, lastSentAt: null });
    expect((await hub.api('POST', '/api/push/subscriptions', subscription(adminOld))).status).toBe(201);
    expect((await hub.api('POST', '/api/push/subscriptions', subscription(stan), stanToken)).status).toBe(201);

    const bad = await hub.api('POST', '/api/push/subscriptions', { ...subscription(admin), keys: { p256dh: 'short', auth: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed' });
    // Only the networks FAROL_NOTIFY_ALLOW_NETWORKS allows (here loopback) besides public addresses.
    const inside = await hub.api('POST', '/api/push/subscriptions', { ...subscription(newBrowser('x')), endpoint: 'http://10.1.2.3/push/x' });
    expect(inside.status).toBe(400);
    expect(inside.body).toMatchObject({ code: 'destination_refused' });
    // Alerts are read with nodes:read: a role without it cannot subscribe.
    expect((await hub.api('POST', '/api/push/subscriptions', subscription(newBrowser('audrey')), audreyToken)).status).toBe(403);

    const mine = (await hub.api('GET', '/api/push/subscriptions', undefined, stanToken)).body as PushSubscriptionList;
    expect(mine.subscriptions.map((s) => s.endpoint)).toEqual([stan.endpoint]);
    // Another user's browser is as good as absent.
    const adminIds = ((await hub.api('GET', '/api/push/subscriptions')).body as PushSubscriptionList).subscriptions.map((s) => s.id);
    expect(adminIds).toHaveLength(2);
    expect((await hub.api('DELETE', `/api/push/subscriptions/${adminIds[0]}`, undefined, stanToken)).status).toBe(404);

    const audit = (await hub.api('GET', '/api/audit?action=push.subscribe')).body as AuditList;
    expect(audit.entries.map((e) => e.actor).sort()).toEqual(['admin', 'admin', 'stan']);
    expect(audit.entries.every((e) => e.details.push === pushBase && !JSON.stringify(e.details).includes('/push/'))).toBe(true);
  });

  it('pushes an alert, encrypted, to the browsers of users who may see its machine; a gone browser is removed', async () => {
    await report(prod, 95);
    const toAdmin = await waitFor(() => delivered.find((d) => d.path === '/push/admin'), 15_000, 'the prod alert at the admin\'s browser');
    expect(toAdmin.headers['content-encoding']).toBe('aes128gcm');
    expect(toAdmin.headers.ttl).toBe('86400');
    expect(toAdmin.headers.urgency).toBe('normal');
    const claims = checkVapid(toAdmin.headers, publicKey);
    expect(claims.aud).toBe(pushBase);
    expect(claims.sub).toBe('mailto:ops@example.com');
    expect(claims.exp * 1000).toBeGreaterThan(Date.now());
    expect(claims.exp * 1000).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000);
    const message = JSON.parse(decrypt(admin, toAdmin.body)) as PushMessage;
    expect(message).toMatchObject({ kind: 'alert', notice: { event: 'firing', ruleName: 'cpu busy', agentName: 'db-prod', value: 95, threshold: 80, labels: { env: 'prod' } } });
    expect('topProcesses' in message.notice).toBe(false);
    // The same message is not readable with another browser's keys.
    expect(() => decrypt(stan, toAdmin.body)).toThrow();

    // The old browser's push service says 410: the subscription is removed and that is audited.
    await waitFor(() => delivered.find((d) => d.path === '/gone/admin-old'), 15_000, 'the attempt at the gone browser');
    await waitFor(async () => (((await hub.api('GET', '/api/push/subscriptions')).body as PushSubscriptionList).subscriptions.length === 1 ? true : undefined), 10_000, 'the gone subscription removed');
    const removed = await waitFor(async () => {
      const list = (await hub.api('GET', '/api/audit?action=push.unsubscribe')).body as AuditList;
      return list.entries.length > 0 ? list : undefined;
    }, 10_000, 'the removal audited');
    expect(removed.entries).toHaveLength(1);
    expect(removed.entries[0]).toMatchObject({ actor: 'hub', details: { push: pushBase } });

    // stan's scope is env=staging: nothing about db-prod reached his browser.
    await report(staging, 97);
    const toStan = await waitFor(() => delivered.find((d) => d.path === '/push/stan'), 15_000, 'the staging alert at stan\'s browser');
    expect((JSON.parse(decrypt(stan, toStan.body)) as PushMessage).notice).toMatchObject({ agentName: 'web-staging', labels: { env: 'staging' } });
    await waitFor(() => delivered.filter((d) => d.path === '/push/admin').length === 2 || undefined, 15_000, 'the staging alert at the admin\'s browser too');
    expect(delivered.filter((d) => d.path === '/push/stan')).toHaveLength(1);
    expect(delivered.filter((d) => d.path === '/gone/admin-old')).toHaveLength(1);
    // The push service has answered before the hub records the answer: wait for the records to settle.
    const pushStates = async (): Promise<string[]> => {
      const outbox = (await hub.api('GET', '/api/notify/outbox?limit=50')).body as { entries: Array<{ target: string; state: string }> };
      return outbox.entries.filter((e) => e.target === 'push').map((e) => e.state).sort();
    };
    await waitFor(async () => ((await pushStates()).includes('sending') ? undefined : true), 10_000, 'the push deliveries recorded');
    expect(await pushStates()).toEqual(['failed', 'sent', 'sent', 'sent']);
  }, 60_000);

  it('stops pushing to a browser once it is unsubscribed', async () => {
    const [mine] = ((await hub.api('GET', '/api/push/subscriptions', undefined, stanToken)).body as PushSubscriptionList).subscriptions;
    expect((await hub.api('DELETE', `/api/push/subscriptions/${mine!.id}`, undefined, stanToken)).status).toBe(204);
    expect((await hub.api('DELETE', `/api/push/subscriptions/${mine!.id}`, undefined, stanToken)).status).toBe(404);
    const audit = (await hub.api('GET', '/api/audit?action=push.unsubscribe')).body as AuditList;
    expect(audit.entries[0]).toMatchObject({ actor: 'stan', details: { subscriptionId: mine!.id } });
  });
});
