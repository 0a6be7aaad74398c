import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { UI_NAMESPACE, uiToHubEvents, type Permission } from '@farol/protocol';
import { OBJECT_SCOPE_RULES } from './object-scope.js';
import { enrollPeer } from '../../testing/protocol-peer.js';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';
import {
  CUSTOM_ROLE,
  MATRIX_PASSWORD as PASSWORD,
  PERSONA_SPECS,
  cellRequest,
  judgeRouteCell,
  judgeUiCell,
  permissionsOf,
  routeCells,
  uiCells,
  uiPayload,
  type Persona,
  type UiAnswer,
} from '../../testing/authorization-matrix.js';
import { installHttpErrorHandling } from '../../infra/http-errors.js';
import { createLogger } from '../../infra/logger.js';
import { authorizeRequests } from './auth.hook.js';
import { ROUTE_ACCESS, UI_EVENT_ACCESS } from './permissions.js';

/**
 * Issue #6: the authorization matrix, generated from the permission table. Every role × every
 * REST route and /ui event × a machine inside and outside the role's scope, asserted cell by
 * cell: allowed → neither 401 nor 403; denied → 403 problem `forbidden`.
 */

let hub: HubFixture;
let personas: Persona[];
const agentsByEnv: Record<'staging' | 'prod', string[]> = { staging: [], prod: [] };
let joinTokens: Record<'staging' | 'prod', string>;

async function enrollIn(env: 'staging' | 'prod', n: number): Promise<void> {
  const peer = await enrollPeer(hub.url, joinTokens[env], `${env}-${n}`);
  agentsByEnv[env].push(peer.agentId);
}

beforeAll(async () => {
  // FAROL_METRICS_PUBLIC=false: GET /metrics is checked like a hub bound beyond loopback (#11).
  hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '1000', FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_METRICS_PUBLIC: 'false' });
  joinTokens = {
    staging: await hub.createJoinToken({ labels: { env: 'staging' }, uses: 100 }),
    prod: await hub.createJoinToken({ labels: { env: 'prod' }, uses: 100 }),
  };
  await enrollIn('staging', 0);
  await enrollIn('prod', 0);
  expect((await hub.api('POST', '/api/roles', CUSTOM_ROLE)).status).toBe(201);
  personas = [];
  for (const user of PERSONA_SPECS) {
    const created = await hub.api('POST', '/api/users', { username: user.username, password: PASSWORD, role: user.role, ...(user.scope ? { scope: user.scope } : {}) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const login = await hub.api('POST', '/api/auth/login', { username: user.username, password: PASSWORD, issue: 'token' }, null);
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    personas.push({ ...user, permissions: permissionsOf(user.role), token: (login.body as { token: { token: string } }).token.token });
  }
}, 60_000);

afterAll(async () => {
  await hub?.stop();
});

