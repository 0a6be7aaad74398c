import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Channel } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { NOW, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

let cli: CliHarness;
let hub: FakeHub;

const channels: Channel[] = [
  {
    id: 'ch_tg',
    name: 'ops-tg',
    type: 'telegram',
    enabled: true,
    settings: { botToken: '********', chatId: '-100200', apiBase: 'https://api.telegram.org' },
    template: null,
    rateLimit: { count: 20, perSeconds: 60 },
    quietHours: { start: '22:00', end: '07:00', timezone: 'UTC' },
    maintenance: [],
    source: 'api',
    createdAt: NOW - 3_600_000,
    updatedAt: NOW - 60_000,
  },
  {
    id: 'ch_wh',
    name: 'n8n',
    type: 'webhook',
    enabled: false,
    settings: { url: 'https://n8n.example.com/********' },
    template: null,
    rateLimit: { count: 5, perSeconds: 10 },
    quietHours: null,
    maintenance: [],
    source: 'file',
    createdAt: NOW - 3_600_000,
    updatedAt: NOW - 7_200_000,
  },
];

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({
    'GET /api/channels': { status: 200, body: { channels } },
    'POST /api/channels/ops-tg/test': { status: 200, body: { ok: true, status: 200, error: null, durationMs: 42 } },
    'POST /api/channels/n8n/test': { status: 200, body: { ok: false, status: 401, error: 'the provider refused the message (401): bad signature', durationMs: 12 } },
    'POST /api/channels': (request) => ({ status: 201, body: { ...channels[0], name: (request.body as { name: string }).name, settings: { ...(request.body as { settings: object }).settings, botToken: '********' } } }),
    'DELETE /api/channels/ops-tg': { status: 204 },
    'POST /api/channels/ops-tg/telegram/webhook': { status: 200, body: { mode: 'webhook', url: 'https://farol.example/api/chat/telegram/ch_tg/webhook', allowedUpdates: ['callback_query', 'message'] } },
    'POST /api/channels/ops-tg/telegram/polling': { status: 200, body: { mode: 'polling', url: null, allowedUpdates: ['callback_query', 'message'] } },
  });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol channels', () => {
  it('ls shows type, state, destination, limit and quiet hours, never secrets', async () => {
    const result = await cli.run(['channels', 'ls', '--hub', hub.url, '--token', 't']);
    expect(result.stdout).toBe(
      [
        'NAME    TYPE      STATE     SENDS TO                          LIMIT   QUIET HOURS      SOURCE  UPDATED',
        'ops-tg  telegram  enabled   chat -100200                      20/60s  22:00-07:00 UTC  api     1m ago',
        'n8n     webhook   disabled  https://n8n.example.com/********  5/10s   -                file    2h ago',
        '',
      ].join('\n'),
    );
  });

  it('ls --json prints the API answer', async () => {
    const result = await cli.run(['channels', 'ls', '--json', '--hub', hub.url, '--token', 't']);
    expect(JSON.parse(result.stdout)).toEqual({ channels });
  });

  it('test NAME reports the delivery, and fails with one line when the provider refused', async () => {
    expect(await cli.run(['channels', 'test', 'ops-tg', '--hub', hub.url, '--token', 't'])).toMatchObject({ code: 0, stdout: 'sent a test message through ops-tg (200, 42 ms)\n' });
    const refused = await cli.run(['channels', 'test', 'n8n', '--hub', hub.url, '--token', 't']);
    expect(refused).toMatchObject({ code: 1, stderr: 'farol: channel n8n: the provider refused the message (401): bad signature; check its settings (farol channels ls)\n' });
    const unknown = await cli.run(['channels', 'test', 'nope', '--hub', hub.url, '--token', 't']);
    expect(unknown).toMatchObject({ code: 1, stderr: 'farol: no channel "nope"; see farol channels ls\n' });
  });

  it('telegram NAME sets how button presses reach the hub: webhook by default, --polling (#20)', async () => {
    expect(await cli.run(['channels', 'telegram', 'ops-tg', '--hub', hub.url, '--token', 't'])).toMatchObject({
      code: 0,
      stdout: 'ops-tg: Telegram now posts button presses to https://farol.example/api/chat/telegram/ch_tg/webhook\n',
    });
    expect(await cli.run(['channels', 'telegram', 'ops-tg', '--polling', '--hub', hub.url, '--token', 't'])).toMatchObject({ code: 0, stdout: 'ops-tg: the hub now polls Telegram for button presses (no webhook)\n' });
    expect(hub.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(['/api/channels/ops-tg/telegram/webhook', '/api/channels/ops-tg/telegram/polling']);
    expect(await cli.run(['channels', 'telegram', 'nope', '--hub', hub.url, '--token', 't'])).toMatchObject({ code: 1, stderr: 'farol: no channel "nope"; see farol channels ls\n' });
  });

  it('add reads the settings from a YAML file; rm deletes', async () => {
    const file = path.join(cli.home, 'tg.yaml');
    await writeFile(file, 'botToken: "123:abc"\nchatId: "-100200"\n');
    const added = await cli.run(['channels', 'add', 'ops-tg2', '--type', 'telegram', '--settings-file', file, '--hub', hub.url, '--token', 't']);
    expect(added).toMatchObject({ code: 0, stdout: 'created telegram channel ops-tg2 (ch_tg); try it: farol channels test ops-tg2\n' });
    expect(hub.requests.find((r) => r.method === 'POST')!.body).toEqual({ type: 'telegram', name: 'ops-tg2', settings: { botToken: '123:abc', chatId: '-100200' } });
    const usage = await cli.run(['channels', 'add', 'x', '--type', 'telegram', '--hub', hub.url, '--token', 't']);
    expect(usage).toMatchObject({ code: 2, stderr: 'farol: give the settings with --settings JSON or --settings-file FILE (one of them)\n' });
    expect(await cli.run(['channels', 'rm', 'ops-tg', '--hub', hub.url, '--token', 't'])).toMatchObject({ code: 0, stdout: 'removed channel ops-tg\n' });
  });
});
