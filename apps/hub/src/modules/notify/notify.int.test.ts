import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FarolError, SECRET_MASK, type AlertNotice, type ChannelCreateInput, ChannelCreateSchema, type Labels, type Notification } from '@farol/protocol';
import { createMemoryBus } from '../../infra/bus.js';
import { openSqliteDatabase, type Db } from '../../infra/database.js';
import { createLogger } from '../../infra/logger.js';
import { createSecretBox, loadSecretKey } from '../../infra/secret-box.js';
import { waitFor } from '../../testing/hub-fixture.js';
import { createChannelsService } from './channels.service.js';
import { createNetworkGuard, parseNetworks } from './net-guard.js';
import { createNotifyRepository } from './notify.repository.js';
import { createNotifyService } from './notify.service.js';
import {
  decodeQuotedPrintable,
  startDiscord,
  startEvolution,
  startNtfy,
  startSlack,
  startSmtp,
  startTeams,
  startTelegram,
  startWebhookReceiver,
  type ProviderEmulator,
} from './testing/provider-emulators.js';
import { createWebhooksService } from './webhooks.service.js';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const BOT_TOKEN = '123456:AAH-secret-bot-token-abcdefghij';
const HMAC_SECRET = 'n8n-shared-hmac-secret-0123456789';

interface Harness {
  db: Db;
  file: string;
  clock: { t: number; now(): number };
  channels: ReturnType<typeof createChannelsService>;
  outbox: ReturnType<typeof createNotifyService>;
  webhooks: ReturnType<typeof createWebhooksService>;
  repo: ReturnType<typeof createNotifyRepository>;
  bus: ReturnType<typeof createMemoryBus>;
  close(): Promise<void>;
}

const dirs: string[] = [];
const emulators: Array<{ close(): Promise<void> }> = [];
const agentsById = new Map<string, { seq: number; id: string; name: string; labels: Labels; status?: 'online' | 'offline' }>();

/** The notifier as the hub wires it, on a real SQLite file; `allowLoopback` is FAROL_NOTIFY_ALLOW_NETWORKS=127.0.0.1/32. */
async function openHarness(dataDir: string, { allowLoopback = true, start = T0, keepMs, timeoutMs = 2_000 }: { allowLoopback?: boolean; start?: number; keepMs?: number; timeoutMs?: number } = {}): Promise<Harness> {
  const { db, file } = await openSqliteDatabase(dataDir);
  const repo = createNotifyRepository(db);
  const box = createSecretBox(loadSecretKey(dataDir, undefined));
  const guard = createNetworkGuard({ allow: allowLoopback ? parseNetworks('127.0.0.1/32') : [] });
  const logger = createLogger('silent');
  const clock = { t: start, now() { return this.t; } };
  const bus = createMemoryBus(logger);
  const deps = { repo, box, guard, clock, logger };
  const channels = createChannelsService(deps);
  const outbox = createNotifyService({ ...deps, random: () => 0.5, policy: { timeoutMs, ...(keepMs ? { keepMs } : {}) } });
  const webhooks = createWebhooksService({
    ...deps,
    bus,
    agents: {
      findById: async (id) => agentsById.get(id),
      latestSample: async () => undefined,
    },
    enqueue: outbox.enqueueWebhook,
  });
  return { db, file, clock, channels, outbox, webhooks, repo, bus, close: async () => { await outbox.stop(); await db.destroy(); } };
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'farol-notify-'));
  dirs.push(dir);
  return dir;
}

async function track<T extends { close(): Promise<void> }>(emulator: Promise<T>): Promise<T> {
  const e = await emulator;
  emulators.push(e);
  return e;
}

function notice(overrides: Partial<AlertNotice> = {}): AlertNotice {
  return {
    alertId: 'al_0000000000000001',
    ruleId: 'ru_1',
    ruleName: 'high cpu',
    event: 'firing',
    severity: 'warning',
    agentId: 'ag_1',
    agentName: 'web-1',
    subject: 'cpu',
    summary: 'CPU 93.1 % > 85 % for 5 min',
    value: 93.1,
    threshold: 85,
    comparator: '>',
    unit: '%',
    since: T0 - 5 * 60_000,
    resolvedAt: null,
    labels: {},
    ...overrides,
  };
}
const alerts = (...list: AlertNotice[]): Notification => ({ kind: 'alerts', alerts: list });

function webhookChannel(name: string, receiver: ProviderEmulator, extra: Partial<ChannelCreateInput> = {}): ReturnType<typeof ChannelCreateSchema.parse> {
  return ChannelCreateSchema.parse({ type: 'webhook', name, settings: { url: `${receiver.url}/hook/${name}`, secret: HMAC_SECRET }, ...extra });
}

