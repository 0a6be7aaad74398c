import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey } from 'node:crypto';
import type { AlertDetail, AlertList, AuditList, CommandRun, ContainerSample } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun, sample } from '../../testing/protocol-peer.js';
import { startTelegram, type TelegramEmulator } from '../notify/testing/provider-emulators.js';

// Issue #20 item 5: a hub Telegram cannot reach (no FAROL_PUBLIC_URL: on a tailnet) gets button
// presses by long polling (getUpdates), run by the leader, the offset stored as it goes.

const BOT_TOKEN = '123456:AAH-chat-polling-bot-token-abcdefg';
const CHAT_ID = '-100777';
const PASSWORD = 'correct horse battery staple';

let hub: HubFixture;
let telegram: TelegramEmulator;
let socket: Socket;
let updateId = 500;
let keyboard: Array<Array<{ text: string; callback_data?: string; url?: string }>>;
let sentAt = 0;
const from = { id: 4242, is_bot: false, first_name: 'Pat', username: 'pat_tg' };

const calls = (method: string) => telegram.requests.filter((r) => r.path === `/bot${BOT_TOKEN}/${method}`);

function container(): ContainerSample {
  return {
    id: 'd'.repeat(64),
    name: 'api',
    image: 'api:1',
    state: 'exited',
    status: 'Exited (1) 1 second ago',
    health: 'none',
    restartCount: 0,
    exitCode: 1,
    cpuPercent: null,
    memoryBytes: null,
    memoryLimitBytes: null,
    createdAt: Date.now() - 60_000,
    startedAt: Date.now() - 60_000,
    watched: true,
  };
}

