import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentStatusEvent } from '@farol/protocol';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { connectUi, onUiEvent, readConnectError, type UiSocket } from './realtime.client.js';

const statusEvent: AgentStatusEvent = {
  agentId: 'ag_0123456789abcdef',
  name: 'web-1',
  status: 'online',
  lastSeen: 1_700_000_000_000,
  at: 1_700_000_000_000,
  reason: 'connected',
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Socket.IO server with a /ui namespace that accepts only `good-token`, like the hub. */
async function startUiHub(options: { path?: string } = {}) {
  const http = createServer();
  const io = new Server(http, { path: options.path ?? '/socket.io' });
  const handshakes: unknown[] = [];
  io.of('/ui').use((socket, next) => {
    handshakes.push(socket.handshake.auth);
    if (socket.handshake.auth.token === 'good-token') return next();
    const refusal = Object.assign(new Error('token refused'), { data: { code: 'token_invalid', message: 'unknown token' } });
    return next(refusal);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => io.close(() => resolve())));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, io, handshakes };
}

function track(socket: UiSocket): UiSocket {
  cleanups.push(() => void socket.close());
  return socket;
}

describe('connectUi', () => {
  it('joins /ui with the token in the handshake and receives typed events', async () => {
    const hub = await startUiHub();
    hub.io.of('/ui').on('connection', (socket) => socket.emit('agent:status', statusEvent));
    const socket = track(connectUi({ baseUrl: hub.url, token: 'good-token' }));

    const received = await new Promise<AgentStatusEvent>((resolve) => socket.on('agent:status', resolve));
    expect(received).toEqual(statusEvent);
    expect(hub.handshakes).toEqual([{ token: 'good-token' }]);
  });

  it('moves a base URL path prefix into the Socket.IO path, not the namespace', async () => {
    const hub = await startUiHub({ path: '/farol/socket.io' });
    const socket = track(connectUi({ baseUrl: `${hub.url}/farol/`, token: 'good-token' }));
    await new Promise<void>((resolve) => socket.on('connect', resolve));
    expect(socket.connected).toBe(true);
  });

  it('exposes the code of a refused connection', async () => {
    const hub = await startUiHub();
    const socket = track(connectUi({ baseUrl: hub.url, token: 'bad-token', socketOptions: { reconnection: false } }));
    const error = await new Promise<Error>((resolve) => socket.on('connect_error', resolve));
    expect(readConnectError(error)).toEqual({ code: 'token_invalid', message: 'unknown token' });
  });
});

describe('onUiEvent', () => {
  it('passes valid payloads to the handler and invalid ones to onInvalid', async () => {
    const hub = await startUiHub();
    hub.io.of('/ui').on('connection', (socket) => {
      socket.emit('agent:status', { ...statusEvent, status: 'sleeping' } as unknown as AgentStatusEvent);
      socket.emit('agent:status', statusEvent);
    });
    const socket = track(connectUi({ baseUrl: hub.url, token: 'good-token' }));
    const invalid: string[] = [];

    const received = await new Promise<AgentStatusEvent>((resolve) =>
      onUiEvent(socket, 'agent:status', resolve, (event, error) => invalid.push(`${event}: ${error.message}`)),
    );
    expect(received.status).toBe('online');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatch(/^agent:status: invalid agent:status payload/);
  });

  it('stops calling the handler after unsubscribing', async () => {
    const hub = await startUiHub();
    const socket = track(connectUi({ baseUrl: hub.url, token: 'good-token' }));
    await new Promise<void>((resolve) => socket.on('connect', resolve));
    const seen: string[] = [];
    const unsubscribe = onUiEvent(socket, 'agent:removed', (p) => seen.push(p.agentId), () => seen.push('invalid'));
    unsubscribe();
    hub.io.of('/ui').emit('agent:removed', { agentId: statusEvent.agentId });
    // A second event after a round trip proves the first one had time to arrive.
    const marker = new Promise<void>((resolve) => socket.once('agent:status', () => resolve()));
    hub.io.of('/ui').emit('agent:status', statusEvent);
    await marker;
    expect(seen).toEqual([]);
  });
});