afterAll(async () => {
  for (const e of emulators) await e.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('channels: send test for every type, exact requests', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness(tempDir());
  });
  afterEach(async () => h.close());

  it('Telegram: POST /bot<token>/sendMessage with HTML parse mode', async () => {
    const telegram = await track(startTelegram(BOT_TOKEN));
    await h.channels.create(ChannelCreateSchema.parse({ type: 'telegram', name: 'tg', settings: { botToken: BOT_TOKEN, chatId: -1001234, apiBase: telegram.url } }));
    const result = await h.channels.sendTest('tg', 'admin');
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
    expect(telegram.requests).toHaveLength(1);
    const [req] = telegram.requests;
    expect(req).toMatchObject({ method: 'POST', path: `/bot${BOT_TOKEN}/sendMessage`, headers: { 'content-type': 'application/json' } });
    expect(req!.json).toEqual({ chat_id: '-1001234', text: expect.stringContaining('This is a test from Farol, requested by admin'), parse_mode: 'HTML', disable_web_page_preview: true });
  });

  it('Telegram accepts an alert whose agent text is full of HTML (escaped), with the reason inside', async () => {
    const telegram = await track(startTelegram(BOT_TOKEN));
    await h.channels.create(ChannelCreateSchema.parse({ type: 'telegram', name: 'tg', settings: { botToken: BOT_TOKEN, chatId: '42', apiBase: telegram.url } }));
    await h.outbox.notify(['tg'], alerts(notice({ agentName: '<img src=x>&co', topProcesses: [{ pid: 7, name: '<node>', cpu: 90, memoryBytes: 1 }], logLines: ['</pre> oops & <b'] })));
    await h.outbox.runOnce();
    expect(telegram.requests).toHaveLength(1);
    const text = (telegram.requests[0]!.json as { text: string }).text;
    expect(text).toContain('&lt;img src=x&gt;&amp;co');
    expect(text).toContain('value <b>93.1 %</b> vs threshold &gt; 85 %');
    expect(text).toContain('<code>&lt;node&gt; (7)</code>');
    expect(text).toContain('<pre>&lt;/pre&gt; oops &amp; &lt;b</pre>');
    expect((await h.outbox.listOutbox(undefined, 10))[0]).toMatchObject({ state: 'sent', attempts: 1 });
  });

  it('Telegram: a message over its 4,096-character limit is cut between blocks, never inside a tag', async () => {
    const telegram = await track(startTelegram(BOT_TOKEN));
    await h.channels.create(ChannelCreateSchema.parse({ type: 'telegram', name: 'tg', settings: { botToken: BOT_TOKEN, chatId: '42', apiBase: telegram.url } }));
    const logLines = Array.from({ length: 10 }, (_v, i) => `${i} <error> ${'x'.repeat(280)}`);
    await h.outbox.notify(['tg'], alerts(...Array.from({ length: 5 }, (_v, i) => notice({ alertId: `al_${i}`, agentName: `web-${i}`, logLines }))));
    await h.outbox.runOnce();
    expect((await h.outbox.listOutbox(undefined, 10))[0]).toMatchObject({ state: 'sent' });
    const text = (telegram.requests[0]!.json as { text: string }).text;
    expect(text.length).toBeLessThanOrEqual(4096);
    expect(text).toMatch(/… \d+ more lines not shown$/);
    expect(text.split('<pre>').length).toBe(text.split('</pre>').length);
  });

  it('Discord: an embed, mentions disabled', async () => {
    const discord = await track(startDiscord());
    await h.channels.create(ChannelCreateSchema.parse({ type: 'discord', name: 'dc', settings: { webhookUrl: `${discord.url}/api/webhooks/123/tok-en`, username: 'Farol' } }));
    expect(await h.channels.sendTest('dc', 'admin')).toMatchObject({ ok: true, status: 204 });
    const [req] = discord.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/api/webhooks/123/tok-en', headers: { 'content-type': 'application/json' } });
    expect(req!.json).toMatchObject({ username: 'Farol', allowed_mentions: { parse: [] }, embeds: [{ title: '🧪 Farol test message', description: expect.stringContaining('requested by admin'), footer: { text: 'Farol' } }] });
  });

  it('Slack: incoming webhook with text and blocks', async () => {
    const slack = await track(startSlack());
    await h.channels.create(ChannelCreateSchema.parse({ type: 'slack', name: 'sl', settings: { webhookUrl: `${slack.url}/services/T0/B0/XXXX` } }));
    expect(await h.channels.sendTest('sl', 'admin')).toMatchObject({ ok: true, status: 200 });
    const [req] = slack.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/services/T0/B0/XXXX' });
    expect(req!.json).toMatchObject({ text: '🧪 *Farol test message*', blocks: [{ type: 'section', text: { type: 'mrkdwn' } }, { type: 'section', text: { type: 'mrkdwn', text: expect.stringContaining('requested by admin') } }] });
  });

  it('WhatsApp: Evolution API sendText with the apikey header', async () => {
    const evolution = await track(startEvolution('farol', 'evo-key-123'));
    await h.channels.create(ChannelCreateSchema.parse({ type: 'whatsapp', name: 'wa', settings: { baseUrl: evolution.url, instance: 'farol', apiKey: 'evo-key-123', number: '5511999998888' } }));
    expect(await h.channels.sendTest('wa', 'admin')).toMatchObject({ ok: true, status: 201 });
    const [req] = evolution.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/message/sendText/farol', headers: { apikey: 'evo-key-123', 'content-type': 'application/json' } });
    expect(req!.json).toEqual({ number: '5511999998888', text: expect.stringContaining('*Farol test message*') });
  });

  it('WhatsApp with a wrong key reports the provider\'s refusal', async () => {
    const evolution = await track(startEvolution('farol', 'right-key'));
    await h.channels.create(ChannelCreateSchema.parse({ type: 'whatsapp', name: 'wa', settings: { baseUrl: evolution.url, instance: 'farol', apiKey: 'wrong-key', number: '5511999998888' } }));
    const result = await h.channels.sendTest('wa', 'admin');
    expect(result).toMatchObject({ ok: false, status: 401 });
    expect(result.error).toContain('Unauthorized');
  });

  it('ntfy: JSON publish with a bearer token and priority', async () => {
    const ntfy = await track(startNtfy('tk_ntfy'));
    await h.channels.create(ChannelCreateSchema.parse({ type: 'ntfy', name: 'nt', settings: { serverUrl: ntfy.url, topic: 'farol-alerts', token: 'tk_ntfy' } }));
    expect(await h.channels.sendTest('nt', 'admin')).toMatchObject({ ok: true, status: 200 });
    const [req] = ntfy.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/', headers: { authorization: 'Bearer tk_ntfy' } });
    expect(req!.json).toMatchObject({ topic: 'farol-alerts', title: '🧪 Farol test message', priority: 3, tags: ['bell'] });
  });

  it('Teams: an Adaptive Card, or a MessageCard when asked', async () => {
    const teams = await track(startTeams());
    await h.channels.create(ChannelCreateSchema.parse({ type: 'teams', name: 'tm', settings: { webhookUrl: `${teams.url}/workflows/abc/triggers/manual/paths/invoke?sig=s3cret` } }));
    await h.channels.create(ChannelCreateSchema.parse({ type: 'teams', name: 'tm-classic', settings: { webhookUrl: `${teams.url}/webhookb2/xyz`, format: 'messagecard' } }));
    expect(await h.channels.sendTest('tm', 'admin')).toMatchObject({ ok: true, status: 202 });
    expect(await h.channels.sendTest('tm-classic', 'admin')).toMatchObject({ ok: true, status: 202 });
    expect(teams.requests[0]).toMatchObject({ method: 'POST', path: '/workflows/abc/triggers/manual/paths/invoke?sig=s3cret' });
    expect(teams.requests[0]!.json).toMatchObject({
      type: 'message',
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: '🧪 Farol test message', weight: 'Bolder' }, { type: 'TextBlock', wrap: true }] } }],
    });
    expect(teams.requests[1]!.json).toMatchObject({ '@type': 'MessageCard', '@context': 'https://schema.org/extensions', title: '🧪 Farol test message' });
  });

  it('generic webhook: JSON signed with HMAC-SHA256 over timestamp and body (the receiver verifies it)', async () => {
    const receiver = await track(startWebhookReceiver(HMAC_SECRET));
    await h.channels.create(webhookChannel('n8n', receiver, { settings: { url: `${receiver.url}/webhook/farol`, secret: HMAC_SECRET, headers: { 'X-Team': 'ops' } } } as never));
    expect(await h.channels.sendTest('n8n', 'admin')).toMatchObject({ ok: true, status: 200 });
    const [req] = receiver.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/webhook/farol', headers: { 'content-type': 'application/json', 'x-team': 'ops', 'x-farol-timestamp': String(T0 / 1000) } });
    expect(req!.headers['x-farol-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(req!.json).toMatchObject({ id: req!.headers['x-farol-delivery'], channel: 'n8n', kind: 'test', notification: { kind: 'test', requestedBy: 'admin' } });

    // A receiver with another secret refuses it: the signature really covers the body.
    const strict = await track(startWebhookReceiver('another-secret-entirely-xyz'));
    await h.channels.create(webhookChannel('wrong', strict));
    expect(await h.channels.sendTest('wrong', 'admin')).toMatchObject({ ok: false, status: 401 });
  });

  it('e-mail: a real SMTP server on loopback receives the message with login', async () => {
    const smtp = await track(startSmtp({ user: 'farol', pass: 'smtp-pass-123' }));
    await h.channels.create(
      ChannelCreateSchema.parse({ type: 'email', name: 'mail', settings: { host: '127.0.0.1', port: smtp.port, username: 'farol', password: 'smtp-pass-123', from: 'Farol <farol@example.com>', to: ['ops@example.com', 'oncall@example.com'] } }),
    );
    expect(await h.channels.sendTest('mail', 'admin')).toMatchObject({ ok: true, status: 250 });
    await h.outbox.notify(['mail'], alerts(notice({ agentName: 'db<1>' })));
    await h.outbox.runOnce();
    expect(smtp.mails).toHaveLength(2);
    const mail = smtp.mails[1]!;
    expect(mail).toMatchObject({ from: 'farol@example.com', to: ['ops@example.com', 'oncall@example.com'], user: 'farol' });
    const body = decodeQuotedPrintable(mail.raw);
    expect(body).toMatch(/^Subject: .*FIRING: high cpu on db<1>/m);
    expect(body).toContain('X-Farol-Delivery: dl_');
    expect(body).toContain('db&lt;1&gt;'); // HTML part, escaped
    expect(body).toContain('value 93.1 % vs threshold > 85 % (cpu)'); // text part

    const refused = await h.channels.create(
      ChannelCreateSchema.parse({ type: 'email', name: 'mail-bad', settings: { host: '127.0.0.1', port: smtp.port, username: 'farol', password: 'wrong', from: 'farol@example.com', to: ['ops@example.com'] } }),
    );
    const result = await h.channels.sendTest(refused.id, 'admin');
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/535|login/);
  });
});

