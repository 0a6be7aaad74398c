import { createPublicKey } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AlertDetail, AlertList, AuditList, CommandClaims, CommandRun, ContainerSample, Job, JobList, Silence } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun, sample, type PeerIdentity } from '../../testing/protocol-peer.js';
import { startDiscord, startSlack, startTelegram, type ProviderEmulator, type RecordedRequest } from '../notify/testing/provider-emulators.js';

// Issue #20 item 5: acting on an alert from the chat where it arrived. A real hub, a protocol
// peer as the agent, and loopback servers speaking the Telegram Bot API, Slack and Discord.

const BOT_TOKEN = '123456:AAH-chat-actions-bot-token-abcdef';
const CHAT_ID = '-100123456';
const PUBLIC_URL = 'https://farol.example.test';
const PASSWORD = 'correct horse battery staple';
const TOKEN_RE = /^[A-Za-z0-9_-]{34}$/;

let hub: HubFixture;
let telegram: ProviderEmulator;
let slack: ProviderEmulator;
let discord: ProviderEmulator;
let peer: PeerIdentity;
let socket: Socket;
const commands: CommandClaims[] = [];
let tgChannelId: string;
let webhookSecret: string;
const tokens: Record<'ops' | 'viewer' | 'scoped', string> = { ops: '', viewer: '', scoped: '' };
let updateId = 1;

type Keyboard = Array<Array<{ text: string; callback_data?: string; url?: string }>>;
interface SentMessage {
  chat_id: string;
  text: string;
  parse_mode: string;
  disable_web_page_preview: boolean;
  reply_markup: { inline_keyboard: Keyboard };
}

const calls = (method: string): RecordedRequest[] => telegram.requests.filter((r) => r.path === `/bot${BOT_TOKEN}/${method}`);
const lastCall = (method: string): Record<string, unknown> => calls(method).at(-1)!.json as Record<string, unknown>;

