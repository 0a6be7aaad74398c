import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { connectUi } from './realtime.client.js';
import { openTerminal, type TerminalError } from './terminal.client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const opened = { sessionId: 'term_0123456789abcdef', agentId: 'ag_0123456789abcdef', agentName: 'web-1', shell: '/bin/sh', idleTimeoutMs: 600_000 };

/** A /ui namespace that opens terminals and refuses every keystroke and resize, like a hub whose session ended. */
async function startRefusingHub() {
  const http = createServer();
  const io = new Server(http);
  io.of('/ui').on('connection', (socket) => {
    socket.on('terminal:open', (_payload: unknown, ack: (answer: unknown) => void) => ack({ ok: true, data: opened }));
    const refuse = (_payload: unknown, ack: (answer: unknown) => void) => ack({ ok: false, error: { code: 'not_found', message: 'no such terminal session' } });
    socket.on('terminal:input', refuse);
    socket.on('terminal:resize', refuse);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => io.close(() => resolve())));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

describe('openTerminal', () => {
  it('reports keystrokes and resizes the hub refused instead of dropping them silently (#21)', async () => {
    const url = await startRefusingHub();
    const socket = connectUi({ baseUrl: url, token: 'any' });
    cleanups.push(() => void socket.close());
    const errors: Array<{ what: string; code: string }> = [];
    const reported = new Promise<void>((resolve) => {
      const onSendError = (error: TerminalError, what: 'input' | 'resize') => {
        errors.push({ what, code: error.code });
        if (errors.length === 2) resolve();
      };
      void openTerminal(socket, { agent: 'web-1', cols: 80, rows: 24, onOutput: () => undefined, onClosed: () => undefined, onSendError }).then((session) => {
        session.write('ls\r');
        session.resize(100, 30);
      });
    });
    await reported;
    expect(errors).toEqual(expect.arrayContaining([{ what: 'input', code: 'not_found' }, { what: 'resize', code: 'not_found' }]));
  });
});
