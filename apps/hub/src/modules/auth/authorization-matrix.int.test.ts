import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { BUILTIN_ROLES, UI_NAMESPACE, uiToHubEvents, type Permission } from '@farol/protocol';
import { enrollPeer } from '../../testing/protocol-peer.js';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';
import { installHttpErrorHandling } from '../../infra/http-errors.js';
import { createLogger } from '../../infra/logger.js';
import { authorizeRequests } from './auth.hook.js';
import { ROUTE_ACCESS, UI_EVENT_ACCESS, type Access } from './permissions.js';

/**
 * Issue #6: the authorization matrix, generated from the permission table. Every role × every
 * REST route and /ui event × a machine inside and outside the role's scope, asserted cell by
 * cell: allowed → neither 401 nor 403; denied → 403 problem `forbidden`.
 */

interface Persona {
  username: string;
  role: string;
  scope: string | null;
  permissions: readonly Permission[];
  token: string;
}

const CUSTOM_ROLE = { name: 'auditor', permissions: ['audit:read', 'nodes:read'] as Permission[] };
const PASSWORD = 'correct horse battery staple';

let hub: HubFixture;
let personas: Persona[];
const agentsByEnv: Record<'staging' | 'prod', string[]> = { staging: [], prod: [] };
let joinTokens: Record<'staging' | 'prod', string>;

async function enrollIn(env: 'staging' | 'prod', n: number): Promise<void> {
  const peer = await enrollPeer(hub.url, joinTokens[env], `${env}-${n}`);
  agentsByEnv[env].push(peer.agentId);
}

beforeAll(async () => {
  hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '1000' });
  joinTokens = {
    staging: await hub.createJoinToken({ labels: { env: 'staging' }, uses: 100 }),
    prod: await hub.createJoinToken({ labels: { env: 'prod' }, uses: 100 }),
  };
  await enrollIn('staging', 0);
  await enrollIn('prod', 0);
  expect((await hub.api('POST', '/api/roles', CUSTOM_ROLE)).status).toBe(201);
  const wanted = [
    { username: 'vera', role: 'viewer', scope: null },
    { username: 'otto', role: 'operator', scope: null },
    { username: 'stan', role: 'operator', scope: 'env=staging' },
    { username: 'sven', role: 'viewer', scope: 'env=staging' },
    { username: 'ada', role: 'admin', scope: null },
    { username: 'aud', role: CUSTOM_ROLE.name, scope: null },
  ];
  personas = [];
  for (const user of wanted) {
    const created = await hub.api('POST', '/api/users', { username: user.username, password: PASSWORD, role: user.role, ...(user.scope ? { scope: user.scope } : {}) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const login = await hub.api('POST', '/api/auth/login', { username: user.username, password: PASSWORD, issue: 'token' }, null);
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const permissions = user.role === CUSTOM_ROLE.name ? CUSTOM_ROLE.permissions : BUILTIN_ROLES[user.role as keyof typeof BUILTIN_ROLES];
    personas.push({ ...user, permissions, token: (login.body as { token: { token: string } }).token.token });
  }
}, 60_000);

afterAll(async () => {
  await hub?.stop();
});

function expectedAllowed(persona: Persona, access: Access, targetEnv: 'staging' | 'prod' | null): boolean {
  if (access.kind !== 'permission') return true;
  if (!persona.permissions.includes(access.permission)) return false;
  if (access.target && persona.scope !== null && targetEnv !== null) return persona.scope === `env=${targetEnv}`;
  return true;
}

interface Cell {
  persona: Persona;
  method: string;
  path: string;
  access: Access;
  targetEnv: 'staging' | 'prod' | null;
}

/** Every non-public route of the table, with `:id` filled by a machine when the route targets one. */
function routeCells(): Cell[] {
  const cells: Cell[] = [];
  for (const [key, access] of Object.entries(ROUTE_ACCESS)) {
    if (access.kind === 'public') continue;
    const [method, path] = key.split(' ') as [string, string];
    const targetParam = access.kind === 'permission' && access.target && 'param' in access.target ? access.target.param : null;
    for (const persona of personas) {
      for (const targetEnv of targetParam ? (['staging', 'prod'] as const) : [null]) {
        cells.push({ persona, method, path: path.replaceAll(/:([A-Za-z]+)/g, (_m, name: string) => (name === targetParam ? `{${targetEnv}}` : 'zz-nothing-here')), access, targetEnv });
      }
    }
  }
  // Destructive cells last, so the machines of the other cells still exist.
  return cells.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
}

describe('authorization matrix from the permission table', () => {
  it('answers every role × route × in/out-of-scope cell as the table says', async () => {
    const failures: string[] = [];
    let checked = 0;
    let counter = 1;
    for (const cell of routeCells()) {
      let path = cell.path;
      if (cell.targetEnv) {
        // A destructive call gets a machine of its own, so it cannot take another cell's away.
        if (cell.method === 'DELETE') await enrollIn(cell.targetEnv, counter++);
        path = path.replace(`{${cell.targetEnv}}`, agentsByEnv[cell.targetEnv].at(-1)!);
      }
      const body = ['POST', 'PUT', 'PATCH'].includes(cell.method) ? {} : undefined;
      const response = await hub.api(cell.method, `${path}${cell.method === 'POST' && path.includes('/api/agents/') ? '?wait=false' : ''}`, body, cell.persona.token);
      const allowed = expectedAllowed(cell.persona, cell.access, cell.targetEnv);
      const code = (response.body as { code?: string } | null)?.code;
      const where = `${cell.persona.username} (${cell.persona.role}${cell.persona.scope ? ` ${cell.persona.scope}` : ''}) ${cell.method} ${path} [${cell.targetEnv ?? '-'}]`;
      if (allowed && (response.status === 401 || response.status === 403)) failures.push(`${where}: expected allowed, got ${response.status} ${code}`);
      if (!allowed && (response.status !== 403 || code !== 'forbidden')) failures.push(`${where}: expected 403 forbidden, got ${response.status} ${code}`);
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
        for (const [event, access] of Object.entries(UI_EVENT_ACCESS)) {
          const field = access.kind === 'permission' && access.target && 'field' in access.target ? access.target.field : null;
          for (const targetEnv of field ? (['staging', 'prod'] as const) : [null]) {
            const payload = field && targetEnv ? { [field]: agentsByEnv[targetEnv][0], cols: 80, rows: 24 } : {};
            let answer: { ok: boolean; error?: { code: string } } | 'no answer';
            try {
              answer = (await socket.timeout(4_000).emitWithAck(event, payload)) as { ok: boolean; error?: { code: string } };
            } catch {
              answer = 'no answer'; // only acceptable for allowed cells (e.g. a terminal on an offline machine)
            }
            const allowed = expectedAllowed(persona, access, targetEnv);
            const code = answer === 'no answer' ? 'no answer' : answer.ok ? 'ok' : answer.error?.code;
            const where = `${persona.username} (${persona.role}${persona.scope ? ` ${persona.scope}` : ''}) ${event} [${targetEnv ?? '-'}]`;
            if (allowed && (code === 'forbidden' || code === 'unauthorized')) failures.push(`${where}: expected allowed, got ${code}`);
            if (!allowed && code !== 'forbidden') failures.push(`${where}: expected forbidden, got ${code}`);
          }
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
