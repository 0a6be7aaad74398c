import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_NAMESPACE } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello } from '../../testing/protocol-peer.js';
import { totpAt } from './totp.js';
import { isPostgresRun } from '../../testing/postgres-test-db.js';
/** These tests open, damage or copy the SQLite file itself (or test a SQLite-only feature): not on the int-pg run (#13). */
const onPostgres = isPostgresRun();

/**
 * Issue #11 items 3–5 (security review M1, M2, M3, M5, L3) and issue #12's "last-use
 * bookkeeping never fails a request", against a real hub on 127.0.0.1 and its SQLite file.
 */
const PASSWORD = 'correct horse battery staple';

interface Reply {
  status: number;
  body: { code?: string; detail?: string } & Record<string, unknown>;
}

async function send(hub: HubFixture, method: string, route: string, { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const response = await fetch(`${hub.url}${route}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Reply['body'] };
}

const login = (hub: HubFixture, username: string, password: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  send(hub, 'POST', '/api/auth/login', { body: { username, password, ...extra }, headers });

async function addUser(hub: HubFixture, username: string, role = 'operator'): Promise<{ id: string; token: string }> {
  const created = await hub.api('POST', '/api/users', { username, password: PASSWORD, role });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const signedIn = await login(hub, username, PASSWORD, { issue: 'token' });
  expect(signedIn.status).toBe(200);
  return { id: (created.body as { id: string }).id, token: (signedIn.body.token as { token: string }).token };
}

/** A browser session: the headers of an unsafe request. */
async function session(hub: HubFixture, username: string, otp?: string): Promise<Record<string, string>> {
  const response = await fetch(`${hub.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD, ...(otp ? { otp } : {}) }) });
  expect(response.status).toBe(200);
  const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, 'x-csrf-token': ((await response.json()) as { csrfToken: string }).csrfToken };
}

const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });
const statuses = (replies: Reply[]) => replies.map((r) => r.status);

describe('sign-in limits that hold (#11, M1, L3)', () => {
  it('limits sign-ins per client address whatever Authorization header comes with them (#11, M1a)', async () => {
    const hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '3' });
    try {
      const replies: Reply[] = [];
      // Different usernames, so only the per-address limit can refuse.
      for (let i = 0; i < 6; i++) replies.push(await login(hub, `someone-${i}`, 'not the password', {}, { authorization: `Bearer r${randomBytes(8).toString('hex')}` }));
      expect(statuses(replies)).toEqual([401, 401, 401, 429, 429, 429]);
      expect(replies[3]!.body).toMatchObject({ code: 'rate_limited' });
    } finally {
      await hub.stop();
    }
  });

  it('shares one API bucket between every spelling of the same bearer token (#11, M1c)', async () => {
    const hub = await startHubFixture({ FAROL_API_RATE_LIMIT: '5' });
    try {
      const me = (authorization: string) => send(hub, 'GET', '/api/me', { headers: { authorization } });
      const first: Reply[] = [];
      for (let i = 0; i < 5; i++) first.push(await me(`Bearer ${hub.adminToken}`));
      expect(statuses(first)).toEqual([200, 200, 200, 200, 200]);
      const variants = [`bearer ${hub.adminToken}`, `Bearer  ${hub.adminToken}`, `Bearer\t${hub.adminToken}`, `BEARER ${hub.adminToken}`, `Bearer ${hub.adminToken} `];
      const after: Reply[] = [];
      for (const variant of variants) after.push(await me(variant));
      expect(statuses(after)).toEqual([429, 429, 429, 429, 429]);
    } finally {
      await hub.stop();
    }
  });

  describe('lockout', () => {
    let hub: HubFixture;
    beforeAll(async () => {
      hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '100000' });
    });
    afterAll(async () => {
      await hub?.stop();
    });

    it('locks an account when 30 wrong passwords arrive in parallel against a threshold of 5 (#11, M1b)', async () => {
      await addUser(hub, 'vera', 'viewer');
      const burst = await Promise.all(Array.from({ length: 30 }, () => login(hub, 'vera', 'wrong password, guessed')));
      // At most `threshold` guesses were ever checked; the rest were refused unchecked.
      expect(statuses(burst).filter((s) => s === 401).length).toBeLessThanOrEqual(5);
      expect(statuses(burst).filter((s) => s === 429).length).toBeGreaterThanOrEqual(25);
      const right = await login(hub, 'vera', PASSWORD);
      expect(right.status).toBe(429);
      expect(right.body).toMatchObject({ code: 'rate_limited' });
    });

    it('refuses the right password sent inside a burst of wrong ones once the threshold is crossed (#11, M1b)', async () => {
      await addUser(hub, 'walt', 'viewer');
      const wrong = Array.from({ length: 29 }, () => login(hub, 'walt', 'wrong password, guessed'));
      // Five answers back means five attempts were counted; the rest of the burst is still in flight.
      let answered = 0;
      await new Promise<void>((resolve) => {
        for (const attempt of wrong) {
          void attempt.then(() => {
            answered++;
            if (answered === 5) resolve();
          });
        }
      });
      const right = await login(hub, 'walt', PASSWORD);
      await Promise.all(wrong);
      expect(right.status).toBe(429);
    });

    it('answers an unknown username exactly like a known one, lockout included (#11, L3)', async () => {
      await addUser(hub, 'kira', 'viewer');
      const tries = async (username: string): Promise<string[]> => {
        const out: string[] = [];
        for (let i = 0; i < 7; i++) {
          const reply = await login(hub, username, 'wrong password, guessed');
          out.push(`${reply.status} ${reply.body.code} ${String(reply.body.detail).replace(/\d+/g, 'N')}`);
        }
        return out;
      };
      const known = await tries('kira');
      const unknown = await tries('nobody-by-this-name');
      expect(unknown).toEqual(known);
      expect(known.filter((line) => line.startsWith('429'))).toHaveLength(2);
    });
  });
});

