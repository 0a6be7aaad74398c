import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { startTelegram, startWebhookReceiver, type ProviderEmulator } from './testing/provider-emulators.js';

const BOT_TOKEN = '987654:AAF-rest-test-bot-token-xyz';
const HMAC_SECRET = 'rest-test-hmac-secret-0123456789';

describe('channels and webhooks over REST (loopback allowed)', () => {
  let hub: HubFixture;
  let telegram: ProviderEmulator;
  let receiver: ProviderEmulator;
  let deadman: ProviderEmulator;

  beforeAll(async () => {
    telegram = await startTelegram(BOT_TOKEN);
    receiver = await startWebhookReceiver(HMAC_SECRET);
    deadman = await startWebhookReceiver();
    hub = await startHubFixture({ FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_DEADMAN_URL: `${deadman.url}/ping/abc`, FAROL_DEADMAN_INTERVAL: '200ms' });
  });
  afterAll(async () => {
    await hub?.stop();
    for (const e of [telegram, receiver, deadman]) await e?.close();
  });

  it('creates, lists (masked), tests, changes and deletes a channel', async () => {
    const created = await hub.api('POST', '/api/channels', { type: 'telegram', name: 'ops-tg', settings: { botToken: BOT_TOKEN, chatId: '-100200', apiBase: telegram.url } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ops-tg', type: 'telegram', enabled: true, source: 'api', settings: { botToken: '********', chatId: '-100200' }, rateLimit: { count: 20, perSeconds: 60 } });
    const id = (created.body as { id: string }).id;
    expect(id).toMatch(/^ch_/);

    const listed = await hub.api('GET', '/api/channels');
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(BOT_TOKEN);

    const tested = await hub.api('POST', '/api/channels/ops-tg/test');
    expect(tested).toMatchObject({ status: 200, body: { ok: true, status: 200, error: null } });
    expect(telegram.requests.at(-1)).toMatchObject({ method: 'POST', path: `/bot${BOT_TOKEN}/sendMessage`, json: { chat_id: '-100200', parse_mode: 'HTML' } });
    expect((telegram.requests.at(-1)!.json as { text: string }).text).toContain('requested by admin');

    const patched = await hub.api('PATCH', `/api/channels/${id}`, { quietHours: { start: '22:00', end: '07:00', timezone: 'Europe/Lisbon' }, template: { alert: '{{icon}} {{agent}}: {{summary}}' } });
    expect(patched).toMatchObject({ status: 200, body: { quietHours: { start: '22:00', end: '07:00', timezone: 'Europe/Lisbon' }, settings: { botToken: '********' } } });

    const badTemplate = await hub.api('PATCH', `/api/channels/${id}`, { template: { alert: '{{nope}}' } });
    expect(badTemplate).toMatchObject({ status: 400, body: { code: 'validation_failed', issues: [{ path: 'template.alert' }] } });

    expect((await hub.api('DELETE', '/api/channels/ops-tg')).status).toBe(204);
    expect(await hub.api('GET', `/api/channels/${id}`)).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });

  it('answers bad input with a problem body and a stable code', async () => {
    const invalid = await hub.api('POST', '/api/channels', { type: 'telegram', name: 'x', settings: { chatId: '1' } });
    expect(invalid).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    const unknownType = await hub.api('POST', '/api/channels', { type: 'pager', name: 'x', settings: {} });
    expect(unknownType).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    await hub.api('POST', '/api/channels', { type: 'webhook', name: 'dup', settings: { url: `${receiver.url}/a` } });
    expect(await hub.api('POST', '/api/channels', { type: 'webhook', name: 'dup', settings: { url: `${receiver.url}/b` } })).toMatchObject({ status: 409, body: { code: 'name_taken' } });
    expect(await hub.api('GET', '/api/channels', undefined, null)).toMatchObject({ status: 401 });
  });

  it('subscribes a webhook, posts a signed test event, and lists the outbox', async () => {
    const created = await hub.api('POST', '/api/webhooks', { name: 'n8n', url: `${receiver.url}/webhook/farol?token=abc`, secret: HMAC_SECRET, events: ['agent.offline', 'alert.firing'], selector: { labels: 'env=prod' } });
    expect(created).toMatchObject({ status: 201, body: { name: 'n8n', url: `${receiver.url}/********`, signed: true, events: ['agent.offline', 'alert.firing'], selector: { labels: 'env=prod' }, enabled: true } });
    const tested = await hub.api('POST', '/api/webhooks/n8n/test');
    expect(tested).toMatchObject({ status: 200, body: { ok: true, status: 200 } });
    expect(receiver.requests.at(-1)).toMatchObject({ path: '/webhook/farol?token=abc', json: { event: 'test', status: 'unknown', stats: { cpu_percent: null } } });
    const badSelector = await hub.api('POST', '/api/webhooks', { name: 'bad', url: `${receiver.url}/x`, events: ['agent.offline'], selector: { labels: 'role==db' } });
    expect(badSelector).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    const outbox = await hub.api('GET', '/api/notify/outbox?limit=5');
    expect(outbox).toMatchObject({ status: 200, body: { entries: expect.any(Array) } });
    expect((await hub.api('DELETE', '/api/webhooks/n8n')).status).toBe(204);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const { status, body } = await hub.api('GET', '/api/openapi.json');
    expect(status).toBe(200);
    const paths = Object.keys((body as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/channels', '/api/channels/{id}', '/api/channels/{id}/test', '/api/webhooks', '/api/webhooks/{id}/test', '/api/notify/outbox']));
  });

  it('pings the dead-man URL every interval while the hub is up', async () => {
    await waitFor(() => (deadman.requests.length >= 2 ? true : undefined), 10_000, 'two dead-man pings');
    expect(deadman.requests[0]).toMatchObject({ method: 'GET', path: expect.stringMatching(/^\/ping\/abc\?ts=\d+$/) });
  });
});

describe('without FAROL_NOTIFY_ALLOW_NETWORKS', () => {
  let hub: HubFixture;
  beforeAll(async () => {
    hub = await startHubFixture();
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('refuses channel and webhook URLs on loopback, private and CGNAT addresses', async () => {
    for (const url of ['http://127.0.0.1:5678/webhook', 'http://10.1.2.3/hook', 'http://100.100.1.1/tailnet', 'http://[::1]:80/', 'http://169.254.169.254/latest/meta-data']) {
      const channel = await hub.api('POST', '/api/channels', { type: 'webhook', name: 'local', settings: { url } });
      expect(channel, url).toMatchObject({ status: 400, body: { code: 'destination_refused', issues: [{ path: 'settings.url' }] } });
      const subscription = await hub.api('POST', '/api/webhooks', { name: 'local', url, events: ['agent.offline'] });
      expect(subscription, url).toMatchObject({ status: 400, body: { code: 'destination_refused' } });
    }
    expect((await hub.api('GET', '/api/channels')).body).toEqual({ channels: [] });
  });
});