beforeAll(async () => {
  telegram = await startTelegram(BOT_TOKEN);
  // Buttons valid for 6 s here (24 h by default), so a press after that is an expired one.
  hub = await startHubFixture({ FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_ALERTS_CHANNELS: 'tg', FAROL_ALERTS_GROUP_WINDOW: '50ms', FAROL_LOGIN_RATE_LIMIT: '1000', FAROL_CHAT_ACTION_TTL: '6s' });
  expect((await hub.api('POST', '/api/channels', { type: 'telegram', name: 'tg', settings: { botToken: BOT_TOKEN, chatId: CHAT_ID, apiBase: telegram.url } })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  socket?.close();
  // Stopping the hub aborts the long poll in flight: this returns at once, not after its timeout.
  await hub?.stop();
  await telegram?.close();
});

describe('Telegram long polling', () => {
  it('refuses webhook mode without FAROL_PUBLIC_URL, and switches the channel to polling (deleteWebhook), audited', async () => {
    const webhook = await hub.api('POST', '/api/channels/tg/telegram/webhook', {});
    expect(webhook.status).toBe(400);
    expect(webhook.body).toMatchObject({ code: 'validation_failed', detail: expect.stringContaining('FAROL_PUBLIC_URL') });
    const polling = await hub.api('POST', '/api/channels/tg/telegram/polling', {});
    expect(polling.status, JSON.stringify(polling.body)).toBe(200);
    expect(polling.body).toEqual({ mode: 'polling', url: null, allowedUpdates: ['callback_query', 'message'] });
    expect(calls('deleteWebhook').map((r) => r.json)).toEqual([{ drop_pending_updates: false }]);
    const audit = (await hub.api('GET', '/api/audit?action=channel.telegram_updates')).body as AuditList;
    expect(audit.entries[0]).toMatchObject({ actor: 'admin', details: { name: 'tg', mode: 'polling', url: null } });
    // The leader picks the channel up and long-polls it.
    const poll = await waitFor(async () => calls('getUpdates')[0], 20_000, 'the first getUpdates');
    expect(poll.json).toEqual({ offset: 0, timeout: 25, limit: 20, allowed_updates: ['callback_query', 'message'] });
  }, 30_000);

  it('links a user and acknowledges an alert from updates fetched with getUpdates, confirming each by its offset', async () => {
    expect((await hub.api('POST', '/api/users', { username: 'pat', password: PASSWORD, role: 'operator' })).status).toBe(201);
    const login = await hub.api('POST', '/api/auth/login', { username: 'pat', password: PASSWORD, issue: 'token' }, null);
    const token = (login.body as { token: { token: string } }).token.token;
    const { command } = (await hub.api('POST', '/api/me/chat-links/code', {}, token)).body as { command: string };
    const linkUpdate = ++updateId;
    telegram.pushUpdate({ update_id: linkUpdate, message: { message_id: 9, from, chat: { id: from.id, type: 'private' }, text: command } });
    await waitFor(async () => calls('sendMessage').find((r) => (r.json as { chat_id: number }).chat_id === from.id), 20_000, 'the /link reply');
    expect(calls('sendMessage').at(-1)!.json).toEqual({ chat_id: from.id, text: 'Linked: buttons you press on Farol alerts now act as pat, with that user\'s permissions.', reply_to_message_id: 9 });

    const peer = await enrollPeer(hub.url, await hub.createJoinToken(), 'api-host');
    socket = (await connectPeer(hub.url, peer)).socket!;
    const key = createPublicKey({ key: { ...peer.enrollment.hubPublicKey }, format: 'jwk' });
    socket.on('command:run', (run: CommandRun) => {
      const claims = readCommandRun(run, key);
      // docker_logs for the alert's log lines: this machine has none to give.
      if (claims.command.kind === 'docker_logs') {
        void emitAck(socket, 'command:result', { commandId: claims.commandId, state: 'failed', exitCode: null, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, startedAt: Date.now(), endedAt: Date.now(), error: 'no Docker here' });
      }
    });
    expect((await hello(socket, 10_000, 'api-host')).ok).toBe(true);
    expect(await emitAck(socket, 'metrics:report', { samples: [sample(Date.now(), 5, { containers: [container()] })] })).toMatchObject({ ok: true });
    const alert = await waitFor(async () => ((await hub.api('GET', '/api/alerts')).body as AlertList).alerts.find((a) => a.ruleName === 'Watched container down' && a.state === 'firing'), 15_000, 'the alert');
    const sent = await waitFor(async () => calls('sendMessage').find((r) => (r.json as { chat_id: string }).chat_id === CHAT_ID), 20_000, 'the alert message');
    sentAt = sent.at;
    keyboard = (sent.json as { reply_markup: { inline_keyboard: Array<Array<{ text: string; callback_data?: string; url?: string }>> } }).reply_markup.inline_keyboard;
    // Callback buttons (polling reaches the hub); no URL button without FAROL_PUBLIC_URL.
    expect(keyboard.map((row) => row.map((b) => b.text))).toEqual([['✅ Acknowledge', '🔕 Silence 1 h', '🔄 Restart api']]);
    expect(keyboard[0]!.every((b) => b.url === undefined && /^[A-Za-z0-9_-]{34}$/.test(b.callback_data ?? ''))).toBe(true);

    const pressUpdate = ++updateId;
    telegram.pushUpdate({
      update_id: pressUpdate,
      callback_query: { id: 'cq-poll', from, chat_instance: '1', data: keyboard[0]![0]!.callback_data, message: { message_id: 1, chat: { id: Number(CHAT_ID) }, text: 'FIRING', reply_markup: { inline_keyboard: keyboard } } },
    });
    const answered = await waitFor(async () => calls('answerCallbackQuery').find((r) => (r.json as { callback_query_id: string }).callback_query_id === 'cq-poll'), 20_000, 'the answer to the press');
    expect(answered.json).toEqual({ callback_query_id: 'cq-poll', text: 'Acknowledged by pat.' });
    expect(((await hub.api('GET', `/api/alerts/${alert.id}`)).body as AlertDetail).acknowledgedBy).toBe('pat');
    // The edit follows the answer to the press.
    const edit = await waitFor(async () => calls('editMessageText').at(-1), 10_000, 'the edited message');
    expect(edit.json).toMatchObject({ chat_id: Number(CHAT_ID), message_id: 1, text: expect.stringMatching(/^FIRING\n\nAcknowledged by pat \(@pat_tg\) at \d\d:\d\d UTC\.$/) });
    // The next poll confirms both updates: Telegram drops them, and a new leader starts after them.
    await waitFor(async () => calls('getUpdates').find((r) => (r.json as { offset: number }).offset === pressUpdate + 1), 20_000, 'a poll from the next offset');
    const audit = (await hub.api('GET', '/api/audit?action=alert.acknowledge')).body as AuditList;
    expect(audit.entries[0]).toMatchObject({ actor: 'pat', details: { alertId: alert.id, via: 'telegram' } });
  }, 60_000);

  it('refuses a press after the button expired (FAROL_CHAT_ACTION_TTL) and changes nothing', async () => {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, sentAt + 6_500 - Date.now())));
    telegram.pushUpdate({ update_id: ++updateId, callback_query: { id: 'cq-late', from, chat_instance: '1', data: keyboard[0]![1]!.callback_data, message: { message_id: 1, chat: { id: Number(CHAT_ID) }, text: 'FIRING' } } });
    const answered = await waitFor(async () => calls('answerCallbackQuery').find((r) => (r.json as { callback_query_id: string }).callback_query_id === 'cq-late'), 20_000, 'the answer to the late press');
    expect(answered.json).toEqual({ callback_query_id: 'cq-late', text: 'This action has expired; act from Mission Control.', show_alert: true });
    expect(((await hub.api('GET', '/api/silences')).body as { silences: unknown[] }).silences).toEqual([]);
    const audit = (await hub.api('GET', '/api/audit?action=chat.action_refused')).body as AuditList;
    expect(audit.entries[0]).toMatchObject({ actor: 'telegram:4242', details: { kind: 'silence', reason: 'expired', via: 'telegram' } });
  }, 30_000);
});