describe('second-factor limits (#11, M2)', () => {
  let hub: HubFixture;
  beforeAll(async () => {
    hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '100000' });
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('locks the second factor after five wrong codes, on X-Farol-OTP, step-up, disabling and sign-in alike (#11, M2)', async () => {
    const { token } = await addUser(hub, 'otto');
    const browser = await session(hub, 'otto');
    const { secret } = (await send(hub, 'POST', '/api/me/totp', { headers: browser })).body as unknown as { secret: string };
    expect((await send(hub, 'POST', '/api/me/totp/confirm', { body: { otp: totpAt(secret, Date.now()) }, headers: browser })).status).toBe(200);
    const wrong = (otp: string) => send(hub, 'GET', '/api/me', { headers: bearer(token, { 'x-farol-otp': otp }) });
    const guesses: Reply[] = [];
    for (let i = 0; i < 7; i++) guesses.push(await wrong(String(100_000 + i)));
    expect(statuses(guesses)).toEqual([401, 401, 401, 401, 401, 429, 429]);
    // Locked: even the right code, on every path that takes one.
    const valid = totpAt(secret, Date.now() + 30_000);
    expect((await wrong(valid)).status).toBe(429);
    expect((await send(hub, 'POST', '/api/auth/step-up', { body: { otp: valid }, headers: bearer(token) })).status).toBe(429);
    expect((await send(hub, 'POST', '/api/me/totp/disable', { body: { otp: valid }, headers: browser })).status).toBe(429);
    expect((await login(hub, 'otto', PASSWORD, { otp: valid })).status).toBe(429);
  });
});

