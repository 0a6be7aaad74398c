import { createServer } from 'node:net';
import { io } from 'socket.io-client';
import { UI_NAMESPACE } from '@farol/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, passProviderPages, startTestOidcProvider, type TestOidcProvider } from '../../testing/oidc-provider.js';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';
import { enrollPeer } from '../../testing/protocol-peer.js';

/**
 * Issue #20: single sign-on against a real OpenID Connect provider (oidc-provider) on loopback,
 * through the hub's real login and callback routes: users created on first sign-in, the role
 * from the groups claim at every sign-in, tampered ID tokens refused, a user removed from the
 * group losing access, step-up at the provider, and password sign-in turned off.
 */

const ROLE_MAP = JSON.stringify([
  { match: 'farol-admins', role: 'admin' },
  { match: 'staging-ops', role: 'operator', scope: 'env=staging' },
  { match: 'ops', role: 'operator' },
]);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let provider: TestOidcProvider;
let hub: HubFixture;

beforeAll(async () => {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  provider = await startTestOidcProvider({
    redirectUri: `${publicUrl}/api/auth/oidc/callback`,
    people: {
      alice: { groups: ['farol-admins', 'everyone'] },
      sam: { groups: ['staging-ops'], preferred_username: 'sam' },
      olga: { groups: ['ops'] },
      bob: { groups: ['sales'] },
      // Same name as the local admin: linked by subject, never by name.
      impostor: { groups: ['ops'], preferred_username: 'admin', email: 'admin@example.test' },
    },
  });
  hub = await startHubFixture(
    {
      FAROL_PUBLIC_URL: publicUrl,
      FAROL_OIDC_ISSUER: provider.issuer,
      FAROL_OIDC_CLIENT_ID: provider.clientId,
      FAROL_OIDC_CLIENT_SECRET: provider.clientSecret,
      FAROL_OIDC_SCOPES: 'openid profile email groups',
      FAROL_OIDC_NAME: 'Test IdP',
      FAROL_OIDC_ROLE_MAP: ROLE_MAP,
      FAROL_LOCAL_SIGNIN: 'off',
      FAROL_MFA_MAX_AGE: '3s',
      FAROL_LOGIN_RATE_LIMIT: '1000',
    },
    { port },
  );
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  await provider?.close();
});

const providerJars = new Map<string, CookieJar>();

/** The whole round trip as a browser would make it: login → provider pages → callback. */
async function signIn(login: string, { hubJar = new CookieJar(), stepUp = false, accept = 'application/json', freshProvider = false } = {}) {
  if (freshProvider || !providerJars.has(login)) providerJars.set(login, new CookieJar());
  const start = await fetch(`${hub.url}/api/auth/oidc/login${stepUp ? '?stepUp=true&returnTo=/machines' : '?returnTo=/alerts'}`, { redirect: 'manual', headers: { cookie: hubJar.header() } });
  expect(start.status, await start.clone().text()).toBe(302);
  hubJar.take(start);
  const callback = await passProviderPages(start.headers.get('location')!, login, providerJars.get(login)!);
  const done = await fetch(callback, { redirect: 'manual', headers: { cookie: hubJar.header(), accept } });
  hubJar.take(done);
  return { status: done.status, location: done.headers.get('location'), body: done.status === 303 ? null : ((await done.json()) as { code?: string }), hubJar, callback };
}

async function asSession(jar: CookieJar, method: string, route: string, body?: unknown) {
  const session = await fetch(`${hub.url}/api/auth/session`, { headers: { cookie: jar.header() } });
  const csrf = session.ok ? ((await session.json()) as { csrfToken: string }).csrfToken : '';
  const response = await fetch(`${hub.url}${route}`, {
    method,
    headers: { cookie: jar.header(), 'x-csrf-token': csrf, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
}

/** Opens a terminal over /ui as the browser would (the session cookie, from the hub's own origin): the error code, or 'ok'. */
async function terminalOpen(jar: CookieJar, agentId: string): Promise<string> {
  const socket = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie: jar.header(), origin: hub.url } });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const answer = (await socket.timeout(5_000).emitWithAck('terminal:open', { agentId, cols: 80, rows: 24 })) as { ok: boolean; error?: { code: string } };
    return answer.ok ? 'ok' : (answer.error?.code ?? 'no code');
  } finally {
    socket.disconnect();
  }
}