describe('authorization matrix from the permission table', () => {
  it('answers every role × route × in/out-of-scope cell as the table says', async () => {
    const failures: string[] = [];
    let checked = 0;
    let counter = 1;
    for (const cell of routeCells(personas)) {
      // A destructive call gets a machine of its own, so it cannot take another cell's away.
      if (cell.targetEnv && cell.method === 'DELETE') await enrollIn(cell.targetEnv, counter++);
      const request = cellRequest(cell, cell.targetEnv ? agentsByEnv[cell.targetEnv].at(-1)! : undefined);
      const response = await hub.api(request.method, request.path, request.body, cell.persona.token);
      const failure = judgeRouteCell(cell, request.path.replace(/\?wait=false$/, ''), response.status, (response.body as { code?: string } | null)?.code);
      if (failure) failures.push(failure);
      checked++;
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(personas.length * 20);
  }, 120_000);

  it('answers every role × /ui event × in/out-of-scope cell as the table says', async () => {
    const failures: string[] = [];
    for (const persona of personas) {
      const socket: Socket = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token: persona.token } });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      try {
        for (const cell of uiCells()) {
          let answer: UiAnswer;
          try {
            answer = (await socket.timeout(4_000).emitWithAck(cell.event, uiPayload(cell, cell.targetEnv ? agentsByEnv[cell.targetEnv][0] : undefined))) as UiAnswer;
          } catch {
            answer = 'no answer'; // only acceptable for allowed cells (e.g. a terminal on an offline machine)
          }
          const failure = judgeUiCell(persona, cell, answer);
          if (failure) failures.push(failure);
        }
        expect(socket.connected, `${persona.username}'s socket stays open through refusals`).toBe(true);
      } finally {
        socket.disconnect();
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('has every registered route and every /ui event in the permission table', () => {
    const unmapped = hub.routes
      .map((route) => route.replace(/^HEAD /, 'GET '))
      .filter((route) => !Object.hasOwn(ROUTE_ACCESS, route));
    expect([...new Set(unmapped)], 'routes missing from ROUTE_ACCESS (apps/hub/src/modules/auth/permissions.ts)').toEqual([]);
    // And no line for a route that no longer exists: the table says what the hub really serves.
    const registered = new Set(hub.routes.map((route) => route.replace(/^HEAD /, 'GET ')));
    expect(Object.keys(ROUTE_ACCESS).filter((route) => !registered.has(route)), 'stale lines in ROUTE_ACCESS').toEqual([]);
    const unmappedEvents = Object.keys(uiToHubEvents).filter((event) => !Object.hasOwn(UI_EVENT_ACCESS, event));
    expect(unmappedEvents, 'events missing from UI_EVENT_ACCESS').toEqual([]);
  });

  it('answers the public single sign-on routes alike for anyone, saying nothing about accounts (#20)', async () => {
    // This hub has no single sign-on: the routes exist (so the table holds them) and answer 404.
    // oidc.int.test.ts runs them against a real provider, tampered answers included.
    const askers = [null, undefined, ...personas.map((p) => p.token)];
    for (const [route, expected] of [
      ['/api/auth/methods', { status: 200, body: { password: true, oidc: null } }],
      ['/api/auth/oidc/login', { status: 404, body: { code: 'not_found', detail: 'single sign-on is not configured on this hub (FAROL_OIDC_ISSUER)' } }],
      ['/api/auth/oidc/login?stepUp=true', { status: 404, body: { code: 'not_found', detail: 'single sign-on is not configured on this hub (FAROL_OIDC_ISSUER)' } }],
      ['/api/auth/oidc/callback?code=x&state=y', { status: 404, body: { code: 'not_found', detail: 'single sign-on is not configured on this hub (FAROL_OIDC_ISSUER)' } }],
    ] as const) {
      expect(ROUTE_ACCESS[`GET ${route.split('?')[0]}`]).toEqual({ kind: 'public' });
      for (const asker of askers) {
        const answer = await hub.api('GET', route, undefined, asker);
        expect({ status: answer.status, body: answer.body }, `${route} as ${asker === null ? 'nobody' : asker === undefined ? 'the admin' : 'a persona'}`).toMatchObject(expected);
      }
    }
  });

  it('serves a public status page alike to anyone, signed in or not (#19)', async () => {
    const check = (await hub.api('POST', '/api/checks', { name: 'public page check', probe: { kind: 'tcp', host: '127.0.0.1', port: 9 }, enabled: false })).body as { id: string };
    expect((await hub.api('POST', '/api/status-pages', { slug: 'matrix', title: 'Status', checks: [{ check: check.id, name: 'Service' }] })).status).toBe(201);
    expect(ROUTE_ACCESS['GET /status/:slug']).toEqual({ kind: 'public' });
    const pages = new Set<string>();
    for (const asker of [null, undefined, ...personas.map((p) => p.token)]) {
      const answer = await hub.api('GET', '/status/matrix', undefined, asker);
      expect(answer.status).toBe(200);
      pages.add(answer.body as string);
      expect((await hub.api('GET', '/status/zz-nothing-here', undefined, asker)).status).toBe(404);
    }
    expect(pages.size).toBe(1);
  });

  it('refuses a route missing from the table, whoever asks', async () => {
    const app = Fastify();
    installHttpErrorHandling(app, createLogger('silent'));
    // Neither accounts nor the authorizer is reached: the table lookup comes first.
    app.addHook('onRequest', authorizeRequests({ accounts: undefined as never, authorizer: undefined as never }));
    app.get('/api/not-in-the-table', async () => ({ secret: 'leaked' }));
    const response = await app.inject({ method: 'GET', url: '/api/not-in-the-table', headers: { authorization: `Bearer ${hub.adminToken}` } });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'forbidden' });
    await app.close();
  });
});

