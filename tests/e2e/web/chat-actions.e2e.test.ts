import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, AlertDetail, AlertList, AuditList } from '@farol/protocol';
import { startSlack, startTelegram, type ProviderEmulator } from '../../../apps/hub/src/modules/notify/testing/provider-emulators.js';
import { agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc, ADMIN_TOKEN } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

/**
 * Issue #20 item 5 in a real browser: a real hub and agent, a rule that fires on the agent's
 * heartbeats, a Slack channel (a loopback server speaking Slack's incoming webhook) whose message
 * carries signed action links; the link's confirmation page acknowledges the alert for the
 * signed-in user. And Settings → Chat accounts links a Telegram account with /link CODE (a
 * loopback Telegram Bot API; the test posts the update Telegram would send).
 */

const BOT_TOKEN = '123456:AAH-e2e-chat-actions-bot-token-abc';
const PUBLIC_URL = 'https://farol.example.test';
const dir = tempDir('web-chat');
let hub: Proc & { url: string };
let agent: Proc;
let slack: ProviderEmulator;
let telegram: ProviderEmulator;
let browser: Browser;
let page: Page;
let problems: PageProblems;
let tgChannelId: string;
let webhookSecret: string;

beforeAll(async () => {
  slack = await startSlack();
  telegram = await startTelegram(BOT_TOKEN);
  const port = await freePort();
  hub = await startHubProcess(path.join(dir.path, 'hub'), port, {
    FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32',
    FAROL_PUBLIC_URL: PUBLIC_URL,
    FAROL_ALERTS_CHANNELS: 'sl',
    FAROL_ALERTS_GROUP_WINDOW: '50ms',
  });
  expect((await api(hub.url, 'POST', '/api/channels', { type: 'slack', name: 'sl', settings: { webhookUrl: `${slack.url}/services/T0/B0/e2e` } })).status).toBe(201);
  const tg = await api<{ id: string }>(hub.url, 'POST', '/api/channels', { type: 'telegram', name: 'tg', settings: { botToken: BOT_TOKEN, chatId: '-1001', apiBase: telegram.url } });
  expect(tg.status).toBe(201);
  tgChannelId = tg.body.id;
  expect((await api(hub.url, 'POST', '/api/channels/tg/telegram/webhook')).status).toBe(200);
  webhookSecret = (telegram.requests.find((r) => r.path.endsWith('/setWebhook'))!.json as { secret_token: string }).secret_token;
  const token = await joinToken(hub.url, { labels: { role: 'chat-e2e' } });
  agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--interval', '2s']);
  const [, started] = await Promise.all([
    waitFor(async () => (await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents[0], 30_000, 'the agent online'),
    launchChromium(),
  ]);
  browser = started;
  ({ page, problems } = await openDashboard(browser, { hub: hub.url, timeoutMs: 20_000, signIn: { storedToken: ADMIN_TOKEN } }));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await hub?.stop();
  await slack?.close();
  await telegram?.close();
  dir.remove();
});

describe('chat actions in a browser', () => {
  it('links a Telegram account from Settings with a one-time code sent to the bot', async () => {
    await page.goto(`${hub.url}/settings`);
    const panel = page.getByTestId('chat-links');
    await expect.poll(() => panel.textContent()).toContain('No chat account is linked to you.');
    await page.getByTestId('chat-link-telegram').click();
    const codeBox = page.getByTestId('chat-link-code');
    await codeBox.waitFor();
    const command = /\/link [0-9A-Z]{5}-[0-9A-Z]{5}/.exec((await codeBox.textContent()) ?? '')?.[0];
    expect(command).toBeDefined();
    const update = { update_id: 1, message: { message_id: 3, from: { id: 555, is_bot: false, first_name: 'Ana', username: 'ana_e2e' }, chat: { id: 555, type: 'private' }, text: command } };
    const answer = await fetch(`${hub.url}/api/chat/telegram/${tgChannelId}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': webhookSecret },
      body: JSON.stringify(update),
    });
    expect(answer.status).toBe(200);
    expect(telegram.requests.at(-1)!.json).toMatchObject({ chat_id: 555, text: expect.stringContaining('act as admin') });
    await page.reload();
    await expect.poll(() => page.getByTestId('chat-links').textContent()).toContain('Telegram @ana_e2e (id 555)');
  });

  it('acknowledges an alert from the Slack message\'s link, on the confirmation page, as the signed-in user', async () => {
    expect((await api(hub.url, 'POST', '/api/alert-rules', { name: 'e2e always', condition: { kind: 'metric', metric: 'cpu', op: '>=', threshold: 0, for: '0s' } })).status).toBe(201);
    const alert = await waitFor(
      async () => (await api<AlertList>(hub.url, 'GET', '/api/alerts')).body.alerts.find((a) => a.ruleName === 'e2e always' && a.state === 'firing'),
      30_000,
      'the alert firing',
    );
    const text = await waitFor(
      async () => slack.requests.map((r) => (r.json as { blocks: Array<{ text: { text: string } }> }).blocks.at(-1)!.text.text).find((t) => t.startsWith('Act: ')),
      20_000,
      'the Slack message with links',
    );
    const link = new RegExp(`<${PUBLIC_URL}(/chat/act/[A-Za-z0-9_-]{34})\\|✅ Acknowledge>`).exec(text)![1]!;
    // The link points at FAROL_PUBLIC_URL; here that is the hub under test.
    await page.goto(`${hub.url}${link}`);
    const pageBody = page.getByTestId('chat-action');
    await expect.poll(() => pageBody.textContent()).toContain('Acknowledge the alert');
    expect(await pageBody.textContent()).toContain('e2e always');
    await page.getByTestId('chat-action-confirm').click();
    await expect.poll(() => page.getByTestId('chat-action-done').textContent()).toBe('Acknowledged by admin');
    const detail = (await api<AlertDetail>(hub.url, 'GET', `/api/alerts/${alert.id}`)).body;
    expect(detail.acknowledgedBy).toBe('admin');
    const audit = (await api<AuditList>(hub.url, 'GET', '/api/audit?action=alert.acknowledge')).body;
    expect(audit.entries[0]).toMatchObject({ actor: 'admin', details: { alertId: alert.id, via: 'slack' } });
    // Opened again: it says it was done, and offers nothing to press.
    await page.reload();
    await expect.poll(() => pageBody.textContent()).toContain('Already done by admin');
    expect(await page.getByTestId('chat-action-confirm').count()).toBe(0);
  });

  it('switches a Telegram channel\'s buttons to polling and back to the webhook from Alerts → Channels', async () => {
    await page.goto(`${hub.url}/alerts/channels`);
    const row = page.locator('[data-testid=channel-row][data-channel=tg]');
    await row.getByTestId('telegram-polling').click();
    await expect.poll(() => telegram.requests.some((r) => r.path.endsWith('/deleteWebhook'))).toBe(true);
    // The hub (its own leader) starts polling the bot.
    await expect.poll(() => telegram.requests.some((r) => r.path.endsWith('/getUpdates')), { timeout: 20_000 }).toBe(true);
    const setBefore = telegram.requests.filter((r) => r.path.endsWith('/setWebhook')).length;
    await row.getByTestId('telegram-webhook').click();
    await expect.poll(() => telegram.requests.filter((r) => r.path.endsWith('/setWebhook')).length).toBe(setBefore + 1);
    await expect.poll(() => page.getByText('Telegram now posts button presses of "tg" to this hub').count()).toBeGreaterThan(0);
    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
