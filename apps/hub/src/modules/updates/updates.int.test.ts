import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditList, Rollout } from '@farol/protocol';
import { enrollPeer } from '../../testing/protocol-peer.js';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';

// Issue #15: who may update which machines, and what a rollout records, against a real hub
// (SQLite, HTTP) with protocol peers as machines.

const PASSWORD = 'correct horse battery staple';
let hub: HubFixture;
const tokens: Record<string, string> = {};
// A build of another version, so the test does not depend on the agent bundle being built.
const updatesDir = mkdtempSync(path.join(tmpdir(), 'farol-updates-'));
const V = '0.2.0';

beforeAll(async () => {
  writeFileSync(path.join(updatesDir, `farol-agent-${V}.mjs`), 'console.log("0.2.0");\n');
  hub = await startHubFixture({ FAROL_AGENT_UPDATES_DIR: updatesDir });
  for (const env of ['staging', 'prod'] as const) await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env } }), `${env}-1`);
  for (const user of [
    { username: 'stan', role: 'operator', scope: 'env=staging' },
    { username: 'vera', role: 'viewer' },
  ]) {
    expect((await hub.api('POST', '/api/users', { ...user, password: PASSWORD })).status).toBe(201);
    const login = await hub.api('POST', '/api/auth/login', { username: user.username, password: PASSWORD, issue: 'token' }, null);
    tokens[user.username] = (login.body as { token: { token: string } }).token.token;
  }
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  rmSync(updatesDir, { recursive: true, force: true });
});

describe('agent update rollouts on the hub (#15)', () => {
  it('lets a scoped operator update only machines in its scope', async () => {
    const everywhere = await hub.api('POST', '/api/agent-updates', { targets: { all: true }, version: V }, tokens.stan);
    expect(everywhere.status).toBe(403);
    expect(JSON.stringify(everywhere.body)).toContain('does not reach 1 of these machines');
    const inScope = await hub.api('POST', '/api/agent-updates', { targets: { selector: 'env=staging' }, version: V }, tokens.stan);
    expect(inScope.status).toBe(201);
    expect((inScope.body as Rollout).targets.map((t) => t.agentName)).toEqual(['staging-1']);
    expect((inScope.body as Rollout).createdBy).toBe('stan');
  });

  it('refuses viewers, and hides a rollout that reaches outside a reader\'s scope', async () => {
    expect((await hub.api('POST', '/api/agent-updates', { targets: { all: true }, version: V }, tokens.vera)).status).toBe(403);
    const fleetWide = await hub.api('POST', '/api/agent-updates', { targets: { all: true }, version: V });
    expect(fleetWide.status).toBe(201);
    const id = (fleetWide.body as Rollout).id;
    expect((await hub.api('GET', `/api/agent-updates/${id}`)).status).toBe(200);
    expect((await hub.api('GET', `/api/agent-updates/${id}`, undefined, tokens.stan)).status).toBe(404);
  });

  it('says where to put a build the hub does not have', async () => {
    const missing = await hub.api('POST', '/api/agent-updates', { targets: { all: true }, version: '9.9.9' });
    expect(missing.status).toBe(404);
    expect(JSON.stringify(missing.body)).toContain('FAROL_AGENT_UPDATES_DIR');
    expect((await hub.api('POST', '/api/agent-updates', { targets: { all: true }, version: 'not a version' })).status).toBe(400);
  });

  it('audits the request and the first wave, sent to one machine only', async () => {
    const { body } = await hub.api('POST', '/api/agent-updates', { targets: { all: true }, version: V, wavePercent: 50 });
    const rollout = body as Rollout;
    expect(rollout.targets.map((t) => [t.wave, t.state])).toEqual([
      [0, 'updating'],
      [1, 'pending'],
    ]);
    const audit = (await hub.api('GET', `/api/audit?limit=50`)).body as AuditList;
    const mine = audit.entries.filter((entry) => (entry.details as { rollout?: string }).rollout === rollout.id).map((entry) => entry.action);
    expect(mine.sort()).toEqual(['agent_update.request', 'agent_update.wave']);
  });
});
