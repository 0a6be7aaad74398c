import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertList, AlertRule, AuditEntry, AuditList, Silence } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, sample } from '../../testing/protocol-peer.js';

// Issue #11: every change to the fleet and its configuration leaves an audit entry naming who
// did it, to what, and what changed, and never a secret value. One pass over every kind of
// change, then one assertion per change.

const CHANNEL_SECRET = 'CHANNEL-PATH-CANARY-5b1';
const WEBHOOK_SECRET = 'WEBHOOK-HMAC-CANARY-77e';

let hub: HubFixture;

beforeAll(async () => {
  hub = await startHubFixture({ FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32' });
});

afterAll(async () => {
  await hub?.stop();
});

async function ok<T>(method: string, route: string, body?: unknown): Promise<T> {
  const answer = await hub.api(method, route, body);
  expect(answer.status, `${method} ${route}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer.body as T;
}

async function entries(): Promise<AuditEntry[]> {
  return ((await hub.api('GET', '/api/audit?limit=1000')).body as AuditList).entries;
}

describe('the audit log is complete (#11)', () => {
  it('records join tokens, enrollment, renames, relabels, removals, silences, rules, channels, webhooks, users and roles, with actor and target (#11)', async () => {
    // Join tokens: created and revoked.
    const kept = await ok<{ id: string; token: string }>('POST', '/api/join-tokens', { labels: { env: 'prod' }, note: 'rack 4' });
    const revoked = await ok<{ id: string; token: string }>('POST', '/api/join-tokens', {});
    await ok('DELETE', `/api/join-tokens/${revoked.id}`);
    // A machine enrolls, is renamed, relabelled and removed.
    const peer = await enrollPeer(hub.url, kept.token, 'web-7');
    await ok('PATCH', `/api/agents/${peer.agentId}`, { name: 'web-7b' });
    await ok('PATCH', `/api/agents/${peer.agentId}`, { labels: { env: 'prod', role: 'db' } });
    // Silences.
    const silence = await ok<Silence>('POST', '/api/silences', { matcher: { agents: [peer.agentId] }, duration: '1h', reason: 'kernel update' });
    await ok('DELETE', `/api/silences/${silence.id}`);
    // Alert rules.
    const rule = await ok<AlertRule>('POST', '/api/alert-rules', { name: 'disk nearly full', condition: { kind: 'metric', metric: 'disk', threshold: 95 } });
    await ok('PATCH', `/api/alert-rules/${rule.id}`, { enabled: false });
    await ok('DELETE', `/api/alert-rules/${rule.id}`);
    // Channels, with a secret in the URL.
    const channel = await ok<{ id: string }>('POST', '/api/channels', { type: 'webhook', name: 'ops', settings: { url: `http://127.0.0.1:9/hook/${CHANNEL_SECRET}` } });
    await ok('PATCH', `/api/channels/${channel.id}`, { enabled: false });
    await ok('DELETE', `/api/channels/${channel.id}`);
    // Event webhooks, with a signing secret.
    const webhook = await ok<{ id: string }>('POST', '/api/webhooks', { name: 'n8n', url: 'http://127.0.0.1:9/n8n', secret: WEBHOOK_SECRET, events: ['agent.offline'] });
    await ok('PATCH', `/api/webhooks/${webhook.id}`, { events: ['agent.offline', 'agent.online'] });
    await ok('DELETE', `/api/webhooks/${webhook.id}`);
    // Users and roles.
    const user = await ok<{ id: string }>('POST', '/api/users', { username: 'olga', password: 'correct horse battery staple', role: 'viewer' });
    await ok('PATCH', `/api/users/${user.id}`, { role: 'operator' });
    await ok('POST', '/api/roles', { name: 'auditor', permissions: ['audit:read'] });
    await ok('DELETE', '/api/roles/auditor');
    // And the machine goes.
    await ok('DELETE', `/api/agents/${peer.agentId}`);

    const log = await entries();
    const one = (action: string, match: (entry: AuditEntry) => boolean = () => true): AuditEntry => {
      const found = log.filter((entry) => entry.action === action && match(entry));
      expect(found, `${action} in the audit log`).toHaveLength(1);
      return found[0]!;
    };
    expect(one('join_token.create', (e) => e.details.joinTokenId === kept.id)).toMatchObject({ actor: 'admin', details: { labels: { env: 'prod' }, note: 'rack 4' } });
    expect(one('join_token.revoke')).toMatchObject({ actor: 'admin', details: { joinTokenId: revoked.id } });
    expect(one('agent.enroll')).toMatchObject({ actor: `agent:${peer.agentId}`, agentId: peer.agentId, details: { name: 'web-7', labels: { env: 'prod' }, joinTokenId: kept.id } });
    expect(one('agent.rename')).toMatchObject({ actor: 'admin', agentId: peer.agentId, details: { from: 'web-7', to: 'web-7b' } });
    expect(one('agent.relabel')).toMatchObject({ actor: 'admin', agentId: peer.agentId, details: { from: { env: 'prod' }, to: { env: 'prod', role: 'db' } } });
    expect(one('agent.delete')).toMatchObject({ actor: 'admin', agentId: peer.agentId, details: { name: 'web-7b' } });
    expect(one('silence.create')).toMatchObject({ actor: 'admin', details: { silenceId: silence.id, reason: 'kernel update' } });
    expect(one('silence.end')).toMatchObject({ actor: 'admin', details: { silenceId: silence.id } });
    expect(one('alert_rule.create')).toMatchObject({ actor: 'admin', details: { ruleId: rule.id, name: 'disk nearly full' } });
    expect(one('alert_rule.update')).toMatchObject({ actor: 'admin', details: { ruleId: rule.id, changed: { enabled: false } } });
    expect(one('alert_rule.delete')).toMatchObject({ actor: 'admin', details: { ruleId: rule.id } });
    expect(one('channel.create')).toMatchObject({ actor: 'admin', details: { channelId: channel.id, name: 'ops', type: 'webhook' } });
    expect(one('channel.update')).toMatchObject({ actor: 'admin', details: { channelId: channel.id, changed: ['enabled'] } });
    expect(one('channel.delete')).toMatchObject({ actor: 'admin', details: { channelId: channel.id } });
    expect(one('webhook.create')).toMatchObject({ actor: 'admin', details: { webhookId: webhook.id, name: 'n8n', events: ['agent.offline'], signed: true } });
    expect(one('webhook.update')).toMatchObject({ actor: 'admin', details: { webhookId: webhook.id, events: ['agent.offline', 'agent.online'] } });
    expect(one('webhook.delete')).toMatchObject({ actor: 'admin', details: { webhookId: webhook.id } });
    expect(one('user.create', (e) => e.details.username === 'olga')).toMatchObject({ actor: 'admin', details: { userId: user.id, role: 'viewer' } });
    expect(one('user.update', (e) => e.details.userId === user.id)).toMatchObject({ actor: 'admin' });
    expect(one('role.create', (e) => e.details.name === 'auditor')).toMatchObject({ actor: 'admin' });
    expect(one('role.delete', (e) => e.details.name === 'auditor')).toMatchObject({ actor: 'admin' });

    // Never a secret value: not the join tokens, the channel's URL path or the webhook's key.
    const text = JSON.stringify(log);
    for (const secret of [kept.token.split('.')[1]!, revoked.token.split('.')[1]!, CHANNEL_SECRET, WEBHOOK_SECRET]) expect(text).not.toContain(secret);
    // And the chain still verifies with all of it in.
    expect((await hub.api('GET', '/api/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('records who acknowledged an alert, with the alert and the note (#11)', async () => {
    await ok('POST', '/api/alert-rules', { name: 'cpu busy', condition: { kind: 'metric', metric: 'cpu', threshold: 50, for: '0s' } });
    const peer = await enrollPeer(hub.url, await hub.createJoinToken(), 'busy-1');
    const { socket } = await connectPeer(hub.url, peer);
    await hello(socket!, 10_000, 'busy-1');
    await emitAck(socket!, 'metrics:report', { samples: [sample(Date.now(), 93)] });
    const alert = await waitFor(async () => ((await hub.api('GET', '/api/alerts')).body as AlertList).alerts.find((a) => a.ruleName === 'cpu busy'), 10_000, 'the alert');
    await ok('POST', `/api/alerts/${alert.id}/ack`, { note: 'on it' });
    const acknowledged = (await entries()).filter((entry) => entry.action === 'alert.acknowledge');
    expect(acknowledged).toHaveLength(1);
    expect(acknowledged[0]).toMatchObject({ actor: 'admin', agentId: peer.agentId, details: { alertId: alert.id, ruleName: 'cpu busy', note: 'on it' } });
    socket!.close();
  });
});
