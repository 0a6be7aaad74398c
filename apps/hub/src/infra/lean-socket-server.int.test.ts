import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@farol/test-support';
import { createLogger } from './logger.js';
import { decodePacket, isLeanUpgrade, LeanSocketServer, type LeanSocket, type LeanSocketServerOptions } from './lean-socket-server.js';

/*
 * The lean agent server (ADR 0036) against socket.io-client, the client Farol's agent uses, and
 * against a raw WebSocket that breaks the protocol on purpose.
 */

interface Harness {
  url: string;
  server: LeanSocketServer;
  sockets: LeanSocket[];
  reasons: string[];
  http: Server;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function startServer(options: Partial<LeanSocketServerOptions> = {}): Promise<Harness> {
  const sockets: LeanSocket[] = [];
  const reasons: string[] = [];
  const server = new LeanSocketServer({
    namespace: '/agent',
    admit: (socket, next) => {
      const auth = socket.handshake.auth as { token?: string };
      if (auth.token === 'good') next();
      else next(Object.assign(new Error('bad token'), { data: { code: 'token_invalid', message: 'bad token' } }));
    },
    onConnection: (socket) => {
      sockets.push(socket);
      socket.on('disconnect', (reason: string) => reasons.push(reason));
      socket.onAny(function (this: LeanSocket, event: unknown, ...args: unknown[]) {
        const ack = args.at(-1);
        if (typeof ack !== 'function') return;
        const payload = args[0];
        if (event === 'echo') ack(payload);
        else if (event === 'size') ack({ bytes: Buffer.isBuffer((payload as { data?: unknown }).data) ? (payload as { data: Buffer }).data.length : -1, first: (payload as { data: Buffer }).data[0] });
        else if (event === 'bye') {
          ack('bye');
          this.disconnect(true);
        }
      });
    },
    maxPayload: 100_000,
    pingIntervalMs: 25_000,
    pingTimeoutMs: 20_000,
    logger: createLogger('silent'),
    ...options,
  });
  const http = createServer();
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (isLeanUpgrade(request)) server.handleUpgrade(request, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  open.push(async () => {
    await server.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return { url, server, sockets, reasons, http };
}

/** socket.io-client as the agent sets it up; resolves connected or with the connect error. */
async function client(url: string, token: string): Promise<{ socket: ClientSocket; error?: Error & { data?: unknown } }> {
  const socket = connect(`${url}/agent`, { transports: ['websocket'], reconnection: false, query: { link: 'lean' }, auth: { token }, timeout: 5_000 });
  open.push(async () => {
    socket.close();
  });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (error: Error & { data?: unknown }) => resolve({ socket, error }));
  });
}

/** A raw WebSocket speaking Engine.IO by hand; collects what the server sends and when it closes. */
async function raw(url: string, query = 'EIO=4&transport=websocket&link=lean'): Promise<{ ws: WebSocket; received: string[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?${query}`);
  const received: string[] = [];
  ws.on('message', (data) => received.push(data.toString()));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  open.push(async () => {
    ws.terminate();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await waitFor(() => received.length > 0 || undefined, 5_000, 'the open packet');
  return { ws, received, closed };
}

describe('the lean agent server with socket.io-client', () => {
  it('admits with the auth object, answers acks, and carries events both ways', async () => {
    const h = await startServer();
    const { socket, error } = await client(h.url, 'good');
    expect(error).toBeUndefined();
    expect(socket.id).toBe(h.sockets[0]!.id);
    expect(await socket.timeout(5_000).emitWithAck('echo', { text: 'héllo ✓', n: [1, 2] })).toEqual({ text: 'héllo ✓', n: [1, 2] });
    const got = new Promise<unknown>((resolve) => socket.once('command:run', resolve));
    expect(h.sockets[0]!.emit('command:run', { id: 'c1', argv: ['echo', 'hi'] })).toBe(true);
    expect(await got).toEqual({ id: 'c1', argv: ['echo', 'hi'] });
    expect(h.server.size).toBe(1);
  });

  it('refuses with Socket.IO\'s connect_error, carrying the message and data, and closes', async () => {
    const h = await startServer();
    const { error } = await client(h.url, 'bad');
    expect(error?.message).toBe('bad token');
    expect(error?.data).toEqual({ code: 'token_invalid', message: 'bad token' });
    await waitFor(() => h.server.size === 0 || undefined, 5_000, 'the connection closed');
    expect(h.sockets).toEqual([]);
  });

  it('reassembles binary attachments (a screenshot chunk)', async () => {
    const h = await startServer();
    const { socket } = await client(h.url, 'good');
    const data = Buffer.alloc(50_000, 0xab);
    expect(await socket.timeout(5_000).emitWithAck('size', { seq: 1, data })).toEqual({ bytes: 50_000, first: 0xab });
  });

  it('keeps a "__proto__" key of an event with attachments a plain key', async () => {
    const h = await startServer();
    const peer = await raw(h.url);
    let seen: unknown;
    h.sockets.length = 0;
    peer.ws.send('40/agent,{"token":"good"}');
    await waitFor(() => h.sockets.length > 0 || undefined, 5_000, 'the connect');
    h.sockets[0]!.onAny((_event: unknown, payload: unknown) => {
      seen = payload;
    });
    peer.ws.send('451-/agent,["probe",{"__proto__":{"polluted":true},"data":{"_placeholder":true,"num":0}}]');
    peer.ws.send(Buffer.from([9]));
    await waitFor(() => seen !== undefined || undefined, 5_000, 'the event');
    const payload = seen as Record<string, unknown> & { polluted?: unknown };
    expect(Object.getPrototypeOf(payload)).toBe(Object.prototype);
    expect(payload.polluted).toBeUndefined();
    expect(Buffer.isBuffer(payload.data)).toBe(true);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('sends binary values to the client as attachments (terminal input)', async () => {
    const h = await startServer();
    const { socket } = await client(h.url, 'good');
    const got = new Promise<{ sessionId: string; data: unknown; parts: unknown[] }>((resolve) => socket.once('terminal:input', resolve));
    const bytes = Buffer.from([0x1b, 0x5b, 0x41, 0xff, 0x00]);
    h.sockets[0]!.emit('terminal:input', { sessionId: 's1', data: bytes, parts: [new Uint8Array([1, 2]), 'text', 3] });
    const input = await got;
    expect(input.sessionId).toBe('s1');
    expect(Buffer.isBuffer(input.data)).toBe(true);
    expect([...(input.data as Buffer)]).toEqual([0x1b, 0x5b, 0x41, 0xff, 0x00]);
    expect([...(input.parts[0] as Buffer)]).toEqual([1, 2]);
    expect(input.parts.slice(1)).toEqual(['text', 3]);
    // Data that came from JSON keeps a `__proto__` key as a key on the way out.
    const echoed = new Promise<Record<string, unknown>>((resolve) => socket.once('checks:assign', resolve));
    h.sockets[0]!.emit('checks:assign', JSON.parse('{"headers":{"__proto__":"x","a":"b"}}') as unknown);
    expect(JSON.stringify(await echoed)).toBe('{"headers":{"__proto__":"x","a":"b"}}');
  });

  it('says "io server disconnect" to the client when the hub disconnects it, and tells the hub once', async () => {
    const h = await startServer();
    const { socket } = await client(h.url, 'good');
    const reason = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    expect(await socket.timeout(5_000).emitWithAck('bye', null)).toBe('bye');
    expect(await reason).toBe('io server disconnect');
    expect(h.reasons).toEqual(['server namespace disconnect']);
    expect(h.server.size).toBe(0);
  });

  it('tells every disconnect listener once when the client goes away', async () => {
    const h = await startServer();
    const { socket } = await client(h.url, 'good');
    const second: string[] = [];
    h.sockets[0]!.on('disconnect', (reason: string) => second.push(reason));
    socket.close();
    await waitFor(() => h.reasons.length > 0 || undefined, 5_000, 'the disconnect');
    expect(['client namespace disconnect', 'transport close']).toContain(h.reasons[0]);
    expect(second).toEqual(h.reasons);
    expect(h.server.size).toBe(0);
  });

  it('pings every interval; a client that answers stays, and each round trip is reported', async () => {
    const h = await startServer({ pingIntervalMs: 300, pingTimeoutMs: 1_500 });
    const { socket } = await client(h.url, 'good');
    const lean = h.sockets[0]!;
    let pings = 0;
    let pongs = 0;
    lean.conn.on('packetCreate', (packet: { type: string }) => packet.type === 'ping' && pings++);
    lean.conn.on('packet', (packet: { type: string }) => packet.type === 'pong' && pongs++);
    await waitFor(() => pongs >= 3 || undefined, 10_000, 'three pongs');
    expect(pings).toBeGreaterThanOrEqual(pongs);
    expect(socket.connected).toBe(true);
    expect(h.reasons).toEqual([]);
  });
});

describe('the lean agent server with a peer that breaks the protocol', () => {
  it('opens with the Engine.IO handshake: the session id, no upgrades, the heartbeat and the largest message', async () => {
    const h = await startServer();
    const peer = await raw(h.url);
    const open = JSON.parse(peer.received[0]!.slice(1)) as Record<string, unknown>;
    expect(peer.received[0]!.charAt(0)).toBe('0');
    expect(open).toMatchObject({ upgrades: [], pingInterval: 25_000, pingTimeout: 20_000, maxPayload: 100_000 });
    expect(typeof open.sid).toBe('string');
  });

  it('closes a peer that does not answer pings, and says why', async () => {
    const h = await startServer({ pingIntervalMs: 200, pingTimeoutMs: 300 });
    const peer = await raw(h.url);
    peer.ws.send('40/agent,{"token":"good"}');
    await waitFor(() => h.sockets.length > 0 || undefined, 5_000, 'the connect');
    // Never a pong: the ping goes unanswered.
    await peer.closed;
    expect(peer.received).toContain('2');
    expect(h.reasons).toEqual(['ping timeout']);
  });

  it('refuses another namespace with "Invalid namespace" and closes', async () => {
    const h = await startServer();
    const peer = await raw(h.url);
    peer.ws.send('40/ui,{"token":"good"}');
    expect(await peer.closed).toBe(1002);
    expect(peer.received).toContain('44/ui,{"message":"Invalid namespace"}');
    expect(h.sockets).toEqual([]);
  });

  it.each([
    ['a malformed packet', '4not a packet'],
    ['a payload that is not JSON', '42/agent,1["echo",{'],
    ['an event before the namespace is connected', '42/agent,1["echo",1]'],
    ['a reserved event name', '42/agent,1["disconnect",1]'],
    ['an unknown Engine.IO packet type', '9'],
  ])('closes the connection on %s', async (_what, packet) => {
    const h = await startServer();
    const peer = await raw(h.url);
    peer.ws.send(packet);
    expect(await peer.closed).toBe(1002);
  });

  it('closes on a binary frame that no packet announced, and on one over the largest message', async () => {
    const h = await startServer();
    const stray = await raw(h.url);
    stray.ws.send('40/agent,{"token":"good"}');
    await waitFor(() => h.sockets.length > 0 || undefined, 5_000, 'the connect');
    stray.ws.send(Buffer.from([1, 2, 3]));
    expect(await stray.closed).toBe(1002);
    expect(h.reasons).toEqual(['parse error']);

    const big = await raw(h.url);
    big.ws.send(`40/agent,{"token":"${'x'.repeat(200_000)}"}`);
    expect(await big.closed).toBe(1009);
  });

  it('closes a peer that never connects to the namespace', async () => {
    const h = await startServer({ connectTimeoutMs: 300 });
    const peer = await raw(h.url);
    const closedAt = Date.now();
    await peer.closed;
    expect(Date.now() - closedAt).toBeLessThan(3_000);
    expect(h.server.size).toBe(0);
  });

  it('answers 400 to an Engine.IO version it does not speak, and takes no upgrade after close', async () => {
    const h = await startServer();
    await expect(raw(h.url, 'EIO=3&transport=websocket&link=lean')).rejects.toThrow(/400/);
    await h.server.close();
    await expect(raw(h.url)).rejects.toThrow();
  });
});

describe('decodePacket and isLeanUpgrade', () => {
  it('reads every part of a Socket.IO packet as socket.io-parser writes it', () => {
    expect(decodePacket('0/agent,{"token":"t"}')).toEqual({ type: 0, attachments: 0, nsp: '/agent', id: undefined, data: { token: 't' } });
    expect(decodePacket('2/agent,12["metrics:report",{"a":1}]')).toEqual({ type: 2, attachments: 0, nsp: '/agent', id: 12, data: ['metrics:report', { a: 1 }] });
    expect(decodePacket('51-/agent,3["screenshot:upload",{"_placeholder":true,"num":0}]')).toMatchObject({ type: 5, attachments: 1, id: 3 });
    expect(decodePacket('1/agent,')).toEqual({ type: 1, attachments: 0, nsp: '/agent', id: undefined, data: undefined });
    expect(decodePacket('2["x"]')).toMatchObject({ nsp: '/', data: ['x'] });
    for (const bad of ['', '7', '2/agent,{"a":1}', '5-/agent,["x"]', '5999-/agent,["x"]', '1/agent,{}', '0/agent,[1]']) expect(() => decodePacket(bad), bad).toThrow();
  });

  it('picks only /socket.io/ upgrades that ask for it', () => {
    const request = (url: string) => ({ url }) as IncomingMessage;
    expect(isLeanUpgrade(request('/socket.io/?EIO=4&transport=websocket&link=lean'))).toBe(true);
    expect(isLeanUpgrade(request('/socket.io/?link=lean&EIO=4&transport=websocket'))).toBe(true);
    expect(isLeanUpgrade(request('/socket.io/?EIO=4&transport=websocket'))).toBe(false);
    expect(isLeanUpgrade(request('/other/?link=lean'))).toBe(false);
  });
});