async function auditOf(action: string): Promise<Array<{ actor: string; details: Record<string, unknown> }>> {
  const { body } = await hub.api('GET', `/api/audit?action=${action}&limit=100`);
  return (body as { entries: Array<{ actor: string; details: Record<string, unknown> }> }).entries;
}

describe('single sign-on with OpenID Connect (issue #20)', () => {
  it('tells the dashboard how to sign in', async () => {
    const { status, body } = await hub.api('GET', '/api/auth/methods', undefined, null);
    expect(status).toBe(200);
    expect(body).toEqual({ password: false, oidc: { name: 'Test IdP', loginUrl: '/api/auth/oidc/login' } });
  });

  it('documents the single sign-on routes in OpenAPI, as public', async () => {
    const document = (await hub.api('GET', '/api/openapi.json')).body as { paths: Record<string, Record<string, { security?: unknown[]; parameters?: Array<{ name: string }> }>> };
    for (const route of ['/api/auth/methods', '/api/auth/oidc/login', '/api/auth/oidc/callback']) {
      expect(document.paths[route]?.get, route).toBeDefined();
      expect(document.paths[route]!.get!.security).toEqual([]);
    }
    expect(document.paths['/api/auth/oidc/login']!.get!.parameters!.map((p) => p.name)).toEqual(expect.arrayContaining(['returnTo', 'stepUp']));
  });

  it('sends the browser to the provider with PKCE, state and nonce', async () => {
    const start = await fetch(`${hub.url}/api/auth/oidc/login`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const to = new URL(start.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe(`${provider.issuer}/auth`);
    expect(to.searchParams.get('client_id')).toBe('farol');
    expect(to.searchParams.get('response_type')).toBe('code');
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(to.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(to.searchParams.get('nonce')).toMatch(/^[\w-]{20,}$/);
    expect(to.searchParams.get('scope')).toBe('openid profile email groups');
    expect(to.searchParams.get('redirect_uri')).toBe(`${hub.url}/api/auth/oidc/callback`);
    // The flow's secrets travel sealed, HttpOnly, only to the single sign-on routes, and survive the provider's redirect (Lax).
    const flow = start.headers.getSetCookie().find((line) => line.startsWith('farol_oidc='))!;
    expect(flow).toMatch(/HttpOnly/i);
    expect(flow).toMatch(/SameSite=Lax/i);
    expect(flow).toMatch(/Path=\/api\/auth\/oidc/);
    expect(flow).not.toContain(to.searchParams.get('state')!);
  });

  it('creates the user on first sign-in with the role of the group, in a normal session', async () => {
    const result = await signIn('alice');
    expect(result.status).toBe(303);
    expect(result.location).toBe('/alerts');
    expect(result.hubJar.cookies.has('farol_session')).toBe(true);
    expect(result.hubJar.cookies.has('farol_oidc')).toBe(false);
    const me = await asSession(result.hubJar, 'GET', '/api/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ name: 'alice', role: 'admin', scope: null, via: 'session', stepUpWith: 'provider' });
    const created = (await auditOf('user.create')).find((entry) => entry.details.username === 'alice');
    expect(created?.details).toMatchObject({ role: 'admin', source: 'single sign-on', issuer: provider.issuer, matched: 'farol-admins' });
    expect((await auditOf('auth.oidc_login')).some((entry) => entry.actor === 'alice' && entry.details.role === 'admin')).toBe(true);
    // Signing in again finds the same account.
    const again = await signIn('alice');
    expect(again.status).toBe(303);
    const users = (await hub.api('GET', '/api/users')).body as { users: Array<{ username: string }> };
    expect(users.users.filter((user) => user.username.startsWith('alice'))).toHaveLength(1);
  });

  it('gives a group\'s label scope, and links by subject, never by a name someone else has', async () => {
    const sam = await signIn('sam');
    expect((await asSession(sam.hubJar, 'GET', '/api/me')).body).toMatchObject({ name: 'sam', role: 'operator', scope: 'env=staging' });
    const impostor = await signIn('impostor');
    expect(impostor.status).toBe(303);
    const me = (await asSession(impostor.hubJar, 'GET', '/api/me')).body;
    expect(me.name).not.toBe('admin');
    expect(me.name).toBe('admin-2');
    expect(me.role).toBe('operator');
  });

  it('refuses someone in no mapped group, with a readable page and no account', async () => {
    const json = await signIn('bob');
    expect(json.status).toBe(403);
    expect(json.body).toMatchObject({ code: 'forbidden' });
    expect(json.hubJar.cookies.has('farol_session')).toBe(false);
    const page = await signIn('bob', { accept: 'text/html,application/xhtml+xml' });
    expect(page.status).toBe(303);
    expect(page.location).toBe('/?sso_error=refused');
    const users = (await hub.api('GET', '/api/users')).body as { users: Array<{ username: string }> };
    expect(users.users.some((user) => user.username === 'bob')).toBe(false);
    expect((await auditOf('auth.oidc_refused')).some((entry) => entry.actor === 'bob')).toBe(true);
  });

  it('re-derives the role at every sign-in, and a user removed from the group loses access at the next one', async () => {
    const first = await signIn('olga');
    expect((await asSession(first.hubJar, 'GET', '/api/me')).body).toMatchObject({ role: 'operator', scope: null });
    const olgaId = ((await asSession(first.hubJar, 'GET', '/api/me')).body as { id: string }).id;
    // An API token olga made while she was an operator.
    const token = await asSession(first.hubJar, 'POST', '/api/tokens', { name: 'olga cli' });
    expect(token.status, JSON.stringify(token.body)).toBe(201);
    const bearer = (token.body as { token: string }).token;

    provider.people.get('olga')!.groups = ['staging-ops'];
    const narrowed = await signIn('olga');
    expect((await asSession(narrowed.hubJar, 'GET', '/api/me')).body).toMatchObject({ role: 'operator', scope: 'env=staging' });
    const change = (await auditOf('user.update')).find((entry) => entry.details.userId === olgaId);
    expect(change?.details).toMatchObject({ scope: { from: null, to: 'env=staging' }, reason: 'single sign-on claims' });

    provider.people.get('olga')!.groups = ['sales'];
    const removed = await signIn('olga');
    expect(removed.status).toBe(403);
    // Every way in is closed: her sessions ended, her token's owner is disabled.
    expect((await asSession(first.hubJar, 'GET', '/api/me')).status).toBe(401);
    expect((await asSession(narrowed.hubJar, 'GET', '/api/me')).status).toBe(401);
    expect((await hub.api('GET', '/api/me', undefined, bearer)).status).toBe(401);
    const refused = (await auditOf('auth.oidc_refused')).find((entry) => entry.actor === 'olga');
    expect(refused?.details).toMatchObject({ userId: olgaId, disabled: true });

    // Back in a group: the claims enable the account again, with the new role.
    provider.people.get('olga')!.groups = ['ops'];
    const back = await signIn('olga');
    expect(back.status).toBe(303);
    expect((await asSession(back.hubJar, 'GET', '/api/me')).body).toMatchObject({ role: 'operator', scope: null });
  });

  it('keeps an account an admin disabled disabled, whatever the claims say', async () => {
    await signIn('sam');
    const users = (await hub.api('GET', '/api/users')).body as { users: Array<{ id: string; username: string }> };
    const sam = users.users.find((user) => user.username === 'sam')!;
    expect((await hub.api('PATCH', `/api/users/${sam.id}`, { disabled: true })).status).toBe(200);
    const refused = await signIn('sam', { accept: 'text/html' });
    expect(refused.location).toBe('/?sso_error=disabled');
    expect((await hub.api('PATCH', `/api/users/${sam.id}`, { disabled: false })).status).toBe(200);
    expect((await signIn('sam')).status).toBe(303);
  });

  describe('a tampered ID token is refused through the real callback', () => {
    const refusals = ['signature', 'unknown-key', 'groups-unsigned', 'audience', 'nonce', 'issuer', 'expired'] as const;
    it.each(refusals)('%s', async (tamper) => {
      provider.tamper = tamper;
      try {
        const result = await signIn('alice');
        expect(result.status).toBe(401);
        expect(result.body).toMatchObject({ code: 'unauthorized' });
        expect(result.hubJar.cookies.has('farol_session')).toBe(false);
        const page = await signIn('alice', { accept: 'text/html' });
        expect(page.location).toBe('/?sso_error=failed');
      } finally {
        provider.tamper = null;
      }
    });

    it('accepts the same token re-signed with a published key (the harness changes only what each case names)', async () => {
      provider.tamper = 'resigned';
      try {
        const result = await signIn('alice');
        expect(result.status).toBe(303);
        expect((await asSession(result.hubJar, 'GET', '/api/me')).body).toMatchObject({ name: 'alice', role: 'admin' });
      } finally {
        provider.tamper = null;
      }
    });
  });

  it('reads the role claim from userinfo when the ID token does not carry it', async () => {
    provider.tamper = 'groups-only-in-userinfo';
    try {
      const result = await signIn('sam');
      expect(result.status).toBe(303);
      expect((await asSession(result.hubJar, 'GET', '/api/me')).body).toMatchObject({ name: 'sam', role: 'operator', scope: 'env=staging' });
    } finally {
      provider.tamper = null;
    }
  });

  it('refuses a replayed callback and one from another browser', async () => {
    const first = await signIn('alice');
    expect(first.status).toBe(303);
    // The same code and state again, with the flow cookie the first answer cleared: nothing to match.
    const replay = await fetch(first.callback, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ code: 'bad_request' });
    // The login's flow cookie, but someone else's code and state (a login CSRF): refused.
    const victim = new CookieJar();
    victim.take(await fetch(`${hub.url}/api/auth/oidc/login`, { redirect: 'manual' }));
    const attacker = await fetch(`${hub.url}/api/auth/oidc/login`, { redirect: 'manual' });
    const attackerCallback = await passProviderPages(attacker.headers.get('location')!, 'alice', new CookieJar());
    const forced = await fetch(attackerCallback, { redirect: 'manual', headers: { cookie: victim.header(), accept: 'application/json' } });
    expect(forced.status).toBe(401);
    expect(forced.headers.getSetCookie().some((line) => line.startsWith('farol_session='))).toBe(false);
  });

  it('answers junk on the public routes with problems that say nothing about accounts', async () => {
    for (const query of ['', '?code=x&state=y', '?error=access_denied&error_description=%3Cscript%3E', `?${'a'.repeat(5000)}=1`]) {
      const response = await fetch(`${hub.url}/api/auth/oidc/callback${query}`, { redirect: 'manual', headers: { accept: 'application/json' } });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      const text = await response.text();
      expect(text).not.toMatch(/alice|admin|usr_|<script>/);
    }
    const page = await fetch(`${hub.url}/api/auth/oidc/callback?error=access_denied&error_description=%3Cscript%3E`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/?sso_error=expired');
    // A step-up without a (live) session: the sign-in page for a browser, 401 otherwise.
    const noSession = await fetch(`${hub.url}/api/auth/oidc/login?stepUp=true`, { redirect: 'manual', headers: { accept: 'text/html', cookie: 'farol_session=ses_gone.secret' } });
    expect(noSession.status).toBe(303);
    expect(noSession.headers.get('location')).toBe('/?sso_error=expired');
    expect((await fetch(`${hub.url}/api/auth/oidc/login?stepUp=true`, { redirect: 'manual' })).status).toBe(401);
    // Only paths on this hub are returned to.
    for (const returnTo of ['https://evil.example/', '//evil.example/x', '/\\evil.example']) {
      const result = await fetch(`${hub.url}/api/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`, { redirect: 'manual' });
      const jar = new CookieJar();
      jar.take(result);
      const callback = await passProviderPages(result.headers.get('location')!, 'alice', providerJars.get('alice')!);
      const done = await fetch(callback, { redirect: 'manual', headers: { cookie: jar.header() } });
      expect(done.headers.get('location')).toBe('/');
    }
  });

  it('refuses password sign-in when local sign-in is off; the admin token still works', async () => {
    const login = await hub.api('POST', '/api/auth/login', { username: 'admin', password: 'whatever it is' }, null);
    expect(login.status).toBe(403);
    expect(login.body).toMatchObject({ code: 'password_signin_off' });
    expect((await hub.api('GET', '/api/me')).body).toMatchObject({ name: 'admin', via: 'token' });
  });

  it('asks a single sign-on user for a fresh sign-in at the provider before a shell command or a terminal', async () => {
    const machine = await enrollPeer(hub.url, await hub.createJoinToken(), 'sso-target');
    const session = await signIn('alice', { freshProvider: true });
    const shell = { command: { kind: 'shell', shell: true, script: 'true' }, targets: { agents: [machine.agentId] } };
    // The sign-in itself was a fresh authentication: allowed at once (the machine is offline; the job is queued).
    const fresh = await asSession(session.hubJar, 'POST', '/api/jobs', shell);
    expect(fresh.status, JSON.stringify(fresh.body)).toBeLessThan(300);
    // Past FAROL_MFA_MAX_AGE (3 s), and past the 5 s a step-up's auth_time may lag its start.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const stale = await asSession(session.hubJar, 'POST', '/api/jobs', shell);
    expect(stale.status).toBe(403);
    expect(stale.body).toMatchObject({ code: 'mfa_required' });
    expect(String(stale.body.detail ?? stale.body.message)).toMatch(/single sign-on provider/);
    // The terminal asks the same (over /ui, checked per event).
    expect(await terminalOpen(session.hubJar, machine.agentId)).toBe('mfa_required');

    // A step-up the provider did not re-authenticate (a man in the middle dropped prompt and max_age): refused.
    provider.tamper = 'no-reauth';
    try {
      const lazy = await signIn('alice', { hubJar: session.hubJar, stepUp: true });
      expect(lazy.status).toBe(401);
      expect(provider.authorizationRequests.at(-1)!.searchParams.get('prompt')).toBeNull();
    } finally {
      provider.tamper = null;
    }
    expect((await asSession(session.hubJar, 'POST', '/api/jobs', shell)).status).toBe(403);

    // The real step-up: prompt=login and max_age=0 make the provider ask again; then it is allowed.
    const stepUp = await signIn('alice', { hubJar: session.hubJar, stepUp: true });
    expect(stepUp.status).toBe(303);
    expect(stepUp.location).toBe('/machines');
    const asked = provider.authorizationRequests.at(-1)!;
    expect(asked.searchParams.get('prompt')).toBe('login');
    expect(asked.searchParams.get('max_age')).toBe('0');
    expect((await asSession(session.hubJar, 'POST', '/api/jobs', shell)).status).toBeLessThan(300);
    // Past the step-up, the terminal is refused only because the machine is not connected.
    expect(await terminalOpen(session.hubJar, machine.agentId)).toBe('agent_offline');
    expect((await auditOf('auth.oidc_step_up')).some((entry) => entry.actor === 'alice')).toBe(true);

    // Another person's provider sign-in cannot step up alice's session.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const other = await signIn('sam', { hubJar: session.hubJar, stepUp: true, freshProvider: true });
    expect(other.status).toBe(403);
    expect((await asSession(session.hubJar, 'POST', '/api/jobs', shell)).status).toBe(403);
  }, 30_000);
});

describe('single sign-on configuration at start (issue #20)', () => {
  it('does not start with a mapping that names a role the hub does not have, and says which', async () => {
    const start = startHubFixture({
      FAROL_PUBLIC_URL: 'http://127.0.0.1:1',
      FAROL_OIDC_ISSUER: provider.issuer,
      FAROL_OIDC_CLIENT_ID: provider.clientId,
      FAROL_OIDC_ROLE_MAP: '- match: farol-admins\n  role: admin\n- match: auditors\n  role: auditor\n',
    });
    await expect(start).rejects.toThrow(/FAROL_OIDC_ROLE_MAP \[1\.role\]: no role auditor/);
  });
});
