import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Server, type Socket as ServerSocket } from 'socket.io';
import WebSocket from 'ws';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@farol/test-support';
import { releaseReceivedChunks, releaseUpgradeRequests, type FrameReceiverClass, type UpgradeHandlingEngine } from './socket-memory.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A Socket.IO server set up as the hub does (request dropped at connection), and one WebSocket client. */
async function connectOne(release: boolean): Promise<{ request: WeakRef<IncomingMessage>; close: () => Promise<void> }> {
  const http = createServer();
  const io = new Server(http, { serveClient: false, perMessageDeflate: false });
  let request: WeakRef<IncomingMessage> | undefined;
  io.engine.on('connection', (rawSocket: { request: IncomingMessage | null }) => {
    request = new WeakRef(rawSocket.request!);
    rawSocket.request = null;
  });
  if (release) releaseUpgradeRequests(io.engine as unknown as UpgradeHandlingEngine);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const client: ClientSocket = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
  return {
    request: request!,
    close: async () => {
      client.close();
      await io.close();
    },
  };
}

/** Collects until the request is gone or a few rounds have passed (a WeakRef survives the current job). */
async function collectedAfterGc(ref: WeakRef<object>): Promise<boolean> {
  for (let round = 0; round < 5; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

describe('releaseUpgradeRequests', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((close) => close()));
  });

  it('lets the upgrade request of a live WebSocket connection be collected', async () => {
    const connection = await connectOne(true);
    cleanups.push(connection.close);
    expect(await collectedAfterGc(connection.request)).toBe(true);
  });

  it('is needed: without it engine.io keeps the request for the life of the connection', async () => {
    const connection = await connectOne(false);
    cleanups.push(connection.close);
    expect(await collectedAfterGc(connection.request)).toBe(false);
  });

  it('leaves the connection working and closing normally', async () => {
    const http = createServer();
    const io = new Server(http, { serveClient: false });
    releaseUpgradeRequests(io.engine as unknown as UpgradeHandlingEngine);
    let disconnected = false;
    io.on('connection', (socket) => {
      socket.on('echo', (text: string, ack: (reply: string) => void) => ack(text));
      socket.on('disconnect', () => {
        disconnected = true;
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
    cleanups.push(async () => {
      client.close();
      await io.close();
    });
    expect(await client.timeout(10_000).emitWithAck('echo', 'hello')).toBe('hello');
    client.close();
    await waitFor(() => disconnected, 10_000, 'the server to see the disconnect');
  });
});

/** The server side of one connection as ws holds it: its receiver's current mask. */
function maskOf(socket: ServerSocket): Buffer {
  const ws = (socket.conn as unknown as { transport: { socket: { _receiver: { _mask: Buffer } } } }).transport.socket;
  return ws._receiver._mask;
}

/** A Socket.IO server set up as the hub's; one client sends a 48 KiB message and its ack comes back. */
async function afterBigMessage(): Promise<{ mask: Buffer; stillWorks: () => Promise<string>; close: () => Promise<void> }> {
  const http = createServer();
  const io = new Server(http, { serveClient: false, perMessageDeflate: false, transports: ['websocket'] });
  let server: ServerSocket | undefined;
  io.on('connection', (socket) => {
    server = socket;
    socket.on('echo', (text: string, ack: (reply: string) => void) => ack(text.length > 100 ? `${text.length} characters` : text));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
  expect(await client.timeout(10_000).emitWithAck('echo', 'x'.repeat(48 * 1024))).toBe(`${48 * 1024} characters`);
  return {
    mask: maskOf(server!),
    stillWorks: () => client.timeout(10_000).emitWithAck('echo', 'hello') as Promise<string>,
    close: async () => {
      client.close();
      await io.close();
    },
  };
}

describe('releaseReceivedChunks', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const Receiver = (WebSocket as unknown as { Receiver: FrameReceiverClass }).Receiver;

  it('keeps four bytes of mask per connection, not the chunk the last frame came in', async () => {
    cleanups.push(releaseReceivedChunks(Receiver));
    const connection = await afterBigMessage();
    cleanups.push(connection.close);
    expect(connection.mask.length).toBe(4);
    expect(connection.mask.buffer.byteLength).toBe(4);
    // Masks change every frame; the receiver's own four bytes follow them, and frames still decode.
    expect(await connection.stillWorks()).toBe('hello');
  });

  it('is needed: without it each connection keeps the whole chunk alive', async () => {
    const connection = await afterBigMessage();
    cleanups.push(connection.close);
    expect(connection.mask.length).toBe(4);
    // The chunk its frame header arrived in: at least a TCP read's worth of the big message.
    expect(connection.mask.buffer.byteLength).toBeGreaterThan(1024);
  });
});