describe('account-security changes need a session (#11, M3)', () => {
  let hub: HubFixture;
  beforeAll(async () => {
    hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '100000' });
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('refuses a restricted token turning on two-factor sign-in, changing the password or minting and revoking its owner\'s tokens (#11, M3)', async () => {
    const { id, token: full } = await addUser(hub, 'adm2', 'admin');
    const fullId = ((await send(hub, 'GET', '/api/me', { headers: bearer(full) })).body as { tokenId: string }).tokenId;
    const withPassword = { ...bearer(full), 'x-farol-password': PASSWORD };
    const narrow = (await send(hub, 'POST', '/api/tokens', { body: { name: 'ci', permissions: ['nodes:read'] }, headers: withPassword })).body as unknown as { id: string; token: string };
    const asNarrow = (method: string, route: string, body?: unknown) => send(hub, method, route, { body, headers: bearer(narrow.token) });
    for (const [method, route, body] of [
      ['POST', '/api/me/totp', undefined],
      ['POST', '/api/me/password', { currentPassword: PASSWORD, newPassword: 'taken over by a token holder' }],
      ['POST', '/api/tokens', { name: 'more' }],
      ['DELETE', `/api/tokens/${fullId}`, undefined],
    ] as const) {
      const refused = await asNarrow(method, route, body);
      expect(refused.status, `${method} ${route}`).toBe(403);
      expect(refused.body).toMatchObject({ code: 'forbidden' });
    }
    // Nothing changed: no second factor, the full token still works, the password is the same.
    expect((await send(hub, 'GET', '/api/me', { headers: bearer(full) })).body).toMatchObject({ mfaEnabled: false });
    expect((await login(hub, 'adm2', PASSWORD)).status).toBe(200);
    // An unrestricted token (the CLI's `farol api-tokens create/revoke`) still manages tokens, but never the password or the second factor.
    expect((await send(hub, 'POST', '/api/me/totp', { headers: bearer(full) })).status).toBe(403);
    expect((await send(hub, 'POST', '/api/me/password', { body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }, headers: bearer(full) })).status).toBe(403);
    expect((await send(hub, 'PATCH', `/api/users/${id}`, { body: { password: 'a brand new passphrase' }, headers: bearer(full) })).status).toBe(403);
    // ...and only with a fresh proof: the owner's password with the request, so a stolen token cannot mint itself a longer life.
    const unproven = await send(hub, 'POST', '/api/tokens', { body: { name: 'persistence' }, headers: bearer(full) });
    expect([unproven.status, unproven.body.code]).toEqual([403, 'reauth_required']);
    const wrong = await send(hub, 'POST', '/api/tokens', { body: { name: 'persistence' }, headers: { ...bearer(full), 'x-farol-password': 'not the password' } });
    expect([wrong.status, wrong.body.code]).toEqual([400, 'validation_failed']);
    const minted = await send(hub, 'POST', '/api/tokens', { body: { name: 'from the cli' }, headers: withPassword });
    expect(minted.status).toBe(201);
    expect((await send(hub, 'DELETE', `/api/tokens/${minted.body.id as string}`, { headers: bearer(full) })).body).toMatchObject({ code: 'reauth_required' });
    expect((await send(hub, 'DELETE', `/api/tokens/${minted.body.id as string}`, { headers: withPassword })).status).toBe(200);
    expect(((await send(hub, 'GET', '/api/tokens', { headers: bearer(full) })).body.tokens as Array<{ name: string }>).map((t) => t.name)).not.toContain('persistence');
    // A restricted token may still revoke itself.
    expect((await asNarrow('DELETE', `/api/tokens/${narrow.id}`)).status).toBe(200);
    // A signed-in session does all of it.
    const browser = await session(hub, 'adm2');
    expect((await send(hub, 'POST', '/api/me/totp', { headers: browser })).status).toBe(200);
    expect((await send(hub, 'POST', '/api/me/password', { body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }, headers: browser })).status).toBe(204);
  });

  it('records in the audit log which token or session acted (#11, M3)', async () => {
    const { token } = await addUser(hub, 'audra', 'admin');
    const tokenId = ((await send(hub, 'GET', '/api/me', { headers: bearer(token) })).body as { tokenId: string }).tokenId;
    expect((await send(hub, 'PUT', '/api/secrets/VIA_CHECK', { body: { value: 'v1', scope: '*' }, headers: bearer(token) })).status).toBeLessThan(300);
    const browser = await session(hub, 'audra');
    expect((await send(hub, 'POST', '/api/tokens', { body: { name: 'from the browser' }, headers: browser })).status).toBe(201);
    const { entries } = (await hub.api('GET', '/api/audit?actor=audra&limit=20')).body as { entries: Array<{ action: string; details: Record<string, unknown> }> };
    expect(entries.find((e) => e.action === 'secret.set')?.details.via).toBe(tokenId);
    expect(entries.find((e) => e.action === 'token.create' && e.details.name === 'from the browser')?.details.via).toBe('session');
  });

  it('records which token acted for what a /ui socket event does (#11, M3)', async () => {
    const { token } = await addUser(hub, 'tara', 'admin');
    const tokenId = ((await send(hub, 'GET', '/api/me', { headers: bearer(token) })).body as { tokenId: string }).tokenId;
    // A machine that refuses every terminal: the refusal is audited by the socket event's handler.
    const peer = await enrollPeer(hub.url, await hub.createJoinToken(), 'via-box');
    const link = await connectPeer(hub.url, peer);
    if (!link.socket) throw new Error(`connect failed: ${JSON.stringify(link.error)}`);
    const agent = link.socket;
    agent.on('terminal:open', ({ token: jws }: { token: string }) => {
      const claims = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()) as { sessionId: string };
      void emitAck(agent, 'terminal:opened', { sessionId: claims.sessionId, status: 'refused', refusal: 'policy', message: 'no terminals here' });
    });
    expect((await hello(agent, 10_000, 'via-box')).ok).toBe(true);
    const ui = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], auth: { token }, forceNew: true });
    try {
      const answer = (await ui.emitWithAck('terminal:open', { agentId: peer.agentId, cols: 80, rows: 24 })) as { ok: boolean };
      expect(answer.ok).toBe(false);
      const entry = await waitFor(async () => {
        const { entries } = (await hub.api('GET', '/api/audit?actor=tara&action=terminal.open')).body as { entries: Array<{ details: Record<string, unknown> }> };
        return entries[0];
      }, 5_000, 'the terminal.open entry');
      expect(entry.details).toMatchObject({ outcome: 'refused', via: tokenId });
    } finally {
      ui.disconnect();
      agent.disconnect();
    }
  });
});

