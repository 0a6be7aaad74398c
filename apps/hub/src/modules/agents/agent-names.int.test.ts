import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Agent, type AuditList } from '@farol/protocol';
import { startHub } from '../../testing/start-test-hub.js';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';
import { enrollPeer, systemInfo } from '../../testing/protocol-peer.js';
import { isPostgresRun } from '../../testing/postgres-test-db.js';
/** These tests open, damage or copy the SQLite file itself (or test a SQLite-only feature): not on the int-pg run (#13). */
const onPostgres = isPostgresRun();

// Issue #11 (L7): a machine named after another machine's id passed for it in lists and in job
// output. Names given at enrollment or on rename can no longer look like an id.

let hub: HubFixture;
let prodbox: Agent;

beforeAll(async () => {
  hub = await startHubFixture();
  const peer = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env: 'prod' } }), 'prodbox');
  prodbox = (await hub.api('GET', `/api/agents/${peer.agentId}`)).body as Agent;
});

afterAll(async () => {
  await hub?.stop();
});

async function enroll(body: Record<string, unknown>): Promise<{ status: number; body: { name?: string; code?: string } }> {
  const response = await fetch(`${hub.url}/api/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      token: await hub.createJoinToken(),
      publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(42) + String(Math.floor(Math.random() * 10)) },
      system: systemInfo('rogue'),
      protocolVersion: PROTOCOL_VERSION,
      ...body,
    }),
  });
  return { status: response.status, body: (await response.json()) as { name?: string; code?: string } };
}

describe('machine names cannot impersonate (#11)', () => {
  it('refuses to enroll a machine that asks for another machine\'s id, or any id-shaped name, as its name (#11)', async () => {
    for (const name of [prodbox.id, 'ag_0000000000000000', 'AG_abc', 'job_79meznr54h4p26yw', 'usr_x1']) {
      const answer = await enroll({ name });
      expect(answer.status, name).toBe(400);
      expect(answer.body.code, name).toBe('validation_failed');
    }
    expect(((await hub.api('GET', '/api/agents')).body as { agents: Agent[] }).agents.map((a) => a.name)).toEqual(['prodbox']);
  });

  it('gives a machine whose hostname is shaped like an id a safe name instead (#11)', async () => {
    const peer = await enrollPeer(hub.url, await hub.createJoinToken(), prodbox.id);
    expect(peer.name).toBe('machine');
    const agent = (await hub.api('GET', `/api/agents/${peer.agentId}`)).body as Agent;
    expect(agent).toMatchObject({ name: 'machine', hostname: prodbox.id });
    // Looking the real id up still finds the real machine.
    expect(((await hub.api('GET', `/api/agents/${prodbox.id}`)).body as Agent).name).toBe('prodbox');
  });

  it('refuses a rename to another machine\'s id or an id-shaped name with 400 validation_failed (#11)', async () => {
    const peer = await enrollPeer(hub.url, await hub.createJoinToken(), 'web-1');
    for (const name of [prodbox.id, 'ag_iv3youu0dfzf7eor', 'Job_abc123', 'tok_a']) {
      const answer = await hub.api('PATCH', `/api/agents/${peer.agentId}`, { name });
      expect(answer.status, name).toBe(400);
      expect((answer.body as { code: string }).code, name).toBe('validation_failed');
    }
    // Names that merely start like a prefix are still fine.
    expect((await hub.api('PATCH', `/api/agents/${peer.agentId}`, { name: 'ag-web_1' })).status).toBe(200);
    expect((await hub.api('PATCH', `/api/agents/${peer.agentId}`, { name: 'agent_7' })).status).toBe(200);
  });

  it.skipIf(onPostgres)('renames, at start and audited, a machine named like an id before this rule (#11)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-names-'));
    try {
      const first = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'silent' }, { FAROL_ROLLUP_INTERVAL: '1h' });
      const token = (await (await fetch(`${first.url}/api/join-tokens`, { method: 'POST', headers: { authorization: `Bearer ${first.adminToken}`, 'content-type': 'application/json' }, body: '{}' })).json()) as { token: string };
      const rogue = await enrollPeer(first.url, token.token, 'rogue');
      await first.close();
      // As an older hub let it be named: another machine's id.
      const db = new Database(first.databaseFile);
      db.prepare('update agents set name = ? where id = ?').run(prodbox.id, rogue.agentId);
      db.close();

      const second = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'silent' }, { FAROL_ROLLUP_INTERVAL: '1h' });
      try {
        const get = async (route: string): Promise<unknown> => (await fetch(`${second.url}${route}`, { headers: { authorization: `Bearer ${second.adminToken}` } })).json();
        expect(((await get(`/api/agents/${rogue.agentId}`)) as Agent).name).toBe('machine');
        const renames = ((await get('/api/audit?action=agent.rename')) as AuditList).entries;
        expect(renames).toEqual([expect.objectContaining({ actor: 'hub', agentId: rogue.agentId, details: expect.objectContaining({ from: prodbox.id, to: 'machine' }) })]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
