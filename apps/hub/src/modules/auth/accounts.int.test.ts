import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { UI_NAMESPACE } from '@farol/protocol';
import { printBanner } from '../../main.js';
import { connectPeer, enrollPeer, hello } from '../../testing/protocol-peer.js';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { totpAt } from './totp.js';

const PASSWORD = 'correct horse battery staple';

async function connectUi(hub: HubFixture, auth: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Socket> {
  const socket = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth, extraHeaders: headers });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

function closedWithin(socket: Socket, ms: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    socket.once('disconnect', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

async function addUser(hub: HubFixture, username: string, role: string, scope?: string): Promise<{ id: string; token: string }> {
  const created = await hub.api('POST', '/api/users', { username, password: PASSWORD, role, ...(scope ? { scope } : {}) });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const login = await hub.api('POST', '/api/auth/login', { username, password: PASSWORD, issue: 'token' }, null);
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  return { id: (created.body as { id: string }).id, token: (login.body as { token: { token: string } }).token.token };
}

/** A browser-style session: the cookie and the CSRF token. */
async function signIn(hub: HubFixture, username: string, password: string, otp?: string): Promise<{ cookie: string; csrf: string }> {
  const response = await fetch(`${hub.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password, ...(otp ? { otp } : {}) }) });
  expect(response.status).toBe(200);
  const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: ((await response.json()) as { csrfToken: string }).csrfToken };
}

describe('accounts over HTTP and /ui', () => {
  let hub: HubFixture;

  beforeAll(async () => {
    hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '1000' });
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('keeps the admin token of the foundation working as an ordinary, listed token of the admin', async () => {
    const me = await hub.api('GET', '/api/me');
    expect(me.body).toMatchObject({ kind: 'user', name: 'admin', role: 'admin', via: 'token', tokenId: 'tok_admin' });
    const tokens = await hub.api('GET', '/api/tokens');
    expect((tokens.body as { tokens: Array<{ id: string; state: string }> }).tokens).toContainEqual(expect.objectContaining({ id: 'tok_admin', state: 'active' }));
  });

  it('refuses a revoked token at once, on REST and on a new socket', async () => {
    const withPassword = { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json', 'x-farol-password': hub.adminPassword! };
    const created = await fetch(`${hub.url}/api/tokens`, { method: 'POST', headers: withPassword, body: JSON.stringify({ name: 'ci', ttl: '1d' }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));
    expect(created.status).toBe(201);
    const { id, token } = created.body as { id: string; token: string };
    expect((await hub.api('GET', '/api/agents', undefined, token)).status).toBe(200);
    const socket = await connectUi(hub, { token });
    const closing = closedWithin(socket, 5_000);
    expect((await fetch(`${hub.url}/api/tokens/${id}`, { method: 'DELETE', headers: { authorization: withPassword.authorization, 'x-farol-password': withPassword['x-farol-password'] } })).status).toBe(200);
    await closing;
    const refused = await hub.api('GET', '/api/agents', undefined, token);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'token_revoked' });
    await expect(connectUi(hub, { token })).rejects.toMatchObject({ data: { code: 'token_revoked' } });
    const { entries } = (await hub.api('GET', '/api/audit?actor=admin&action=token.revoke')).body as { entries: Array<{ details: { tokenId: string } }> };
    expect(entries[0]!.details.tokenId).toBe(id);
  });

  it('closes the live socket of a user whose role changes, or who is disabled, within 5 s', async () => {
    const olga = await addUser(hub, 'olga', 'operator');
    const socket = await connectUi(hub, { token: olga.token });
    expect(await socket.emitWithAck('job:unwatch', { jobId: 'job_abcdefghijklmnop' })).toEqual({ ok: true, data: {} });
    const closing = closedWithin(socket, 5_000);
    expect((await hub.api('PATCH', `/api/users/${olga.id}`, { role: 'viewer' })).status).toBe(200);
    expect(await closing).toBeLessThan(5_000);
    // Reconnecting gets the new role: viewers may watch but not open terminals.
    const again = await connectUi(hub, { token: olga.token });
    expect(await again.emitWithAck('terminal:open', { agentId: 'any', cols: 80, rows: 24 })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const closingAgain = closedWithin(again, 5_000);
    expect((await hub.api('PATCH', `/api/users/${olga.id}`, { disabled: true })).status).toBe(200);
    await closingAgain;
    await expect(connectUi(hub, { token: olga.token })).rejects.toMatchObject({ data: { code: 'unauthorized' } });
  });

  it('requires the CSRF header on unsafe methods of a cookie session, and never on safe ones', async () => {
    await addUser(hub, 'cora', 'viewer');
    const session = await signIn(hub, 'cora', PASSWORD);
    const get = await fetch(`${hub.url}/api/me`, { headers: { cookie: session.cookie } });
    expect(get.status).toBe(200);
    const post = (headers: Record<string, string>) =>
      fetch(`${hub.url}/api/tokens`, { method: 'POST', headers: { cookie: session.cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'from the browser' }) });
    const missing = await post({});
    expect(missing.status).toBe(403);
    expect(await missing.json()).toMatchObject({ code: 'forbidden' });
    expect((await post({ 'x-csrf-token': 'guessed' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': session.csrf })).status).toBe(201);
    // A session socket only from the hub's own origin.
    await expect(connectUi(hub, {}, { cookie: session.cookie, origin: 'http://evil.example' })).rejects.toMatchObject({ data: { code: 'forbidden' } });
    const own = await connectUi(hub, {}, { cookie: session.cookie, origin: hub.url });
    own.disconnect();
    // Signing out ends the session.
    expect((await fetch(`${hub.url}/api/auth/logout`, { method: 'POST', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } })).status).toBe(204);
    expect((await fetch(`${hub.url}/api/me`, { headers: { cookie: session.cookie } })).status).toBe(401);
  });

  it('refuses jobs whose targets reach outside the caller\'s scope, per machine, selectors included', async () => {
    const staging = await hub.createJoinToken({ labels: { env: 'staging', role: 'web' }, uses: 5 });
    const prod = await hub.createJoinToken({ labels: { env: 'prod', role: 'web' }, uses: 5 });
    await enrollPeer(hub.url, staging, 'web-staging');
    const prodPeer = await enrollPeer(hub.url, prod, 'web-prod');
    const stan = await addUser(hub, 'stan', 'operator', 'env=staging');
    // The fleet as a scoped operator sees it: only the machines of the scope.
    for (const view of ['', '?view=summary']) {
      const listed = (await hub.api('GET', `/api/agents${view}`, undefined, stan.token)).body as { agents: Array<{ labels: Record<string, string> }> };
      expect(listed.agents.length).toBeGreaterThan(0);
      expect(listed.agents.every((agent) => agent.labels.env === 'staging')).toBe(true);
    }
    const job = (targets: unknown) => hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['true'] }, targets }, stan.token);
    const own = await job({ selector: 'env=staging' });
    expect(own.status).toBe(201);
    const wide = await job({ selector: 'role=web' });
    expect(wide.status).toBe(403);
    // Issue #11: the refusal counts the machines outside the scope, never names them.
    expect(wide.body).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('outside your scope (env=staging)') });
    expect(JSON.stringify(wide.body)).not.toContain(prodPeer.name);
    expect((await job({ all: true })).status).toBe(403);
    expect((await job({ agents: [prodPeer.name] })).status).toBe(403);
    expect((await hub.api('POST', `/api/agents/${prodPeer.agentId}/command?wait=false`, { command: { kind: 'shell', argv: ['true'] } }, stan.token)).status).toBe(403);
    // The admin is not limited.
    const adminJob = await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['true'] }, targets: { selector: 'role=web' } });
    expect(adminJob.status).toBe(201);
    // A job that reaches outside the scope cannot be read, watched or cancelled by the scoped operator.
    const adminJobId = (adminJob.body as { id: string }).id;
    expect((await hub.api('GET', `/api/jobs/${(own.body as { id: string }).id}`, undefined, stan.token)).status).toBe(200);
    expect((await hub.api('GET', `/api/jobs/${adminJobId}`, undefined, stan.token)).body).toMatchObject({ code: 'forbidden' });
    expect((await hub.api('POST', `/api/jobs/${adminJobId}/cancel`, undefined, stan.token)).body).toMatchObject({ code: 'forbidden' });
    const listed = (await hub.api('GET', '/api/jobs', undefined, stan.token)).body as { jobs: Array<{ id: string }> };
    expect(listed.jobs.map((j) => j.id)).toEqual([(own.body as { id: string }).id]);
    const socket = await connectUi(hub, { token: stan.token });
    expect(await socket.emitWithAck('job:watch', { jobId: adminJobId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await socket.emitWithAck('job:watch', { jobId: (own.body as { id: string }).id })).toMatchObject({ ok: true });
    socket.disconnect();
  });

  it('sends fleet events to a scoped socket only for the machines in its scope', async () => {
    const staging = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env: 'staging' } }), 'live-staging');
    const prod = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env: 'prod' } }), 'live-prod');
    const sina = await addUser(hub, 'sina', 'viewer', 'env=staging');
    const scoped = await connectUi(hub, { token: sina.token });
    const full = await connectUi(hub, { token: hub.adminToken });
    const seen = { scoped: new Set<string>(), full: new Set<string>() };
    scoped.on('agent:status', (event: { agentId: string }) => seen.scoped.add(event.agentId));
    full.on('agent:status', (event: { agentId: string }) => seen.full.add(event.agentId));
    const links = [];
    for (const peer of [prod, staging]) {
      const link = await connectPeer(hub.url, peer);
      if (!link.socket) throw new Error(`peer refused: ${link.error.message}`);
      expect((await hello(link.socket)).ok).toBe(true);
      links.push(link.socket);
    }
    await waitFor(() => seen.full.has(prod.agentId) && seen.full.has(staging.agentId) && seen.scoped.has(staging.agentId), 5_000, 'status events');
    expect(seen.scoped.has(prod.agentId)).toBe(false);
    for (const socket of [...links, scoped, full]) socket.disconnect();
  });

  it('asks a user with two-factor sign-in for a fresh code before shell commands', async () => {
    await enrollPeer(hub.url, await hub.createJoinToken(), 'mfa-box');
    const tess = await addUser(hub, 'tess', 'operator');
    const session = await signIn(hub, 'tess', PASSWORD);
    const unsafe = { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/json' };
    const enrol = (await (await fetch(`${hub.url}/api/me/totp`, { method: 'POST', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } })).json()) as { secret: string };
    const confirmed = await fetch(`${hub.url}/api/me/totp/confirm`, { method: 'POST', headers: unsafe, body: JSON.stringify({ otp: totpAt(enrol.secret, Date.now()) }) });
    expect(confirmed.status).toBe(200);
    const shell = { command: { kind: 'shell', shell: true, script: 'uptime' }, targets: { all: true } };
    const refused = await hub.api('POST', '/api/jobs', shell, tess.token);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'mfa_required' });
    // A program with its arguments (no shell) does not need the step-up.
    expect((await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['true'] }, targets: { all: true } }, tess.token)).status).toBe(201);
    // With a fresh code in X-Farol-OTP the shell runs; the same code again is a replay.
    const code = totpAt(enrol.secret, Date.now() + 30_000);
    const withCode = await fetch(`${hub.url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${tess.token}`, 'content-type': 'application/json', 'x-farol-otp': code }, body: JSON.stringify(shell) });
    expect(withCode.status).toBe(201);
    const replay = await fetch(`${hub.url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${tess.token}`, 'content-type': 'application/json', 'x-farol-otp': code }, body: JSON.stringify(shell) });
    expect(replay.status).toBe(401);
    // The old session gave no second factor: its step-up is refused until it does.
    const sessionShell = await fetch(`${hub.url}/api/jobs`, { method: 'POST', headers: unsafe, body: JSON.stringify(shell) });
    expect(sessionShell.status).toBe(403);
    // A step-up through POST /api/auth/step-up is remembered on the session (and on a token).
    // (The next TOTP step is 30 s away, so this one uses a recovery code.)
    const { recoveryCodes } = (await confirmed.json()) as { recoveryCodes: string[] };
    expect((await fetch(`${hub.url}/api/auth/step-up`, { method: 'POST', headers: unsafe, body: JSON.stringify({ otp: recoveryCodes[0] }) })).status).toBe(200);
    expect((await fetch(`${hub.url}/api/jobs`, { method: 'POST', headers: unsafe, body: JSON.stringify(shell) })).status).toBe(201);
  });

  it('lets a user change their own password with the current one, from a signed-in session', async () => {
    await addUser(hub, 'pia', 'viewer');
    const session = await signIn(hub, 'pia', PASSWORD);
    const change = (currentPassword: string) =>
      fetch(`${hub.url}/api/me/password`, {
        method: 'POST',
        headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ currentPassword, newPassword: 'a brand new passphrase' }),
      });
    expect((await change('not it')).status).toBe(400);
    expect((await change(PASSWORD)).status).toBe(204);
    expect((await hub.api('POST', '/api/auth/login', { username: 'pia', password: PASSWORD }, null)).status).toBe(401);
    expect((await hub.api('POST', '/api/auth/login', { username: 'pia', password: 'a brand new passphrase' }, null)).status).toBe(200);
  });

  it('sends no CORS header to a foreign origin', async () => {
    const response = await fetch(`${hub.url}/api/me`, { headers: { origin: 'http://evil.example', authorization: `Bearer ${hub.adminToken}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${hub.url}/api/jobs`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('abuse limits', () => {
  it('rate-limits sign-ins per address, and API calls per token', async () => {
    const hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '3', FAROL_API_RATE_LIMIT: '20' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await hub.api('POST', '/api/auth/login', { username: 'admin', password: 'not the password' }, null)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      const limited = await hub.api('POST', '/api/auth/login', { username: 'admin', password: 'not the password' }, null);
      expect(limited.body).toMatchObject({ code: 'rate_limited' });
      const api: number[] = [];
      for (let i = 0; i < 22; i++) api.push((await hub.api('GET', '/api/me')).status);
      expect(api.filter((s) => s === 200)).toHaveLength(20);
      expect(api.slice(20)).toEqual([429, 429]);
      // Another token has its own budget.
      const other = await hub.api('GET', '/api/me', undefined, 'fat_unknown-token-gets-its-own-bucket');
      expect(other.status).toBe(401);
    } finally {
      await hub.stop();
    }
  });
});

describe('job fan-out limit', () => {
  it('refuses a non-admin job that reaches more machines than FAROL_JOB_FANOUT_LIMIT; the admin is not capped', async () => {
    const hub = await startHubFixture({ FAROL_JOB_FANOUT_LIMIT: '2' });
    try {
      const join = await hub.createJoinToken({ uses: 3 });
      for (const name of ['fan-1', 'fan-2', 'fan-3']) await enrollPeer(hub.url, join, name);
      const otto = await addUser(hub, 'otto', 'operator');
      const exec = { kind: 'shell', argv: ['true'] };
      const wide = await hub.api('POST', '/api/jobs', { command: exec, targets: { all: true } }, otto.token);
      expect(wide.status).toBe(403);
      expect(wide.body).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('at most 2') });
      expect((await hub.api('POST', '/api/jobs', { command: exec, targets: { agents: ['fan-1', 'fan-2'] } }, otto.token)).status).toBe(201);
      expect((await hub.api('POST', '/api/jobs', { command: exec, targets: { all: true } })).status).toBe(201);
    } finally {
      await hub.stop();
    }
  });
});

describe('first start', () => {
  it('creates the admin with a password printed once, never a default one', async () => {
    const first = await startHubFixture();
    const dataDir = first.dataDir;
    try {
      expect(first.adminPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
      const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      printBanner(first);
      const banner = write.mock.calls.map((c) => String(c[0])).join('');
      write.mockRestore();
      expect(banner).toContain(first.adminPassword!);
      for (const guess of ['admin', 'password', 'farol', 'changeme']) {
        expect((await first.api('POST', '/api/auth/login', { username: 'admin', password: guess }, null)).status).toBe(401);
      }
      expect((await first.api('POST', '/api/auth/login', { username: 'admin', password: first.adminPassword }, null)).status).toBe(200);
      await first.close();

      const { startHub } = await import('../../testing/start-test-hub.js');
      const second = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'silent' }, { FAROL_ROLLUP_INTERVAL: '1h' });
      try {
        expect(second.adminPassword).toBeNull();
        const write2 = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
        printBanner(second);
        const banner2 = write2.mock.calls.map((c) => String(c[0])).join('');
        write2.mockRestore();
        expect(banner2).not.toContain(first.adminPassword!);
        // The admin token is the same ordinary token after the restart.
        const me = await fetch(`${second.url}/api/me`, { headers: { authorization: `Bearer ${second.adminToken}` } });
        expect(me.status).toBe(200);
      } finally {
        await second.close();
      }
    } finally {
      await first.stop();
    }
  });
});