function postUpdate(update: Record<string, unknown>, secret: string | null = webhookSecret, channelId = tgChannelId): Promise<Response> {
  return fetch(`${hub.url}/api/chat/telegram/${channelId}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
    body: JSON.stringify({ update_id: updateId++, ...update }),
  });
}

const FROM = {
  ops: { id: 1001, is_bot: false, first_name: 'Olga', username: 'olga_ops' },
  viewer: { id: 1002, is_bot: false, first_name: 'Vic', username: 'vic_views' },
  scoped: { id: 1003, is_bot: false, first_name: 'Stan', username: 'stan_staging' },
  stranger: { id: 9999, is_bot: false, first_name: 'Eve' },
};

function watchedDown(name: string): ContainerSample {
  return {
    id: 'c'.repeat(64),
    name,
    image: 'nginx:1',
    state: 'exited',
    status: 'Exited (137) 2 seconds ago',
    health: 'none',
    restartCount: 0,
    exitCode: 137,
    cpuPercent: null,
    memoryBytes: null,
    memoryLimitBytes: null,
    createdAt: Date.now() - 60_000,
    startedAt: Date.now() - 60_000,
    watched: true,
  };
}

async function login(username: string, role: string, scope?: string): Promise<string> {
  expect((await hub.api('POST', '/api/users', { username, password: PASSWORD, role, ...(scope ? { scope } : {}) })).status).toBe(201);
  const answer = await hub.api('POST', '/api/auth/login', { username, password: PASSWORD, issue: 'token' }, null);
  expect(answer.status).toBe(200);
  return (answer.body as { token: { token: string } }).token.token;
}

async function linkTelegram(token: string, from: (typeof FROM)['ops']): Promise<void> {
  const code = await hub.api('POST', '/api/me/chat-links/code', {}, token);
  expect(code.status).toBe(201);
  const { command } = code.body as { command: string };
  const sent = calls('sendMessage').length;
  expect((await postUpdate({ message: { message_id: 50 + from.id, from, chat: { id: from.id, type: 'private' }, text: command } })).status).toBe(200);
  expect(calls('sendMessage')).toHaveLength(sent + 1);
  expect(lastCall('sendMessage')).toEqual({ chat_id: from.id, text: expect.stringContaining('Linked: buttons you press on Farol alerts now act as'), reply_to_message_id: 50 + from.id });
}

let message: SentMessage;
let alert: Alert;
/** The pressed message as Telegram sends it back: its text without markup, and its keyboard. */
let pressedMessage: Record<string, unknown>;
const button = (label: string): string => message.reply_markup.inline_keyboard.flat().find((b) => b.text === label)!.callback_data!;

function press(from: (typeof FROM)['ops'] | (typeof FROM)['stranger'], data: string, id = `cq${updateId}`): Promise<Response> {
  return postUpdate({ callback_query: { id, from, chat_instance: '42', message: pressedMessage, data } });
}
const answerOf = (id: string) => calls('answerCallbackQuery').find((r) => (r.json as { callback_query_id: string }).callback_query_id === id)?.json;
const alertNow = async (): Promise<AlertDetail> => (await hub.api('GET', `/api/alerts/${alert.id}`)).body as AlertDetail;

beforeAll(async () => {
  telegram = await startTelegram(BOT_TOKEN);
  slack = await startSlack();
  discord = await startDiscord();
  hub = await startHubFixture({
    FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32',
    FAROL_PUBLIC_URL: PUBLIC_URL,
    FAROL_ALERTS_CHANNELS: 'tg,sl,dc',
    FAROL_ALERTS_GROUP_WINDOW: '50ms',
    FAROL_LOGIN_RATE_LIMIT: '1000',
  });
  const tg = await hub.api('POST', '/api/channels', { type: 'telegram', name: 'tg', settings: { botToken: BOT_TOKEN, chatId: CHAT_ID, apiBase: telegram.url } });
  expect(tg.status, JSON.stringify(tg.body)).toBe(201);
  tgChannelId = (tg.body as { id: string }).id;
  expect((await hub.api('POST', '/api/channels', { type: 'slack', name: 'sl', settings: { webhookUrl: `${slack.url}/services/T0/B0/xyz` } })).status).toBe(201);
  expect((await hub.api('POST', '/api/channels', { type: 'discord', name: 'dc', settings: { webhookUrl: `${discord.url}/api/webhooks/1/abc` } })).status).toBe(201);
  tokens.ops = await login('olga', 'operator');
  tokens.viewer = await login('vic', 'viewer');
  tokens.scoped = await login('stan', 'operator', 'env=staging');
}, 60_000);

afterAll(async () => {
  socket?.close();
  await hub?.stop();
  await telegram?.close();
  await slack?.close();
  await discord?.close();
});

describe('Telegram webhook and linking', () => {
  it('registers the hub as the bot\'s webhook with a secret token (setWebhook), audited', async () => {
    const answer = await hub.api('POST', '/api/channels/tg/telegram/webhook', {});
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const url = `${PUBLIC_URL}/api/chat/telegram/${tgChannelId}/webhook`;
    expect(answer.body).toEqual({ mode: 'webhook', url, allowedUpdates: ['callback_query', 'message'] });
    const request = calls('setWebhook')[0]!;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.json).toEqual({ url, secret_token: expect.stringMatching(/^[0-9a-f]{64}$/), allowed_updates: ['callback_query', 'message'] });
    webhookSecret = (request.json as { secret_token: string }).secret_token;
    const audit = (await hub.api('GET', '/api/audit?action=channel.telegram_updates')).body as AuditList;
    expect(audit.entries.map((e) => e.details)).toContainEqual(expect.objectContaining({ channelId: tgChannelId, mode: 'webhook', url }));
    // Webhook mode: the hub does not poll.
    expect(calls('getUpdates')).toEqual([]);
  });

  it('answers 401 to an update without the secret header or with a wrong one, and does nothing', async () => {
    const before = telegram.requests.length;
    expect((await postUpdate({ message: { message_id: 1, from: FROM.ops, chat: { id: 1 }, text: '/start' } }, null)).status).toBe(401);
    const wrong = await postUpdate({ message: { message_id: 1, from: FROM.ops, chat: { id: 1 }, text: '/start' } }, 'f'.repeat(64));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: 'unauthorized' });
    // Another channel's secret is not this channel's.
    expect((await postUpdate({ message: { message_id: 1, from: FROM.ops, chat: { id: 1 }, text: '/start' } }, webhookSecret, 'ch_someotherchannel')).status).toBe(401);
    expect(telegram.requests.length).toBe(before);
  });

  it('links a Telegram user with a one-time code sent as /link CODE; a used or unknown code is refused', async () => {
    const code = await hub.api('POST', '/api/me/chat-links/code', {}, tokens.ops);
    const { command } = code.body as { command: string; code: string };
    expect(command).toMatch(/^\/link [0-9A-Z]{5}-[0-9A-Z]{5}$/);
    await postUpdate({ message: { message_id: 7, from: FROM.ops, chat: { id: FROM.ops.id, type: 'private' }, text: command } });
    expect(lastCall('sendMessage')).toEqual({ chat_id: FROM.ops.id, text: 'Linked: buttons you press on Farol alerts now act as olga, with that user\'s permissions.', reply_to_message_id: 7 });
    // The same code again (someone who saw it in the chat) links nobody.
    await postUpdate({ message: { message_id: 8, from: FROM.stranger, chat: { id: FROM.stranger.id, type: 'private' }, text: command } });
    expect(lastCall('sendMessage')).toEqual({ chat_id: FROM.stranger.id, text: expect.stringContaining('This code is unknown or expired'), reply_to_message_id: 8 });
    const links = (await hub.api('GET', '/api/me/chat-links', undefined, tokens.ops)).body as { links: Array<{ provider: string; externalId: string; externalName: string }> };
    expect(links.links).toEqual([expect.objectContaining({ provider: 'telegram', externalId: '1001', externalName: '@olga_ops' })]);
    await linkTelegram(tokens.viewer, FROM.viewer);
    await linkTelegram(tokens.scoped, FROM.scoped);
    const audit = (await hub.api('GET', '/api/audit?action=chat.link')).body as AuditList;
    expect(audit.entries.map((e) => [e.actor, e.details.externalId, e.details.via])).toEqual(expect.arrayContaining([['olga', '1001', 'telegram'], ['vic', '1002', 'telegram']]));
  });
});

describe('an alert message with buttons, and presses', () => {
  beforeAll(async () => {
    peer = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env: 'prod' } }), 'web-host');
    const connected = await connectPeer(hub.url, peer);
    socket = connected.socket!;
    const key = createPublicKey({ key: { ...peer.enrollment.hubPublicKey }, format: 'jwk' });
    socket.on('command:run', (run: CommandRun) => {
      const claims = readCommandRun(run, key);
      commands.push(claims);
      // docker_logs for the alert's log lines: this machine has none to give.
      if (claims.command.kind === 'docker_logs') {
        void emitAck(socket, 'command:result', { commandId: claims.commandId, state: 'failed', exitCode: null, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, startedAt: Date.now(), endedAt: Date.now(), error: 'no Docker here' });
      }
    });
    expect((await hello(socket, 10_000, 'web-host')).ok).toBe(true);
    expect(await emitAck(socket, 'metrics:report', { samples: [sample(Date.now(), 5, { containers: [watchedDown('web')] })] })).toMatchObject({ ok: true });
    alert = await waitFor(async () => ((await hub.api('GET', '/api/alerts')).body as AlertList).alerts.find((a) => a.ruleName === 'Watched container down' && a.state === 'firing'), 15_000, 'the container alert');
    const sent = await waitFor(async () => calls('sendMessage').find((r) => (r.json as { chat_id: string }).chat_id === CHAT_ID), 20_000, 'the alert on Telegram');
    message = sent.json as SentMessage;
    pressedMessage = {
      message_id: 1 + calls('sendMessage').indexOf(sent),
      chat: { id: Number(CHAT_ID), type: 'supergroup' },
      date: 0,
      text: 'FIRING: Watched container down on web-host',
      entities: [{ type: 'bold', offset: 0, length: 6 }],
      reply_markup: message.reply_markup,
    };
  }, 60_000);

  it('sends the alert with an inline keyboard: acknowledge, silence 1 h, restart the container, open in Mission Control', () => {
    const request = calls('sendMessage').find((r) => (r.json as { chat_id: string }).chat_id === CHAT_ID)!;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.json).toEqual({
      chat_id: CHAT_ID,
      text: expect.stringContaining('Watched container down'),
      parse_mode: 'HTML',
      disable_web_page_preview: true,
      reply_markup: {
        inline_keyboard: [
          [
            { text: '✅ Acknowledge', callback_data: expect.stringMatching(TOKEN_RE) },
            { text: '🔕 Silence 1 h', callback_data: expect.stringMatching(TOKEN_RE) },
            { text: '🔄 Restart web', callback_data: expect.stringMatching(TOKEN_RE) },
          ],
          [{ text: '🔎 Open in Mission Control', url: `${PUBLIC_URL}/machines/${peer.agentId}` }],
        ],
      },
    });
    const data = message.reply_markup.inline_keyboard[0]!.map((b) => b.callback_data!);
    expect(new Set(data).size).toBe(3);
    for (const d of data) expect(Buffer.byteLength(d)).toBeLessThanOrEqual(64);
  });

  it('puts signed action links and the Mission Control link in the Slack and Discord messages', async () => {
    const slackBody = (await waitFor(async () => slack.requests[0], 10_000, 'the Slack message')).json as { blocks: Array<{ type: string; text: { type: string; text: string } }> };
    const link = (label: string) => new RegExp(`<${PUBLIC_URL}/chat/act/[A-Za-z0-9_-]{34}\\|${label}>`);
    const actBlock = slackBody.blocks.at(-1)!;
    expect(actBlock.type).toBe('section');
    expect(actBlock.text.type).toBe('mrkdwn');
    expect(actBlock.text.text).toMatch(/^Act: /);
    for (const label of ['✅ Acknowledge', '🔕 Silence 1 h', '🔄 Restart web']) expect(actBlock.text.text).toMatch(link(label));
    expect(actBlock.text.text).toContain(`<${PUBLIC_URL}/machines/${peer.agentId}|🔎 Open in Mission Control>`);

    const discordBody = (await waitFor(async () => discord.requests[0], 10_000, 'the Discord message')).json as { embeds: Array<{ fields: Array<{ name: string; value: string }> }> };
    const field = discordBody.embeds[0]!.fields[0]!;
    expect(field.name).toBe('Act');
    for (const label of ['✅ Acknowledge', '🔕 Silence 1 h', '🔄 Restart web']) {
      expect(field.value).toMatch(new RegExp(`\\[${label}\\]\\(${PUBLIC_URL}/chat/act/[A-Za-z0-9_-]{34}\\)`));
    }
    expect(field.value).toContain(`[🔎 Open in Mission Control](${PUBLIC_URL}/machines/${peer.agentId})`);
  });

  it('refuses a press with tampered data and changes nothing', async () => {
    const data = button('✅ Acknowledge');
    const tampered = `${data.slice(0, 20)}${data[20] === 'A' ? 'B' : 'A'}${data.slice(21)}`;
    expect((await press(FROM.ops, tampered, 'cq-tampered')).status).toBe(200);
    // The last character of the MAC carries 4 spare bits: another spelling of the same bytes is refused too.
    const last = data.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sameBytes = `${data.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
    expect(Buffer.from(sameBytes.slice(12), 'base64url')).toEqual(Buffer.from(data.slice(12), 'base64url'));
    await press(FROM.ops, sameBytes, 'cq-spelling');
    expect(answerOf('cq-spelling')).toMatchObject({ show_alert: true, text: 'This button\'s signature is wrong; nothing was done.' });
    expect(answerOf('cq-tampered')).toEqual({ callback_query_id: 'cq-tampered', text: 'This button\'s signature is wrong; nothing was done.', show_alert: true });
    // Another action's id with this one's MAC is just as wrong.
    const swapped = `${button('🔄 Restart web').slice(0, 12)}${data.slice(12)}`;
    await press(FROM.ops, swapped, 'cq-swapped');
    expect(answerOf('cq-swapped')).toMatchObject({ show_alert: true, text: 'This button\'s signature is wrong; nothing was done.' });
    expect((await alertNow()).acknowledgedAt).toBeNull();
    expect(calls('editMessageText')).toHaveLength(0);
  });

  it('refuses a press from a Telegram user linked to no Farol user, and audits it', async () => {
    await press(FROM.stranger, button('✅ Acknowledge'), 'cq-stranger');
    expect(answerOf('cq-stranger')).toEqual({ callback_query_id: 'cq-stranger', text: expect.stringContaining('Your Telegram account is not linked to a Farol user; nothing was done.'), show_alert: true });
    expect((await alertNow()).acknowledgedAt).toBeNull();
    const audit = (await hub.api('GET', '/api/audit?action=chat.action_refused')).body as AuditList;
    expect(audit.entries[0]).toMatchObject({ actor: 'telegram:9999', details: { kind: 'ack', alertId: alert.id, reason: 'the Telegram user is not linked to a Farol user', via: 'telegram' } });
  });

  it('refuses a restart pressed by a user mapped to a viewer', async () => {
    await press(FROM.viewer, button('🔄 Restart web'), 'cq-viewer');
    expect(answerOf('cq-viewer')).toEqual({
      callback_query_id: 'cq-viewer',
      text: 'Refused: restarting a container needs the permission commands:exec, which your role (viewer) does not include.',
      show_alert: true,
    });
    expect(commands.filter((c) => c.command.kind === 'docker_restart')).toEqual([]);
    await press(FROM.viewer, button('✅ Acknowledge'), 'cq-viewer-ack');
    expect(answerOf('cq-viewer-ack')).toMatchObject({ text: expect.stringContaining('needs the permission alerts:manage'), show_alert: true });
    expect((await alertNow()).acknowledgedAt).toBeNull();
  });

  it('refuses every action to an operator whose label scope does not hold the alert\'s machine', async () => {
    for (const label of ['✅ Acknowledge', '🔕 Silence 1 h', '🔄 Restart web']) {
      const id = `cq-scoped-${label.length}`;
      await press(FROM.scoped, button(label), id);
      expect(answerOf(id)).toEqual({ callback_query_id: id, text: 'Refused: this machine is outside your scope (env=staging).', show_alert: true });
    }
    expect((await alertNow()).acknowledgedAt).toBeNull();
    expect(((await hub.api('GET', '/api/silences')).body as { silences: Silence[] }).silences).toEqual([]);
    expect(commands.filter((c) => c.command.kind === 'docker_restart')).toEqual([]);
    const refused = (await hub.api('GET', '/api/audit?action=chat.action_refused&actor=stan')).body as AuditList;
    expect(refused.entries.map((e) => e.details.kind).sort()).toEqual(['ack', 'restart', 'silence']);
  });

  it('acknowledges the alert for the linked operator, answers the press, edits the message, audits via telegram', async () => {
    const data = button('✅ Acknowledge');
    expect((await press(FROM.ops, data, 'cq-ack')).status).toBe(200);
    const acked = await alertNow();
    expect(acked.acknowledgedBy).toBe('olga');
    expect(answerOf('cq-ack')).toEqual({ callback_query_id: 'cq-ack', text: 'Acknowledged by olga.' });
    const edit = calls('editMessageText').at(-1)!.json as Record<string, unknown>;
    expect(edit).toEqual({
      chat_id: Number(CHAT_ID),
      message_id: pressedMessage.message_id,
      text: expect.stringMatching(/^FIRING: Watched container down on web-host\n\nAcknowledged by olga \(@olga_ops\) at \d\d:\d\d UTC\.$/),
      entities: [{ type: 'bold', offset: 0, length: 6 }],
      disable_web_page_preview: true,
      reply_markup: {
        inline_keyboard: [
          [message.reply_markup.inline_keyboard[0]![1], message.reply_markup.inline_keyboard[0]![2]],
          message.reply_markup.inline_keyboard[1],
        ],
      },
    });
    const audit = (await hub.api('GET', '/api/audit?action=alert.acknowledge')).body as AuditList;
    expect(audit.entries[0]).toMatchObject({ actor: 'olga', details: { alertId: alert.id, via: 'telegram' } });
  });

  it('refuses the same press again (single use)', async () => {
    const edits = calls('editMessageText').length;
    await press(FROM.ops, button('✅ Acknowledge'), 'cq-replay');
    expect(answerOf('cq-replay')).toEqual({ callback_query_id: 'cq-replay', text: 'This action was already used.', show_alert: true });
    expect(calls('editMessageText')).toHaveLength(edits);
  });

  it('silences the alert\'s rule on its machine for one hour', async () => {
    const before = Date.now();
    await press(FROM.ops, button('🔕 Silence 1 h'), 'cq-silence');
    expect(answerOf('cq-silence')).toEqual({ callback_query_id: 'cq-silence', text: 'Silenced for 1 h by olga.' });
    const silences = ((await hub.api('GET', '/api/silences')).body as { silences: Silence[] }).silences;
    expect(silences).toHaveLength(1);
    expect(silences[0]).toMatchObject({ matcher: { rules: [alert.ruleId], agents: [peer.agentId] }, createdBy: 'olga', active: true });
    expect(silences[0]!.endsAt - before).toBeGreaterThanOrEqual(3_600_000);
    expect(silences[0]!.endsAt - Date.now()).toBeLessThanOrEqual(3_600_000);
    const audit = (await hub.api('GET', '/api/audit?action=silence.create')).body as AuditList;
    expect(audit.entries[0]).toMatchObject({ actor: 'olga', details: { silenceId: silences[0]!.id, via: 'telegram' } });
  });

  it('restarts the container: a docker_restart job is dispatched to the machine', async () => {
    await press(FROM.ops, button('🔄 Restart web'), 'cq-restart');
    expect(answerOf('cq-restart')).toMatchObject({ callback_query_id: 'cq-restart', text: expect.stringMatching(/^Restart of web requested by olga \(job job_[a-z0-9]+\)\.$/) });
    const restart = await waitFor(async () => commands.find((c) => c.command.kind === 'docker_restart'), 10_000, 'the docker_restart command');
    expect(restart.command).toEqual({ kind: 'docker_restart', container: 'web' });
    const jobs = ((await hub.api('GET', '/api/jobs')).body as JobList).jobs.filter((j) => j.command.kind === 'docker_restart');
    expect(jobs).toHaveLength(1);
    const job = (await hub.api('GET', `/api/jobs/${jobs[0]!.id}`)).body as Job;
    expect(job).toMatchObject({ createdBy: 'olga', targets: [expect.objectContaining({ agentId: peer.agentId })] });
    const audit = (await hub.api('GET', '/api/audit?action=command.create')).body as AuditList;
    expect(audit.entries.find((e) => e.jobId === jobs[0]!.id)).toMatchObject({ actor: 'olga', details: { via: 'telegram' } });
  });
});