/**
 * Issue #11: every object kind × every persona × an object inside and outside the scope
 * env=staging (or one that concerns the whole fleet). Each cell prepares its own object as the
 * admin, then the persona acts on it. Allowed: the persona holds the permission and the object
 * lies within their scope (object-scope.ts); otherwise 403 `forbidden`. A list answers 200 and
 * holds the object exactly when the persona may see it.
 */
type Where = 'staging' | 'prod' | 'fleet';
interface ObjectCell {
  kind: keyof typeof OBJECT_SCOPE_RULES;
  op: string;
  permission: Permission;
  /** `fleet`: concerns every machine; `in` overrides for objects every scope may read (channels). */
  where: readonly Where[];
  readableByAll?: boolean;
  /** Runs as the persona against a fresh object made for this cell; `listed` for list cells. */
  run(persona: Persona, where: Where): Promise<{ status: number; body: unknown; listed?: boolean }>;
}

let unique = 0;
const next = (prefix: string): string => `${prefix}${++unique}`;
const admin = (method: string, route: string, body?: unknown) => hub.api(method, route, body, undefined);
async function made<T>(method: string, route: string, body: unknown): Promise<T> {
  const answer = await admin(method, route, body);
  expect(answer.status, `${method} ${route}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer.body as T;
}
const machineOf = (where: Where): string => agentsByEnv[where === 'prod' ? 'prod' : 'staging'][0]!;
const selectorOf = (where: Where): string | undefined => (where === 'fleet' ? undefined : `env=${where}`);
const secretScopeOf = (where: Where): string => (where === 'fleet' ? '*' : `env=${where}`);
const metricsJob = { command: { kind: 'metrics' } };

const OBJECT_CELLS: ObjectCell[] = [
  { kind: 'machine', op: 'read', permission: 'nodes:read', where: ['staging', 'prod'], run: (p, w) => hub.api('GET', `/api/agents/${machineOf(w)}`, undefined, p.token) },
  { kind: 'machine', op: 'relabel (labels kept in its env)', permission: 'nodes:write', where: ['staging', 'prod'], run: (p, w) => hub.api('PATCH', `/api/agents/${machineOf(w)}`, { labels: { env: w, touched: p.username } }, p.token) },
  { kind: 'machine', op: 'list', permission: 'nodes:read', where: ['staging', 'prod'], run: async (p, w) => {
    const answer = await hub.api('GET', '/api/agents', undefined, p.token);
    return { ...answer, listed: (answer.body as { agents?: Array<{ id: string }> }).agents?.some((a) => a.id === machineOf(w)) };
  } },
  { kind: 'job', op: 'create', permission: 'commands:exec', where: ['staging', 'prod', 'fleet'], run: (p, w) => hub.api('POST', '/api/jobs', { ...metricsJob, targets: w === 'fleet' ? { all: true } : { selector: `env=${w}` } }, p.token) },
  { kind: 'job', op: 'read', permission: 'nodes:read', where: ['staging', 'prod', 'fleet'], run: async (p, w) => {
    const job = await made<{ id: string }>('POST', '/api/jobs', { ...metricsJob, targets: w === 'fleet' ? { all: true } : { selector: `env=${w}` } });
    return hub.api('GET', `/api/jobs/${job.id}`, undefined, p.token);
  } },
  { kind: 'job', op: 'cancel', permission: 'commands:exec', where: ['staging', 'prod'], run: async (p, w) => {
    const job = await made<{ id: string }>('POST', '/api/jobs', { ...metricsJob, targets: { selector: `env=${w}` } });
    return hub.api('POST', `/api/jobs/${job.id}/cancel`, undefined, p.token);
  } },
  ...(['read', 'reveal', 'replace', 'delete', 'list'] as const).map((op): ObjectCell => ({
    kind: 'secret',
    op,
    permission: op === 'replace' || op === 'delete' ? 'secrets:write' : 'secrets:read',
    where: ['staging', 'prod', 'fleet'],
    run: async (p, w) => {
      const name = next('S_');
      await made('PUT', `/api/secrets/${name}`, { value: `value-of-${name}`, scope: secretScopeOf(w) });
      if (op === 'list') {
        const answer = await hub.api('GET', '/api/secrets', undefined, p.token);
        return { ...answer, listed: (answer.body as { secrets?: Array<{ name: string }> }).secrets?.some((x) => x.name === name) };
      }
      if (op === 'read') return hub.api('GET', `/api/secrets/${name}`, undefined, p.token);
      if (op === 'reveal') return hub.api('POST', `/api/secrets/${name}/reveal`, undefined, p.token);
      if (op === 'replace') return hub.api('PUT', `/api/secrets/${name}`, { value: 'replaced', scope: secretScopeOf(w) }, p.token);
      return hub.api('DELETE', `/api/secrets/${name}`, undefined, p.token);
    },
  })),
  { kind: 'secret use', op: 'command asking for it', permission: 'commands:exec', where: ['staging', 'prod', 'fleet'], run: async (p, w) => {
    const name = next('U_');
    // The machine is in staging (in every persona's reach) and every secret here matches it: only
    // whether the secret's scope lies within the persona's differs ([prod]: env!=prod, wider than env=staging).
    await made('PUT', `/api/secrets/${name}`, { value: `value-of-${name}`, scope: w === 'prod' ? 'env!=prod' : secretScopeOf(w) });
    return hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['true'], secrets: [name] }, targets: { agents: [machineOf('staging')] } }, p.token);
  } },
  { kind: 'join token', op: 'create', permission: 'join-tokens:manage', where: ['staging', 'prod', 'fleet'], run: (p, w) => hub.api('POST', '/api/join-tokens', w === 'fleet' ? {} : { labels: { env: w } }, p.token) },
  ...(['revoke', 'list'] as const).map((op): ObjectCell => ({
    kind: 'join token',
    op,
    permission: 'join-tokens:manage',
    where: ['staging', 'prod', 'fleet'],
    run: async (p, w) => {
      const token = await made<{ id: string }>('POST', '/api/join-tokens', w === 'fleet' ? {} : { labels: { env: w } });
      if (op === 'revoke') return hub.api('DELETE', `/api/join-tokens/${token.id}`, undefined, p.token);
      const answer = await hub.api('GET', '/api/join-tokens', undefined, p.token);
      return { ...answer, listed: (answer.body as { tokens?: Array<{ id: string }> }).tokens?.some((t) => t.id === token.id) };
    },
  })),
  { kind: 'alert rule', op: 'create', permission: 'alerts:manage', where: ['staging', 'prod', 'fleet'], run: (p, w) => hub.api('POST', '/api/alert-rules', { name: next('rule '), condition: { kind: 'metric', metric: 'cpu', threshold: 99, for: '0s' }, scope: w === 'fleet' ? { all: true } : { selector: `env=${w}` } }, p.token) },
  ...(['disable', 'delete'] as const).map((op): ObjectCell => ({
    kind: 'alert rule',
    op,
    permission: 'alerts:manage',
    where: ['staging', 'prod', 'fleet'],
    run: async (p, w) => {
      const rule = await made<{ id: string }>('POST', '/api/alert-rules', { name: next('rule '), condition: { kind: 'metric', metric: 'cpu', threshold: 99, for: '0s' }, scope: w === 'fleet' ? { all: true } : { selector: `env=${w}` } });
      return op === 'disable' ? hub.api('PATCH', `/api/alert-rules/${rule.id}`, { enabled: false }, p.token) : hub.api('DELETE', `/api/alert-rules/${rule.id}`, undefined, p.token);
    },
  })),
  { kind: 'silence', op: 'create on a machine', permission: 'alerts:manage', where: ['staging', 'prod'], run: (p, w) => hub.api('POST', '/api/silences', { matcher: { agents: [machineOf(w)] }, duration: '1h', reason: 'matrix' }, p.token) },
  ...(['read', 'change', 'delete', 'list'] as const).map((op): ObjectCell => ({
    kind: 'event webhook',
    op,
    permission: 'alerts:manage',
    where: ['staging', 'prod', 'fleet'],
    run: async (p, w) => {
      const name = next('hook-');
      const hook = await made<{ id: string }>('POST', '/api/webhooks', { name, url: 'http://127.0.0.1:9/h', events: ['agent.offline'], selector: w === 'fleet' ? {} : { labels: selectorOf(w) } });
      if (op === 'read') return hub.api('GET', `/api/webhooks/${hook.id}`, undefined, p.token);
      if (op === 'change') return hub.api('PATCH', `/api/webhooks/${hook.id}`, { enabled: false }, p.token);
      if (op === 'delete') return hub.api('DELETE', `/api/webhooks/${hook.id}`, undefined, p.token);
      const answer = await hub.api('GET', '/api/webhooks', undefined, p.token);
      return { ...answer, listed: (answer.body as { webhooks?: Array<{ id: string }> }).webhooks?.some((x) => x.id === hook.id) };
    },
  })),
  { kind: 'notification channel', op: 'list', permission: 'alerts:manage', where: ['fleet'], readableByAll: true, run: (p) => hub.api('GET', '/api/channels', undefined, p.token) },
  { kind: 'notification channel', op: 'create', permission: 'alerts:manage', where: ['fleet'], run: (p) => hub.api('POST', '/api/channels', { name: next('ch-'), type: 'webhook', settings: { url: 'http://127.0.0.1:9/c' } }, p.token) },
  { kind: 'notify outbox', op: 'read', permission: 'alerts:manage', where: ['fleet'], run: (p) => hub.api('GET', '/api/notify/outbox', undefined, p.token) },
  { kind: 'audit entry', op: 'list (a job\'s entry)', permission: 'audit:read', where: ['staging', 'prod', 'fleet'], run: async (p, w) => {
    const job = await made<{ id: string }>('POST', '/api/jobs', { ...metricsJob, targets: w === 'fleet' ? { all: true } : { selector: `env=${w}` } });
    const answer = await hub.api('GET', '/api/audit?action=command.create&limit=1000', undefined, p.token);
    return { ...answer, listed: (answer.body as { entries?: Array<{ jobId: string | null }> }).entries?.some((e) => e.jobId === job.id) };
  } },
  { kind: 'user and role', op: 'list users', permission: 'users:manage', where: ['fleet'], run: (p) => hub.api('GET', '/api/users', undefined, p.token) },
  { kind: 'user and role', op: 'create a role', permission: 'users:manage', where: ['fleet'], run: (p) => hub.api('POST', '/api/roles', { name: next('role-'), permissions: ['nodes:read'] }, p.token) },
  // Service checks (#19): where a check runs decides whose it is; checks the hub runs are fleet-wide.
  { kind: 'service check', op: 'create', permission: 'checks:manage', where: ['staging', 'prod', 'fleet'], run: (p, w) => hub.api('POST', '/api/checks', { name: next('check '), probe: { kind: 'tcp', host: '127.0.0.1', port: 9 }, runOn: w === 'fleet' ? { hub: true } : { selector: `env=${w}` }, enabled: false }, p.token) },
  ...(['read', 'results', 'run', 'delete', 'list'] as const).map((op): ObjectCell => ({
    kind: 'service check',
    op,
    permission: op === 'run' || op === 'delete' ? 'checks:manage' : 'checks:read',
    where: ['staging', 'prod', 'fleet'],
    run: async (p, w) => {
      const check = await made<{ id: string }>('POST', '/api/checks', { name: next('check '), probe: { kind: 'tcp', host: '127.0.0.1', port: 9 }, runOn: w === 'fleet' ? { hub: true } : { selector: `env=${w}` }, enabled: false });
      if (op === 'list') {
        const answer = await hub.api('GET', '/api/checks', undefined, p.token);
        return { ...answer, listed: (answer.body as { checks?: Array<{ id: string }> }).checks?.some((c) => c.id === check.id) };
      }
      if (op === 'read') return hub.api('GET', `/api/checks/${check.id}`, undefined, p.token);
      if (op === 'results') return hub.api('GET', `/api/checks/${check.id}/results`, undefined, p.token);
      if (op === 'run') return hub.api('POST', `/api/checks/${check.id}/run`, undefined, p.token);
      return hub.api('DELETE', `/api/checks/${check.id}`, undefined, p.token);
    },
  })),
  // Public status pages (#19): publishing is fleet-wide; the page itself is public (tested below).
  ...(['create', 'read', 'change', 'delete', 'list'] as const).map((op): ObjectCell => ({
    kind: 'status page',
    op,
    permission: op === 'read' || op === 'list' ? 'checks:read' : 'checks:manage',
    where: ['fleet'],
    run: async (p) => {
      const check = await made<{ id: string }>('POST', '/api/checks', { name: next('check '), probe: { kind: 'tcp', host: '127.0.0.1', port: 9 }, enabled: false });
      const page = { slug: next('page-'), title: 'Status', checks: [{ check: check.id, name: 'Service' }] };
      if (op === 'create') return hub.api('POST', '/api/status-pages', page, p.token);
      await made('POST', '/api/status-pages', page);
      if (op === 'read') return hub.api('GET', `/api/status-pages/${page.slug}`, undefined, p.token);
      if (op === 'change') return hub.api('PUT', `/api/status-pages/${page.slug}`, { ...page, title: 'Changed' }, p.token);
      if (op === 'delete') return hub.api('DELETE', `/api/status-pages/${page.slug}`, undefined, p.token);
      const answer = await hub.api('GET', '/api/status-pages', undefined, p.token);
      return { ...answer, listed: (answer.body as { pages?: Array<{ slug: string }> }).pages?.some((x) => x.slug === page.slug) };
    },
  })),
  // Issue #20: each user's own browsers; which alerts reach them is push.int.test.ts's matter.
  ...(['subscribe', 'list', 'unsubscribe'] as const).map((op): ObjectCell => ({
    kind: 'push subscription',
    op,
    permission: 'nodes:read',
    where: ['fleet'],
    readableByAll: true,
    run: async (p) => {
      const browser = { endpoint: `http://127.0.0.1:9/push/${next('b')}`, keys: { p256dh: Buffer.alloc(65, 4).toString('base64url'), auth: Buffer.alloc(16, 7).toString('base64url') } };
      const created = await hub.api('POST', '/api/push/subscriptions', browser, p.token);
      if (op === 'subscribe' || created.status !== 201) return created;
      const id = (created.body as { id: string }).id;
      if (op === 'unsubscribe') return hub.api('DELETE', `/api/push/subscriptions/${id}`, undefined, p.token);
      const answer = await hub.api('GET', '/api/push/subscriptions', undefined, p.token);
      return { ...answer, listed: (answer.body as { subscriptions?: Array<{ id: string }> }).subscriptions?.some((x) => x.id === id) };
    },
  })),
];