describe.skipIf(onPostgres)('anonymous traffic cannot grow durable state (#11, M5)', () => {
  let hub: HubFixture;
  let db: Database.Database;
  beforeAll(async () => {
    hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '100000', FAROL_API_RATE_LIMIT: '100000' });
    db = new Database(hub.databaseFile, { readonly: true });
  });
  afterAll(async () => {
    db?.close();
    await hub?.stop();
  });
  const count = (table: string): number => (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;

  it('keeps 2,000 failed sign-ins out of the audit log, in a bounded number of noise rows that still say who tried what (#11, M5)', async () => {
    const auditBefore = count('audit_log');
    const noiseBefore = count('auth_failures');
    const username = `intruder-${'x'.repeat(40)}\u0007`;
    for (let batch = 0; batch < 40; batch++) {
      const replies = await Promise.all(Array.from({ length: 50 }, () => login(hub, username, 'guess')));
      expect(replies.every((r) => r.status === 401 || r.status === 429)).toBe(true);
    }
    expect(count('audit_log')).toBe(auditBefore);
    // One row per address, username and 10-minute window: one, or two across a window edge.
    expect(count('auth_failures') - noiseBefore).toBeLessThanOrEqual(2);
    const listed = await hub.api('GET', `/api/auth/failures?username=${encodeURIComponent(username.replace('\u0007', '?'))}`);
    expect(listed.status).toBe(200);
    const rows = (listed.body as { failures: Array<{ ip: string; failures: number; refused: number }> }).failures;
    expect(rows.reduce((sum, row) => sum + row.failures + row.refused, 0)).toBe(2_000);
    expect(rows[0]!.ip).toBe('127.0.0.1');
  });

  it('audits the lockout of a real account once, not each attempt against it (#11, M5)', async () => {
    await addUser(hub, 'lena', 'viewer');
    const auditBefore = count('audit_log');
    for (let i = 0; i < 200; i++) await login(hub, 'lena', 'guess');
    const added = db.prepare('select action, details from audit_log where seq > ? order by seq').all(auditBefore) as Array<{ action: string; details: string }>;
    expect(added.map((row) => row.action)).toEqual(['auth.locked']);
    expect(JSON.parse(added[0]!.details)).toMatchObject({ ip: '127.0.0.1', lockedForMs: 30_000 });
  });

  it('shows the failures only to user managers (#11, M5)', async () => {
    const { token } = await addUser(hub, 'vic', 'viewer');
    expect((await send(hub, 'GET', '/api/auth/failures', { headers: bearer(token) })).status).toBe(403);
  });
});

describe('last-use bookkeeping never fails a request (#12)', () => {
  it.skipIf(onPostgres)('answers a token and a session request even when their last use cannot be written', async () => {
    const hub = await startHubFixture();
    const db = new Database(hub.databaseFile);
    try {
      db.pragma('busy_timeout = 5000');
      await addUser(hub, 'bea', 'viewer');
      const browser = await session(hub, 'bea');
      const fresh = (await send(hub, 'POST', '/api/tokens', { body: { name: 'never used yet' }, headers: browser })).body as { token?: string };
      // The session was last seen long enough ago for the next request to write it.
      db.prepare('update sessions set last_seen_at = last_seen_at - 40000').run();
      db.exec(`
        create trigger refuse_token_touch before update of last_used_at on api_tokens begin select raise(abort, 'simulated write failure'); end;
        create trigger refuse_session_touch before update of last_seen_at on sessions begin select raise(abort, 'simulated write failure'); end;
      `);
      expect((await send(hub, 'GET', '/api/me', { headers: bearer(fresh.token!) })).status).toBe(200);
      expect((await send(hub, 'GET', '/api/me', { headers: { cookie: browser.cookie! } })).status).toBe(200);
    } finally {
      db.close();
      await hub.stop();
    }
  });
});