describe('Slack and Discord links: a confirmation page performs the action for the signed-in user', () => {
  const linkToken = (label: string): string => {
    const text = (slack.requests[0]!.json as { blocks: Array<{ text: { text: string } }> }).blocks.at(-1)!.text.text;
    return new RegExp(`/chat/act/([A-Za-z0-9_-]{34})\\|${label}>`).exec(text)![1]!;
  };

  it('shows what the link does, performs it once for an authorized user, refuses a viewer and a tampered link', async () => {
    const token = linkToken('🔄 Restart web');
    const view = await hub.api('GET', `/api/chat/actions/${token}`, undefined, tokens.viewer);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ kind: 'restart', alertId: alert.id, container: 'web', agentName: 'web-host', usedAt: null });

    const refused = await hub.api('POST', `/api/chat/actions/${token}`, undefined, tokens.viewer);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'forbidden' });
    // Outside the user's scope: not even shown.
    expect((await hub.api('GET', `/api/chat/actions/${token}`, undefined, tokens.scoped)).status).toBe(403);
    expect((await hub.api('POST', `/api/chat/actions/${token}`, undefined, tokens.scoped)).status).toBe(403);

    const tampered = await hub.api('POST', `/api/chat/actions/${token.slice(0, -2)}AA`, undefined, tokens.ops);
    expect(tampered.status).toBe(404);

    const done = await hub.api('POST', `/api/chat/actions/${token}`, undefined, tokens.ops);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ kind: 'restart', jobId: expect.stringMatching(/^job_/) });
    const jobId = (done.body as { jobId: string }).jobId;
    const audit = (await hub.api('GET', '/api/audit?action=command.create')).body as AuditList;
    expect(audit.entries.find((e) => e.jobId === jobId)).toMatchObject({ actor: 'olga', details: { via: 'slack' } });

    const again = await hub.api('POST', `/api/chat/actions/${token}`, undefined, tokens.ops);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict', detail: 'This action was already used.' });
    expect(((await hub.api('GET', `/api/chat/actions/${token}`, undefined, tokens.ops)).body as { usedBy: string }).usedBy).toBe('olga');
  });

  it('does not take a Telegram button to the link page of another channel, nor a link to the Telegram webhook', async () => {
    const slackToken = linkToken('✅ Acknowledge');
    await press(FROM.ops, slackToken, 'cq-cross');
    expect(answerOf('cq-cross')).toMatchObject({ text: 'This action belongs to another channel; nothing was done.', show_alert: true });
  });
});

