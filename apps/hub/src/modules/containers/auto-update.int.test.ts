import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditList, ContainerUpdateRule } from '@farol/protocol';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello } from '../../testing/protocol-peer.js';

let hub: HubFixture;

beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  await hub?.stop();
});

describe('container auto-update rules over REST (#18)', () => {
  it('adds, lists and removes a rule, each change audited', async () => {
    const created = await hub.api('POST', '/api/container-updates/rules', { selector: 'env=prod', containers: ['web', 'api-*'], window: { start: '02:00', end: '05:00', timezone: 'Europe/Lisbon' }, channels: ['ops'] });
    expect(created.status).toBe(201);
    const rule = created.body as ContainerUpdateRule;
    expect(rule).toMatchObject({ id: expect.stringMatching(/^cur_/), selector: 'env=prod', containers: ['web', 'api-*'], window: { start: '02:00', end: '05:00', timezone: 'Europe/Lisbon' }, channels: ['ops'] });
    expect((await hub.api('GET', '/api/container-updates/rules')).body).toEqual({ rules: [rule] });
    expect((await hub.api('DELETE', `/api/container-updates/rules/${rule.id}`)).status).toBe(204);
    expect((await hub.api('GET', '/api/container-updates/rules')).body).toEqual({ rules: [] });
    const audit = JSON.stringify((await hub.api('GET', '/api/audit?limit=50')).body);
    expect(audit).toContain('container_update.rule_create');
    expect(audit).toContain('container_update.rule_delete');
  });

  it('refuses bad input with 400 and a stable code, and an unknown rule with 404', async () => {
    for (const body of [
      { selector: 'all', containers: ['../x'] },
      { selector: 'all', containers: [] },
      { selector: 'env=$(reboot)', containers: ['web'] },
      { selector: 'all', containers: ['web'], window: { start: '9:00', end: '10:00' } },
      { selector: 'all', containers: ['web'], extra: true },
    ]) {
      const answer = await hub.api('POST', '/api/container-updates/rules', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body).toMatchObject({ code: 'validation_failed' });
    }
    expect((await hub.api('DELETE', '/api/container-updates/rules/cur_nosuchrule')).body).toMatchObject({ code: 'not_found' });
    expect((await hub.api('DELETE', '/api/container-updates/rules/..%2Fx')).status).toBe(400);
    expect((await hub.api('GET', '/api/container-updates/rollouts')).body).toEqual({ rollouts: [] });
  });
});

describe('private registry logins for the digest check (ADR 0023)', () => {
  const LOGIN = { username: 'ci', password: 'Reg-pw-int-6a1f0c' };

  async function agent(hostname: string, labels: Record<string, string>): Promise<{ id: string; socket: Socket }> {
    const peer = await enrollPeer(hub.url, await hub.createJoinToken({ labels }), hostname);
    const result = await connectPeer(hub.url, peer);
    if (!result.socket) throw new Error(`connect failed: ${JSON.stringify(result.error)}`);
    if (!(await hello(result.socket, 10_000, hostname)).ok) throw new Error('hello failed');
    return { id: peer.agentId, socket: result.socket };
  }

  it('hands a login only to machines a rule names the registry for, within the secret\'s scope; audited, never quoted', async () => {
    expect((await hub.api('PUT', '/api/secrets/REG_LOGIN', { value: JSON.stringify(LOGIN), scope: 'env=prod' })).status).toBe(201);
    expect((await hub.api('PUT', '/api/secrets/NOT_A_LOGIN', { value: 'ci:Reg-pw-int-6a1f0c', scope: '*' })).status).toBe(201);
    const unknown = await hub.api('POST', '/api/container-updates/rules', { selector: 'all', containers: ['app'], registry: 'reg.lan:5000', registrySecret: 'NO_SUCH' });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'not_found' } });
    const created = await hub.api('POST', '/api/container-updates/rules', { selector: 'all', containers: ['app'], registry: 'reg.lan:5000', registrySecret: 'REG_LOGIN' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ registry: 'reg.lan:5000', registrySecret: 'REG_LOGIN' });
    expect((await hub.api('POST', '/api/container-updates/rules', { selector: 'all', containers: ['app'], registry: 'bad.lan', registrySecret: 'NOT_A_LOGIN' })).status).toBe(201);

    const prod = await agent('prod-1', { env: 'prod' });
    const dev = await agent('dev-1', { env: 'dev' });
    try {
      const granted = await emitAck(prod.socket, 'registry:credentials', { registry: 'reg.lan:5000' });
      expect(granted).toEqual({ ok: true, data: { ...LOGIN, ttlMs: 3_600_000 } });
      // A registry no rule names; a machine outside the secret's scope; a secret that is not a login.
      expect(await emitAck(prod.socket, 'registry:credentials', { registry: 'other.lan' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(await emitAck(dev.socket, 'registry:credentials', { registry: 'reg.lan:5000' })).toMatchObject({ ok: false, error: { code: 'forbidden', message: 'REG_LOGIN not scoped to dev-1' } });
      const malformed = await emitAck(prod.socket, 'registry:credentials', { registry: 'bad.lan' });
      expect(malformed).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
      expect(JSON.stringify(malformed)).not.toContain(LOGIN.password);
      expect(await emitAck(prod.socket, 'registry:credentials', { registry: 'http://reg.lan:5000/x' })).toMatchObject({ ok: false, error: { code: 'validation_failed' } });

      const audit = (await hub.api('GET', '/api/audit?limit=100')).body as AuditList;
      const fetched = audit.entries.filter((e) => e.action === 'secret.fetch');
      expect(fetched.map((e) => [e.actor, e.details])).toEqual(
        expect.arrayContaining([[`agent:${prod.id}`, expect.objectContaining({ names: ['REG_LOGIN'], purpose: 'registry', registry: 'reg.lan:5000' })]]),
      );
      const refused = audit.entries.find((e) => e.action === 'secret.fetch_refused' && e.actor === `agent:${dev.id}`);
      expect(refused?.details).toMatchObject({ names: ['REG_LOGIN'], purpose: 'registry', reason: 'REG_LOGIN not scoped to dev-1' });
      expect(JSON.stringify(audit)).not.toContain(LOGIN.password);
    } finally {
      prod.socket.disconnect();
      dev.socket.disconnect();
    }
  });
});