describe('authorization matrix of every object kind (#11)', () => {
  it('answers every object kind × persona × in/out-of-scope cell as object-scope.ts says', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const cell of OBJECT_CELLS) {
      for (const where of cell.where) {
        for (const persona of personas) {
          const inScope = persona.scope === null || cell.readableByAll === true || where === 'staging';
          const mayAct = persona.permissions.includes(cell.permission);
          const answer = await cell.run(persona, where);
          const code = (answer.body as { code?: string } | null)?.code;
          const at = `${persona.username} (${persona.role}${persona.scope ? ` ${persona.scope}` : ''}) ${cell.kind} ${cell.op} [${where}]`;
          if (cell.op.startsWith('list') && answer.listed !== undefined) {
            // Lists are filtered, not refused: 200, holding the object only when it is the persona's to see.
            if (!mayAct) {
              if (answer.status !== 403) failures.push(`${at}: expected 403, got ${answer.status}`);
            } else if (answer.status !== 200 || answer.listed !== inScope) failures.push(`${at}: expected 200 ${inScope ? 'with' : 'without'} it, got ${answer.status} listed=${answer.listed}`);
          } else if (mayAct && inScope) {
            if (answer.status === 401 || answer.status === 403) failures.push(`${at}: expected allowed, got ${answer.status} ${code} ${JSON.stringify(answer.body)}`);
          } else if (answer.status !== 403 || code !== 'forbidden') {
            failures.push(`${at}: expected 403 forbidden, got ${answer.status} ${code}`);
          }
          checked++;
        }
      }
    }
    expect(failures).toEqual([]);
    // Every kind the rules name has cells, except those the /ui matrix and scope.int.test.ts cover
    // (terminals and live views need a connected machine; alerts need a firing one; API tokens
    // need another user's token to exist).
    const covered = new Set(OBJECT_CELLS.map((c) => c.kind));
    const elsewhere = ['terminal session', 'live view (agent:watch)', 'screenshot', 'alert', 'API token'];
    expect(Object.keys(OBJECT_SCOPE_RULES).filter((kind) => !covered.has(kind as ObjectCell['kind']) && !elsewhere.includes(kind))).toEqual([]);
    expect(checked).toBeGreaterThan(personas.length * 40);
  }, 120_000);
});