describe('who may link', () => {
  it('refuses a link code to an API token limited to some permissions (the link would act with all of them)', async () => {
    const created = await fetch(`${hub.url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.ops}`, 'content-type': 'application/json', 'x-farol-password': PASSWORD },
      body: JSON.stringify({ name: 'read-only', permissions: ['nodes:read'] }),
    });
    expect(created.status).toBe(201);
    const limited = ((await created.json()) as { token: string }).token;
    const refused = await hub.api('POST', '/api/me/chat-links/code', {}, limited);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('cannot link a chat account') });
  });
});

describe('unlinking', () => {
  it('removes a chat link: the next press from that Telegram user is refused', async () => {
    const links = ((await hub.api('GET', '/api/me/chat-links', undefined, tokens.viewer)).body as { links: Array<{ id: string }> }).links;
    expect((await hub.api('DELETE', `/api/me/chat-links/${links[0]!.id}`, undefined, tokens.viewer)).status).toBe(204);
    expect(((await hub.api('GET', '/api/me/chat-links', undefined, tokens.viewer)).body as { links: unknown[] }).links).toEqual([]);
    const other = await hub.api('DELETE', `/api/me/chat-links/${links[0]!.id}`, undefined, tokens.ops);
    expect(other.status).toBe(404);
  });
});
