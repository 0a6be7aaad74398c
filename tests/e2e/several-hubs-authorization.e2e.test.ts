import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_NAMESPACE } from '@farol/protocol';
import { enrollPeer } from '../../apps/hub/src/testing/protocol-peer.js';
import {
  CUSTOM_ROLE,
  MATRIX_PASSWORD,
  PERSONA_SPECS,
  cellRequest,
  judgeRouteCell,
  judgeUiCell,
  permissionsOf,
  personaLabel,
  routeCells,
  uiAnswerCode,
  uiCells,
  uiPayload,
  type Env,
  type Persona,
  type UiAnswer,
} from '../../apps/hub/src/testing/authorization-matrix.js';
import { ADMIN_TOKEN, joinToken } from './support/processes.js';
import { severalHubsSkipReason, startSeveralHubs, type SeveralHubs } from './support/several-hubs.js';

/*
 * Issue #14: the authorization matrix of issue #6 (apps/hub/src/testing/authorization-matrix.ts,
 * the same table and personas as the one-hub test) against three real hubs on one PostgreSQL and
 * one Redis. Users, roles, tokens and machines are made on different hubs; every REST route and
 * /ui event × persona × machine inside and outside the persona's scope is asked of each of the
 * three hubs: each answer is what the table says, and the three answers are the same.
 */

if (severalHubsSkipReason) console.warn(`several-hubs-authorization: skipped: ${severalHubsSkipReason}`);

const HUBS = ['a', 'b', 'c'] as const;
let fleet: SeveralHubs;
let personas: Persona[];
const machines: Record<Env, string[]> = { staging: [], prod: [] };
let joinTokens: Record<Env, string>;
let enrolled = 0;

async function request(url: string, method: string, path: string, body: unknown, token: string): Promise<{ status: number; code: string | undefined }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  // A problem body's code (a success body may carry a `code` of its own, such as a chat-link code).
  let code: string | undefined;
  if (response.status >= 400) {
    try {
      code = (JSON.parse(text) as { code?: string } | null)?.code;
    } catch {
      code = undefined; // not JSON: the status says it all
    }
  }
  return { status: response.status, code };
}

/** A machine in `env`, enrolled through hub `name`. */
async function enrollIn(env: Env, name: (typeof HUBS)[number]): Promise<string> {
  const peer = await enrollPeer(fleet.hub(name).url, joinTokens[env], `${env}-${name}-${enrolled++}`);
  machines[env].push(peer.agentId);
  return peer.agentId;
}

beforeAll(async () => {
  if (severalHubsSkipReason) return;
  // FAROL_METRICS_PUBLIC=false: GET /metrics is checked like a hub bound beyond loopback (#11).
  fleet = await startSeveralHubs({
    idPrefix: 'authz',
    redisDb: 8,
    start: [...HUBS],
    env: { FAROL_LOGIN_RATE_LIMIT: '1000', FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_METRICS_PUBLIC: 'false' },
  });
  joinTokens = {
    staging: await joinToken(fleet.hub('a').url, { labels: { env: 'staging' }, uses: 100 }),
    prod: await joinToken(fleet.hub('b').url, { labels: { env: 'prod' }, uses: 100 }),
  };
  await enrollIn('staging', 'c');
  await enrollIn('prod', 'a');
  const role = await request(fleet.hub('c').url, 'POST', '/api/roles', CUSTOM_ROLE, ADMIN_TOKEN);
  expect(role.status).toBe(201);
  personas = [];
  // Each user made on one hub and signed in on the next.
  for (const [index, user] of PERSONA_SPECS.entries()) {
    const madeOn = fleet.hub(HUBS[index % 3]!).url;
    const signedInOn = fleet.hub(HUBS[(index + 1) % 3]!).url;
    const created = await request(madeOn, 'POST', '/api/users', { username: user.username, password: MATRIX_PASSWORD, role: user.role, ...(user.scope ? { scope: user.scope } : {}) }, ADMIN_TOKEN);
    expect(created.status, `${user.username}: ${created.code}`).toBe(201);
    const login = await fetch(`${signedInOn}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user.username, password: MATRIX_PASSWORD, issue: 'token' }) });
    expect(login.status).toBe(200);
    personas.push({ ...user, permissions: permissionsOf(user.role), token: ((await login.json()) as { token: { token: string } }).token.token });
  }
}, 240_000);

afterAll(async () => {
  await fleet?.close();
});

describe.skipIf(severalHubsSkipReason !== null)('the authorization matrix on three hubs', () => {
  it('answers every role × route × in/out-of-scope cell as the table says, the same on every hub', async () => {
    const failures: string[] = [];
    const differences: string[] = [];
    let checked = 0;
    const started = Date.now();
    for (const cell of routeCells(personas)) {
      // A destructive call gets a machine of its own on each hub, so it cannot take another's away.
      const targets: Array<string | undefined> = [];
      for (const name of HUBS) targets.push(cell.targetEnv ? (cell.method === 'DELETE' ? await enrollIn(cell.targetEnv, name) : machines[cell.targetEnv][0]) : undefined);
      // The three hubs asked at once.
      const answers = await Promise.all(
        HUBS.map(async (name, i) => {
          const sent = cellRequest(cell, targets[i]);
          const { status, code } = await request(fleet.hub(name).url, sent.method, sent.path, sent.body, cell.persona.token);
          const failure = judgeRouteCell(cell, `${sent.path} on hub ${name}`, status, code);
          if (failure) failures.push(failure);
          checked++;
          return `${status} ${code ?? ''}`.trim();
        }),
      );
      if (new Set(answers).size > 1) differences.push(`${personaLabel(cell.persona)} ${cell.method} ${cell.path} [${cell.targetEnv ?? '-'}]: ${HUBS.map((name, i) => `${name}=${answers[i]}`).join(' ')}`);
    }
    expect(failures).toEqual([]);
    expect(differences).toEqual([]);
    expect(checked).toBeGreaterThan(personas.length * 20 * HUBS.length);
    console.log(`several-hubs-authorization: ${checked} route cells (${checked / HUBS.length} per hub) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 600_000);

  it('answers every role × /ui event × in/out-of-scope cell as the table says, the same on every hub', async () => {
    const failures: string[] = [];
    const differences: string[] = [];
    for (const persona of personas) {
      const answers = new Map<string, string[]>();
      for (const name of HUBS) {
        const socket: Socket = io(`${fleet.hub(name).url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: persona.token } });
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
        try {
          for (const cell of uiCells()) {
            let answer: UiAnswer;
            try {
              answer = (await socket.timeout(4_000).emitWithAck(cell.event, uiPayload(cell, cell.targetEnv ? machines[cell.targetEnv][0] : undefined))) as UiAnswer;
            } catch {
              answer = 'no answer'; // only acceptable for allowed cells (a terminal on a machine that is offline)
            }
            const failure = judgeUiCell(persona, cell, answer);
            if (failure) failures.push(`${failure} on hub ${name}`);
            const key = `${cell.event} [${cell.targetEnv ?? '-'}]`;
            answers.set(key, [...(answers.get(key) ?? []), String(uiAnswerCode(answer))]);
          }
          expect(socket.connected, `${persona.username}'s socket on hub ${name} stays open through refusals`).toBe(true);
        } finally {
          socket.disconnect();
        }
      }
      for (const [key, codes] of answers) if (new Set(codes).size > 1) differences.push(`${personaLabel(persona)} ${key}: ${HUBS.map((name, i) => `${name}=${codes[i]}`).join(' ')}`);
    }
    expect(failures).toEqual([]);
    expect(differences).toEqual([]);
  }, 300_000);
});