describe('delivery you can rely on', () => {
  let h: Harness;
  let receiver: ProviderEmulator;
  beforeEach(async () => {
    h = await openHarness(tempDir());
    receiver = await track(startWebhookReceiver(HMAC_SECRET));
  });
  afterEach(async () => h.close());

  it('429 with Retry-After, then 500, then OK: exactly one accepted delivery, Retry-After honoured', async () => {
    const telegram = await track(startTelegram(BOT_TOKEN));
    await h.channels.create(ChannelCreateSchema.parse({ type: 'telegram', name: 'tg', settings: { botToken: BOT_TOKEN, chatId: '42', apiBase: telegram.url } }));
    telegram.script(
      { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '120' }, body: JSON.stringify({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 120', parameters: { retry_after: 120 } }) },
      { status: 500, body: '{"ok":false,"error_code":500,"description":"Internal Server Error"}' },
    );
    await h.outbox.notify(['tg'], alerts(notice()));
    await h.outbox.runOnce();
    let [entry] = await h.outbox.listOutbox(undefined, 10);
    expect(entry).toMatchObject({ state: 'pending', attempts: 1, lastError: expect.stringContaining('429') });
    expect(entry!.nextAttemptAt).toBe(T0 + 120_000);

    h.clock.t = T0 + 119_000;
    await h.outbox.runOnce();
    expect(telegram.requests).toHaveLength(1);

    h.clock.t = T0 + 120_000;
    await h.outbox.runOnce();
    [entry] = await h.outbox.listOutbox(undefined, 10);
    // Second failure: 5 s × 2 with equal jitter at 0.5 → 7.5 s.
    expect(entry).toMatchObject({ state: 'pending', attempts: 2, nextAttemptAt: T0 + 127_500, lastError: expect.stringContaining('500') });

    h.clock.t = T0 + 127_500;
    await h.outbox.runOnce();
    h.clock.t = T0 + 3_600_000;
    await h.outbox.runOnce();
    [entry] = await h.outbox.listOutbox(undefined, 10);
    expect(entry).toMatchObject({ state: 'sent', attempts: 3, lastError: null });
    expect(telegram.requests).toHaveLength(3);
    expect(new Set(telegram.requests.map((r) => r.body)).size).toBe(1);
  });

  it('a provider down for 30 simulated minutes loses nothing, and order is kept', async () => {
    await h.channels.create(webhookChannel('n8n', receiver));
    await receiver.down();
    for (const n of [1, 2, 3]) await h.outbox.notify(['n8n'], alerts(notice({ alertId: `al_${n}`, summary: `alert ${n}` })));
    let attempts = 0;
    while (h.clock.t < T0 + 30 * 60_000) {
      await h.outbox.runOnce();
      attempts += 1;
      const next = await h.repo.nextDueAt();
      expect(next).not.toBeNull();
      h.clock.t = Math.max(h.clock.t + 1, next!);
    }
    const during = await h.outbox.listOutbox(undefined, 10);
    expect(during.every((e) => e.state === 'pending')).toBe(true);
    // Only the head row was tried; the others waited behind it without spending attempts.
    expect(during.find((e) => e.id === during.at(-1)!.id)!.attempts).toBeGreaterThan(5);
    expect(attempts).toBeGreaterThan(5);

    await receiver.up();
    h.clock.t = (await h.repo.nextDueAt())!;
    await h.outbox.runOnce();
    const after = await h.outbox.listOutbox(undefined, 10);
    expect(after.map((e) => e.state)).toEqual(['sent', 'sent', 'sent']);
    expect(receiver.requests.map((r) => (r.json as { notification: Notification }).notification).map((n) => (n.kind === 'alerts' ? n.alerts[0]!.summary : ''))).toEqual(['alert 1', 'alert 2', 'alert 3']);
  });

  it('a crash between send and mark-sent resends once; pending rows resume after a restart', async () => {
    const dataDir = tempDir();
    const first = await openHarness(dataDir);
    await first.channels.create(webhookChannel('n8n', receiver));
    await first.outbox.notify(['n8n'], alerts(notice({ summary: 'in flight' })));
    await first.outbox.notify(['n8n'], alerts(notice({ summary: 'still queued' })));
    // The worker claimed the first row and its request reached the provider, then the process died.
    const [inFlight] = await first.repo.due(T0, 1);
    expect(await first.repo.claim(inFlight!.id)).toBe(true);
    expect(await first.channels.sendTest('n8n', 'before-crash')).toMatchObject({ ok: true });
    await first.db.destroy();

    const second = await openHarness(dataDir, { start: T0 + 5_000 });
    try {
      await second.outbox.start();
      await waitFor(async () => ((await second.outbox.listOutbox(undefined, 10)).every((e) => e.state === 'sent') ? true : undefined), 10_000, 'outbox drained');
      const summaries = receiver.requests.slice(1).map((r) => (r.json as { notification: { alerts: AlertNotice[] } }).notification.alerts[0]!.summary);
      expect(summaries).toEqual(['in flight', 'still queued']);
      // Both attempts of the in-flight row carried the same delivery id, so a receiver can drop the duplicate.
      expect(receiver.requests[1]!.headers['x-farol-delivery']).toBe(inFlight!.id);
    } finally {
      await second.close();
    }
  });

  it('per-channel rate limit: extra messages wait for the window, none is dropped', async () => {
    await h.channels.create(webhookChannel('n8n', receiver, { rateLimit: { count: 2, perSeconds: 60 } }));
    for (const n of [1, 2, 3, 4, 5]) await h.outbox.notify(['n8n'], alerts(notice({ summary: `m${n}` })));
    await h.outbox.runOnce();
    expect(receiver.requests).toHaveLength(2);
    h.clock.t = T0 + 30_000;
    await h.outbox.runOnce();
    expect(receiver.requests).toHaveLength(2);
    h.clock.t = T0 + 60_000;
    await h.outbox.runOnce();
    expect(receiver.requests).toHaveLength(4);
    h.clock.t = T0 + 120_000;
    await h.outbox.runOnce();
    expect(receiver.requests.map((r) => (r.json as { notification: { alerts: AlertNotice[] } }).notification.alerts[0]!.summary)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('quiet hours hold non-critical alerts until they end; critical ones go through', async () => {
    h.clock.t = Date.UTC(2026, 10, 23, 23, 0);
    await h.channels.create(webhookChannel('n8n', receiver, { quietHours: { start: '22:00', end: '07:00', timezone: 'UTC' } }));
    await h.outbox.notify(['n8n'], alerts(notice({ summary: 'warning at night' })));
    await h.outbox.notify(['n8n'], alerts(notice({ summary: 'critical at night', severity: 'critical' })));
    await h.outbox.runOnce();
    expect(receiver.requests.map((r) => (r.json as { text: string }).text)).toEqual([expect.stringContaining('critical at night')]);
    expect((await h.outbox.listOutbox('pending', 10))[0]).toMatchObject({ nextAttemptAt: Date.UTC(2026, 10, 24, 7, 0), attempts: 0 });
    h.clock.t = Date.UTC(2026, 10, 24, 7, 0);
    await h.outbox.runOnce();
    expect(receiver.requests).toHaveLength(2);
    expect((receiver.requests[1]!.json as { text: string }).text).toContain('warning at night');
  });

  it('a maintenance window drops non-critical notices and holds critical ones until it ends', async () => {
    await h.channels.create(webhookChannel('n8n', receiver, { maintenance: [{ start: T0 - 60_000, end: T0 + 3_600_000, reason: 'kernel upgrade' }] }));
    await h.outbox.notify(['n8n'], alerts(notice({ summary: 'noise' })));
    await h.outbox.notify(['n8n'], alerts(notice({ summary: 'disk full', severity: 'critical' })));
    await h.outbox.runOnce();
    expect(receiver.requests).toHaveLength(0);
    const entries = await h.outbox.listOutbox(undefined, 10);
    expect(entries.find((e) => e.state === 'dropped')).toMatchObject({ lastError: 'maintenance window (kernel upgrade)' });
    h.clock.t = T0 + 3_600_000;
    await h.outbox.runOnce();
    expect(receiver.requests.map((r) => (r.json as { text: string }).text)).toEqual([expect.stringContaining('disk full')]);
  });

  it('a redirect is not followed: the delivery fails, the target of the redirect gets nothing', async () => {
    const elsewhere = await track(startWebhookReceiver());
    await h.channels.create(webhookChannel('n8n', receiver));
    receiver.script({ status: 302, headers: { location: `${elsewhere.url}/steal` } });
    await h.outbox.notify(['n8n'], alerts(notice()));
    await h.outbox.runOnce();
    expect(elsewhere.requests).toHaveLength(0);
    expect((await h.outbox.listOutbox(undefined, 10))[0]).toMatchObject({ state: 'failed', lastError: expect.stringContaining('redirects are not followed') });
  });

  it('a message that cannot be prepared (secret sealed with another key) fails alone; the others go out', async () => {
    const broken = await h.channels.create(webhookChannel('broken', receiver));
    await h.channels.create(webhookChannel('fine', receiver));
    await h.db.updateTable('notify_channels').set({ secrets_sealed: 'v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }).where('id', '=', broken.id).execute();
    await h.outbox.notify(['broken', 'fine'], alerts(notice()));
    await h.outbox.runOnce();
    const entries = await h.outbox.listOutbox(undefined, 10);
    expect(entries.find((e) => e.targetId === broken.id)).toMatchObject({ state: 'failed', lastError: expect.stringContaining('could not prepare the message') });
    expect(entries.find((e) => e.targetId !== broken.id)).toMatchObject({ state: 'sent' });
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hook/fine']);
  });

  it('forgets finished deliveries after the keep period, never pending ones', async () => {
    const dataDir = tempDir();
    const first = await openHarness(dataDir);
    await first.channels.create(webhookChannel('n8n', receiver));
    await first.channels.create(ChannelCreateSchema.parse({ type: 'webhook', name: 'down', settings: { url: 'http://127.0.0.1:9/closed' } }));
    await first.outbox.notify(['n8n', 'down'], alerts(notice()));
    await first.outbox.runOnce();
    await first.close();
    const later = await openHarness(dataDir, { start: T0 + 2 * 3_600_000, keepMs: 3_600_000 });
    try {
      await later.outbox.start();
      await later.outbox.stop();
      expect((await later.outbox.listOutbox(undefined, 10)).map((e) => e.state)).toEqual(['pending']);
    } finally {
      await later.close();
    }
  });

  it('a provider that hangs delays only its own channel', async () => {
    const held: http.ServerResponse[] = [];
    const hanging = http.createServer((_req, res) => held.push(res));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', () => resolve()));
    const slowHub = await openHarness(tempDir(), { timeoutMs: 30_000 });
    try {
      await slowHub.channels.create(ChannelCreateSchema.parse({ type: 'webhook', name: 'slow', settings: { url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/` } }));
      await slowHub.channels.create(webhookChannel('fast', receiver));
      await slowHub.outbox.start();
      await slowHub.outbox.notify(['slow'], alerts(notice({ summary: 'to the slow one' })));
      await waitFor(() => (held.length === 1 ? true : undefined), 5_000, 'the slow provider holding a request');
      await slowHub.outbox.notify(['fast'], alerts(notice({ summary: 'to the fast one' })));
      await waitFor(() => (receiver.requests.length === 1 ? true : undefined), 10_000, 'the fast channel delivered');
      // The slow request is still waiting for its answer (30 s timeout) while the fast one went out.
      expect((await slowHub.outbox.listOutbox(undefined, 10)).map((e) => e.state).sort()).toEqual(['sending', 'sent']);
    } finally {
      for (const res of held) res.destroy();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
      await slowHub.close();
    }
  });

  it('notify refuses when no ref names a channel, and skips unknown ones among known', async () => {
    await expect(h.outbox.notify(['nope'], alerts(notice()))).rejects.toMatchObject({ code: 'not_found' });
    const channel = await h.channels.create(webhookChannel('n8n', receiver));
    await h.outbox.notify(['nope', channel.id, 'n8n'], alerts(notice()));
    expect(await h.outbox.listOutbox(undefined, 10)).toHaveLength(1);
  });

  it('the repository hands the worker typed records, not raw rows (#21)', async () => {
    await h.channels.create(webhookChannel('n8n', receiver));
    await h.outbox.notify(['n8n'], alerts(notice({ summary: 'disk full', severity: 'critical' })));
    const [record] = await h.repo.due(T0, 10);
    expect(record).toMatchObject({ target: 'channel', kind: 'alerts', critical: true, state: 'pending', attempts: 0, createdAt: T0, nextAttemptAt: T0, sentAt: null, lastError: null });
    expect(record).not.toHaveProperty('target_id');
  });

  it('the repository hands channels and webhook subscriptions to the services as typed records, not raw rows (#21)', async () => {
    await h.channels.create(webhookChannel('n8n', receiver, { quietHours: { start: '22:00', end: '07:00', timezone: 'UTC' } }));
    const channel = await h.repo.findChannel('n8n');
    expect(channel).toMatchObject({
      name: 'n8n',
      type: 'webhook',
      enabled: true,
      settings: { url: `${new URL(receiver.url).origin}/${SECRET_MASK}`, secret: SECRET_MASK },
      secretsSealed: expect.any(String),
      template: null,
      rateLimit: null,
      quietHours: { start: '22:00', end: '07:00', timezone: 'UTC' },
      maintenance: [],
      source: 'api',
      createdAt: T0,
      updatedAt: T0,
    });
    expect(channel).not.toHaveProperty('secrets_sealed');
    await h.channels.update('n8n', { enabled: false });
    expect((await h.repo.listChannels())[0]).toMatchObject({ name: 'n8n', enabled: false, settings: channel!.settings, secretsSealed: expect.any(String) });

    await h.webhooks.create({ name: 'hook', url: `${receiver.url}/events`, secret: HMAC_SECRET, events: ['agent.offline'], selector: { labels: 'role=db' }, enabled: true });
    await h.webhooks.update('hook', { enabled: false, events: ['agent.offline', 'job.finished'] });
    const hook = await h.repo.findWebhook('hook');
    expect(hook).toMatchObject({ name: 'hook', enabled: false, events: ['agent.offline', 'job.finished'], selector: { labels: 'role=db' }, urlSealed: expect.any(String), secretSealed: expect.any(String), createdAt: T0 });
    expect(hook).not.toHaveProperty('url_sealed');
    expect(await h.webhooks.get('hook')).toMatchObject({ enabled: false, signed: true, events: ['agent.offline', 'job.finished'], url: `${new URL(receiver.url).origin}/${SECRET_MASK}` });
  });
});

describe('address guard and secrets', () => {
  it('refuses a webhook at 127.0.0.1 without the allowance, at create time and at send time', async () => {
    const receiver = await track(startWebhookReceiver());
    const dataDir = tempDir();
    const strict = await openHarness(dataDir, { allowLoopback: false });
    try {
      const error = await strict.channels.create(webhookChannel('local', receiver)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FarolError);
      expect(error).toMatchObject({ code: 'destination_refused', issues: [{ path: 'settings.url', message: expect.stringContaining('127.0.0.1 (loopback)') }] });
    } finally {
      await strict.close();
    }
    // Saved while allowed, then the allowance is removed: the send is refused, nothing arrives.
    const lenient = await openHarness(dataDir);
    await lenient.channels.create(webhookChannel('local', receiver));
    await lenient.close();
    const again = await openHarness(dataDir, { allowLoopback: false });
    try {
      await again.outbox.notify(['local'], alerts(notice()));
      await again.outbox.runOnce();
      expect(receiver.requests).toHaveLength(0);
      expect((await again.outbox.listOutbox(undefined, 10))[0]).toMatchObject({ state: 'failed', attempts: 1, lastError: expect.stringContaining('FAROL_NOTIFY_ALLOW_NETWORKS') });
      expect(await again.channels.sendTest('local', 'admin')).toMatchObject({ ok: false, status: null, error: expect.stringContaining('loopback') });
    } finally {
      await again.close();
    }
  });

  it('keeps channel secrets out of the SQLite file and out of API answers', async () => {
    const dataDir = tempDir();
    const h = await openHarness(dataDir);
    const secrets = [BOT_TOKEN, 'https://discord.example/api/webhooks/1/disc-token-xyz', 'evo-api-key-secret', 'smtp-password-secret', 'tk_ntfy_secret_token', HMAC_SECRET, 'sig=teams-signature-secret'];
    try {
      await h.channels.create(ChannelCreateSchema.parse({ type: 'telegram', name: 'tg', settings: { botToken: BOT_TOKEN, chatId: '1', apiBase: 'http://127.0.0.1:9' } }));
      await h.channels.create(ChannelCreateSchema.parse({ type: 'discord', name: 'dc', settings: { webhookUrl: 'http://127.0.0.1:9/api/webhooks/1/disc-token-xyz' } }));
      await h.channels.create(ChannelCreateSchema.parse({ type: 'whatsapp', name: 'wa', settings: { baseUrl: 'http://127.0.0.1:9', instance: 'i', apiKey: 'evo-api-key-secret', number: '5511999998888' } }));
      await h.channels.create(ChannelCreateSchema.parse({ type: 'email', name: 'mail', settings: { host: '127.0.0.1', username: 'u', password: 'smtp-password-secret', from: 'a@example.com', to: ['b@example.com'] } }));
      await h.channels.create(ChannelCreateSchema.parse({ type: 'ntfy', name: 'nt', settings: { serverUrl: 'http://127.0.0.1:9', topic: 't', token: 'tk_ntfy_secret_token' } }));
      await h.channels.create(ChannelCreateSchema.parse({ type: 'webhook', name: 'wh', settings: { url: 'http://127.0.0.1:9/hook', secret: HMAC_SECRET } }));
      await h.channels.create(ChannelCreateSchema.parse({ type: 'teams', name: 'tm', settings: { webhookUrl: 'http://127.0.0.1:9/x?sig=teams-signature-secret' } }));
      await h.webhooks.create({ name: 'events', url: 'http://127.0.0.1:9/n8n?token=sig=teams-signature-secret', secret: HMAC_SECRET, events: ['agent.offline'], selector: {}, enabled: true });
      const listed = JSON.stringify([await h.channels.list(), await h.webhooks.list()]);
      for (const secret of secrets) expect(listed).not.toContain(secret.replace('https://discord.example', ''));
      expect(listed).toContain('"botToken":"********"');
      expect(listed).toContain('"webhookUrl":"http://127.0.0.1:9/********"');
    } finally {
      await h.close();
    }
    const bytes = ['farol.db', 'farol.db-wal', 'farol.db-shm']
      .map((name) => path.join(dataDir, name))
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file).toString('latin1'))
      .join('');
    expect(bytes).toContain('notify_channels');
    for (const secret of [BOT_TOKEN, 'disc-token-xyz', 'evo-api-key-secret', 'smtp-password-secret', 'tk_ntfy_secret_token', HMAC_SECRET, 'teams-signature-secret']) {
      expect(bytes.includes(secret), secret).toBe(false);
    }
  });

  it('keeps a secret when a PATCH sends it back masked, and refuses to edit channels of the configuration file', async () => {
    const telegram = await track(startTelegram(BOT_TOKEN));
    const h = await openHarness(tempDir());
    try {
      const created = await h.channels.create(ChannelCreateSchema.parse({ type: 'telegram', name: 'tg', settings: { botToken: BOT_TOKEN, chatId: '1', apiBase: telegram.url } }));
      const updated = await h.channels.update('tg', { settings: { ...created.settings, chatId: '2' } });
      expect(updated.settings).toMatchObject({ chatId: '2', botToken: '********' });
      expect(await h.channels.sendTest('tg', 'admin')).toMatchObject({ ok: true });
      expect(telegram.requests[0]).toMatchObject({ path: `/bot${BOT_TOKEN}/sendMessage`, json: { chat_id: '2' } });
    } finally {
      await h.close();
    }
  });
});

describe('channels from the configuration file', () => {
  it('names the item and the field of every problem, then upserts by name and prunes', async () => {
    const receiver = await track(startWebhookReceiver());
    const h = await openHarness(tempDir());
    try {
      const error = (await h.channels
        .applyChannelsConfig([
          { name: 'ok', type: 'webhook', settings: { url: `${receiver.url}/a` } },
          { name: 'ops-tg', type: 'telegram', settings: { chatId: '1' } },
          { name: 'bad-tpl', type: 'webhook', settings: { url: `${receiver.url}/b` }, template: { alert: '{{agent}} {{oops}}' } },
          { type: 'carrier-pigeon' },
        ])
        .catch((e: unknown) => e)) as FarolError;
      expect(error.code).toBe('validation_failed');
      const paths = error.issues!.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['channels[1] (ops-tg).settings.botToken', 'channels[2] (bad-tpl).template.alert', 'channels[3].type']));
      expect(error.message).toContain('channels[1] (ops-tg).settings.botToken');
      expect(await h.channels.list()).toHaveLength(0);

      await h.channels.applyChannelsConfig([
        { name: 'n8n', type: 'webhook', settings: { url: `${receiver.url}/a`, secret: HMAC_SECRET } },
        { name: 'ntfy', type: 'ntfy', settings: { serverUrl: receiver.url, topic: 'x' } },
      ]);
      const [first] = await h.channels.list();
      expect(first).toMatchObject({ name: 'n8n', source: 'file' });
      await expect(h.channels.update('n8n', { enabled: false })).rejects.toMatchObject({ code: 'conflict' });
      await expect(h.channels.remove('n8n')).rejects.toMatchObject({ code: 'conflict' });

      await h.channels.applyChannelsConfig([{ name: 'n8n', type: 'webhook', settings: { url: `${receiver.url}/changed` } }]);
      const after = await h.channels.list();
      expect(after.map((c) => [c.id, c.name])).toEqual([[first!.id, 'n8n']]);
      expect(await h.channels.sendTest('n8n', 'file')).toMatchObject({ ok: true });
      expect(receiver.requests.at(-1)!.path).toBe('/changed');
    } finally {
      await h.close();
    }
  });
});

describe('event webhooks', () => {
  it('delivers agent offline events that match the selector, signed, with the heartbeat fields for n8n', async () => {
    const receiver = await track(startWebhookReceiver(HMAC_SECRET));
    const h = await openHarness(tempDir());
    try {
      agentsById.set('ag_db', { seq: 1, id: 'ag_db', name: 'db-1', labels: { role: 'db' } });
      agentsById.set('ag_web', { seq: 2, id: 'ag_web', name: 'web-1', labels: { role: 'web' } });
      await h.webhooks.create({ name: 'n8n-db', url: `${receiver.url}/webhook/vigilo`, secret: HMAC_SECRET, events: ['agent.offline', 'agent.online'], selector: { labels: 'role=db' }, enabled: true });
      const off = h.webhooks.attach();
      h.bus.publish('agent.status', { agentId: 'ag_web', name: 'web-1', status: 'offline', lastSeen: T0 - 30_000, at: T0, reason: 'heartbeat_missed' });
      h.bus.publish('agent.status', { agentId: 'ag_db', name: 'db-1', status: 'offline', lastSeen: T0 - 30_000, at: T0, reason: 'heartbeat_missed' });
      h.bus.publish('agent.status', { agentId: 'ag_db', name: 'db-1', status: 'offline', lastSeen: null, at: T0, reason: 'hub_shutdown' });
      await waitFor(async () => ((await h.outbox.listOutbox(undefined, 10)).length === 1 ? true : undefined), 5_000, 'webhook queued');
      await h.outbox.runOnce();
      off();
      expect(receiver.requests).toHaveLength(1);
      const [req] = receiver.requests;
      expect(req).toMatchObject({ method: 'POST', path: '/webhook/vigilo', headers: { 'x-farol-signature': expect.stringMatching(/^sha256=/) } });
      expect(req!.json).toEqual({
        id: req!.headers['x-farol-delivery'],
        event: 'agent.offline',
        at: T0,
        agent_name: 'db-1',
        status: 'offline',
        timestamp: T0 / 1000,
        stats: { cpu_percent: null, ram_percent: null, disk_percent: null, uptime_seconds: null },
        agent: { id: 'ag_db', name: 'db-1', labels: { role: 'db' } },
      });
      expect(await h.webhooks.sendTest('n8n-db')).toMatchObject({ ok: true, status: 200 });
    } finally {
      await h.close();
    }
  });

  it('delivers alert firing/resolved (not silenced ones) and finished jobs from the bus', async () => {
    const receiver = await track(startWebhookReceiver());
    const h = await openHarness(tempDir());
    try {
      agentsById.set('ag_db', { seq: 1, id: 'ag_db', name: 'db-1', labels: { role: 'db' }, status: 'online' });
      await h.webhooks.create({ name: 'all', url: `${receiver.url}/events`, events: ['alert.firing', 'alert.resolved', 'job.finished'], selector: {}, enabled: true });
      const off = h.webhooks.attach();
      const alert = {
        id: 'al_0000000000000001', ruleId: 'ru_1', ruleName: 'disk full', kind: 'metric' as const, severity: 'critical' as const, state: 'firing' as const,
        agentId: 'ag_db', agentName: 'db-1', instance: '/var', subject: 'disk /var', summary: 'disk /var 97 % > 90 %', value: 97, threshold: 90, comparator: '>' as const, unit: '%',
        since: T0 - 300_000, firedAt: T0, resolvedAt: null, lastNotifiedAt: T0, notifications: 1, escalatedAt: null, acknowledgedAt: null, acknowledgedBy: null, acknowledgeNote: null, silenced: false,
      };
      h.bus.publish('alert.changed', { event: 'pending', alert: { ...alert, state: 'pending' }, labels: { role: 'db' } });
      h.bus.publish('alert.changed', { event: 'firing', alert, labels: { role: 'db' } });
      h.bus.publish('alert.changed', { event: 'firing', alert: { ...alert, id: 'al_0000000000000002', silenced: true }, labels: { role: 'db' } });
      h.bus.publish('alert.changed', { event: 'resolved', alert: { ...alert, state: 'resolved', resolvedAt: T0 + 60_000 }, labels: { role: 'db' } });
      const job = { id: 'job_1', command: { kind: 'shell', argv: ['apt', 'upgrade', '-y'] }, state: 'done', total: 3, counts: { succeeded: 2, failed: 1 }, finishedAt: T0 + 5_000 };
      h.bus.publish('job.update', { job } as never);
      h.bus.publish('job.update', { job } as never);
      await waitFor(async () => ((await h.outbox.listOutbox(undefined, 10)).length === 3 ? true : undefined), 5_000, 'three events queued');
      await h.outbox.runOnce();
      off();
      const bodies = receiver.requests.map((r) => r.json as Record<string, unknown>);
      expect(bodies.map((b) => b.event)).toEqual(['alert.firing', 'alert.resolved', 'job.finished']);
      expect(bodies[0]).toMatchObject({ agent_name: 'db-1', status: 'alive', agent: { id: 'ag_db' }, alert: { alertId: 'al_0000000000000001', event: 'firing', summary: 'disk /var 97 % > 90 %', value: 97, threshold: 90, labels: { role: 'db' } } });
      expect(bodies[1]).toMatchObject({ at: T0 + 60_000, alert: { event: 'resolved', resolvedAt: T0 + 60_000, labels: { role: 'db' } } });
      expect(bodies[2]).toMatchObject({ at: T0 + 5_000, agent: null, job: { id: 'job_1', state: 'done', command: 'apt upgrade -y', total: 3, ok: 2, failed: 1 } });
    } finally {
      await h.close();
    }
  });

  it('the leader reads the subscriptions once, and again after any hub changes them (issue #14)', async () => {
    const receiver = await track(startWebhookReceiver());
    const dataDir = tempDir();
    const h = await openHarness(dataDir);
    try {
      agentsById.set('ag_db', { seq: 1, id: 'ag_db', name: 'db-1', labels: { role: 'db' } });
      let reads = 0;
      const counted = { ...h.repo, listWebhooks: () => ((reads += 1), h.repo.listWebhooks()) };
      const deps = { box: createSecretBox(loadSecretKey(dataDir, undefined)), guard: createNetworkGuard({ allow: parseNetworks('127.0.0.1/32') }), clock: h.clock, logger: createLogger('silent'), bus: h.bus };
      const agents = { findById: async (id: string) => agentsById.get(id), latestSample: async () => undefined };
      // The leader's consumers, and another hub's API on the same database and bus.
      const leader = createWebhooksService({ ...deps, repo: counted, agents, enqueue: h.outbox.enqueueWebhook });
      const elsewhere = createWebhooksService({ ...deps, repo: h.repo, agents, enqueue: h.outbox.enqueueWebhook });
      const off = leader.attach();
      const offline = (at: number) => h.bus.publish('agent.status', { agentId: 'ag_db', name: 'db-1', status: 'offline', lastSeen: at - 30_000, at, reason: 'heartbeat_missed' });
      offline(T0);
      await waitFor(() => (reads === 1 ? true : undefined), 5_000, 'the subscriptions read');
      await elsewhere.create({ name: 'late', url: `${receiver.url}/events`, events: ['agent.offline'], selector: {}, enabled: true });
      offline(T0 + 2_000);
      offline(T0 + 3_000);
      await waitFor(async () => ((await h.outbox.listOutbox(undefined, 10)).length === 2 ? true : undefined), 5_000, 'both later events queued');
      // Read again after the change, then kept for the next event.
      expect(reads).toBe(2);
      await elsewhere.update('late', { enabled: false });
      offline(T0 + 4_000);
      await waitFor(() => (reads === 3 ? true : undefined), 5_000, 'read again after the change');
      off();
      expect(await h.outbox.listOutbox(undefined, 10)).toHaveLength(2);
    } finally {
      await h.close();
    }
  });

  it('refuses a subscription URL on loopback without the allowance', async () => {
    const h = await openHarness(tempDir(), { allowLoopback: false });
    try {
      await expect(h.webhooks.create({ name: 'x', url: 'http://127.0.0.1:5678/webhook', events: ['agent.offline'], selector: {}, enabled: true })).rejects.toMatchObject({ code: 'destination_refused' });
    } finally {
      await h.close();
    }
  });
});
