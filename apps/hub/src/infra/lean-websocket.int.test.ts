import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { acceptWebSocket, type LeanWebSocket } from './lean-websocket.js';

/**
 * The lean WebSocket server (issue #16) against `ws`'s client (a complete implementation of the
 * other side) and against raw bytes on a TCP socket for what a well-behaved client never sends.
 */
const MAX_PAYLOAD = 64 * 1024;

interface Seen {
  messages: Array<{ data: string | Buffer; binary: boolean }>;
  errors: string[];
  closed: number;
}

let server: http.Server;
let url: string;
let port: number;
let seen: Seen;
let connections: LeanWebSocket[];
/** What the server does with a message (default: echo it). */
let onMessage: (ws: LeanWebSocket, data: string | Buffer, binary: boolean) => void;

beforeEach(async () => {
  seen = { messages: [], errors: [], closed: 0 };
  connections = [];
  onMessage = (ws, data) => ws.send(data);
  server = http.createServer((_req, res) => res.end('not a WebSocket'));
  // Each test's server and record: a late close from an earlier test's connection counts there.
  const mine = seen;
  server.on('upgrade', (request, socket, head) => {
    const ws = acceptWebSocket(request, socket, {
      maxPayload: MAX_PAYLOAD,
      events: {
        message: (conn, data, binary) => {
          mine.messages.push({ data, binary });
          onMessage(conn, data, binary);
        },
        closed: () => {
          mine.closed++;
        },
        error: (_conn, error) => {
          mine.errors.push(error.message);
        },
      },
    });
    if (!ws) return;
    connections.push(ws);
    ws.start(head);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  url = `ws://127.0.0.1:${port}/`;
});

afterEach(async () => {
  for (const ws of connections) ws.terminate();
  await new Promise((resolve) => server.close(resolve));
});

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(url);
    client.once('open', () => resolve(client));
    client.once('error', reject);
  });
}

function closeOf(client: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => client.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function nextMessage(client: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => client.once('message', (data, binary) => resolve({ data: data as Buffer, binary })));
}

async function until(check: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 5_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A client frame as raw bytes: masked unless told otherwise. */
function frame(opcode: number, payload: Buffer, { fin = true, mask = true, rsv = 0, length }: { fin?: boolean; mask?: boolean; rsv?: number; length?: number } = {}): Buffer {
  const size = length ?? payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | rsv | opcode];
  if (size < 126) head.push((mask ? 0x80 : 0) | size);
  else if (size < 65_536) head.push((mask ? 0x80 : 0) | 126, size >> 8, size & 0xff);
  else head.push((mask ? 0x80 : 0) | 127, 0, 0, 0, 0, (size >>> 24) & 0xff, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff);
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** A raw TCP client after a valid handshake: what it sent, and the server's frames as they come. */
async function rawClient(): Promise<{ socket: net.Socket; frames: Array<{ opcode: number; payload: Buffer }>; ended: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  let buffered = Buffer.alloc(0);
  let handshakeDone = false;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (!handshakeDone) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      expect(buffered.subarray(0, end).toString()).toMatch(/^HTTP\/1\.1 101 /);
      handshakeDone = true;
      buffered = buffered.subarray(end + 4);
    }
    while (buffered.length >= 2) {
      let length = buffered[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        length = buffered.readUInt16BE(2);
        at = 4;
      }
      if (buffered.length < at + length) return;
      frames.push({ opcode: buffered[0]! & 0x0f, payload: buffered.subarray(at, at + length) });
      buffered = buffered.subarray(at + length);
    }
  });
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await until(() => handshakeDone, 'the 101 answer');
  return { socket, frames, ended };
}

describe('lean WebSocket server (RFC 6455)', () => {
  it('exchanges text and binary messages with a complete client, large ones across many reads', async () => {
    const client = await open();
    const text = nextMessage(client);
    client.send('héllo, agent ✓');
    expect(await text).toEqual({ data: Buffer.from('héllo, agent ✓'), binary: false });
    const large = randomBytes(60_000);
    const binary = nextMessage(client);
    client.send(large);
    const echoed = await binary;
    expect(echoed.binary).toBe(true);
    expect(echoed.data.equals(large)).toBe(true);
    expect(seen.messages.map((m) => m.binary)).toEqual([false, true]);
    expect(seen.messages[0]!.data).toBe('héllo, agent ✓');
    const closed = closeOf(client);
    client.close(4000, 'bye');
    expect(await closed).toEqual({ code: 4000, reason: '' });
    await until(() => seen.closed === 1, 'the server to see the close');
    expect(seen.errors).toEqual([]);
  });

  it('joins a fragmented message, answering a ping sent between its fragments', async () => {
    const client = await open();
    const pong = new Promise<Buffer>((resolve) => client.once('pong', resolve));
    const message = nextMessage(client);
    client.send('first ', { fin: false });
    client.ping(Buffer.from('are you there'));
    client.send('and last', { fin: true });
    expect((await pong).toString()).toBe('are you there');
    expect((await message).data.toString()).toBe('first and last');
    expect(seen.messages).toEqual([{ data: 'first and last', binary: false }]);
    client.close();
  });

  it('takes frames that arrive a byte at a time, and several frames in one read', async () => {
    const raw = await rawClient();
    const bytes = Buffer.concat([frame(0x1, Buffer.from('one')), frame(0x1, Buffer.from('x'.repeat(300))), frame(0x2, Buffer.from([1, 2, 3]))]);
    for (const byte of bytes) {
      raw.socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => seen.messages.length === 3, 'three messages');
    raw.socket.write(Buffer.concat([frame(0x1, Buffer.from('a')), frame(0x1, Buffer.from('b'))]));
    await until(() => seen.messages.length === 5, 'two more');
    expect(seen.messages.map((m) => (m.binary ? [...(m.data as Buffer)] : (m.data as string).length))).toEqual([3, 300, [1, 2, 3], 1, 1]);
    await until(() => raw.frames.length === 5, 'five echoes');
    expect(raw.frames.map((f) => f.opcode)).toEqual([1, 1, 2, 1, 1]);
    raw.socket.destroy();
    await until(() => seen.closed === 1, 'the close');
  });

  it('closes from the server side with the code given, then the socket ends', async () => {
    onMessage = (ws) => ws.close(1001);
    const client = await open();
    const closed = closeOf(client);
    client.send('bye');
    expect((await closed).code).toBe(1001);
    await until(() => seen.closed === 1, 'the server to forget it');
    expect(seen.closed).toBe(1);
  });

  it.each([
    ['an unmasked frame', 1002, frame(0x1, Buffer.from('hi'), { mask: false }), /must be masked/],
    ['reserved bits (no extension agreed)', 1002, frame(0x1, Buffer.from('hi'), { rsv: 0x40 }), /reserved bits/],
    ['an unknown opcode', 1002, frame(0x3, Buffer.from('hi')), /unknown opcode 3/],
    ['an unknown control opcode', 1002, frame(0xb, Buffer.from('')), /unknown control opcode 11/],
    ['a continuation with nothing to continue', 1002, frame(0x0, Buffer.from('hi')), /continuation/],
    ['a fragmented ping', 1002, frame(0x9, Buffer.from('hi'), { fin: false }), /fragmented control/],
    ['a ping over 125 bytes', 1002, frame(0x9, Buffer.alloc(126)), /over 125 bytes/],
    ['text that is not UTF-8', 1007, frame(0x1, Buffer.from([0xc3, 0x28])), /not UTF-8/],
    ['a close code no peer may send', 1002, frame(0x8, Buffer.from([0x03, 0xed])), /close code 1005/],
  ])('closes on %s with %i', async (_what, code, bytes, why) => {
    const raw = await rawClient();
    raw.socket.write(bytes);
    await raw.ended;
    const close = raw.frames.find((f) => f.opcode === 0x8);
    expect(close?.payload.readUInt16BE(0)).toBe(code);
    expect(seen.errors).toHaveLength(1);
    expect(seen.errors[0]).toMatch(why);
    expect(seen.messages).toEqual([]);
    await until(() => seen.closed === 1, 'the server to forget it');
  });

  it('refuses a message over the limit from its header, before its body arrives, and a fragmented one over it in total', async () => {
    const raw = await rawClient();
    // Only the header of a 1 MiB frame: refused at once, nothing buffered waiting for the rest.
    raw.socket.write(frame(0x2, Buffer.alloc(0), { length: 1024 * 1024 }).subarray(0, 10));
    await raw.ended;
    expect(raw.frames.find((f) => f.opcode === 0x8)?.payload.readUInt16BE(0)).toBe(1009);
    expect(seen.errors[0]).toMatch(/over 65536 bytes/);

    const again = await rawClient();
    const half = Buffer.alloc(MAX_PAYLOAD / 2 + 1, 0x61);
    again.socket.write(Buffer.concat([frame(0x1, half, { fin: false }), frame(0x0, half)]));
    await again.ended;
    expect(again.frames.find((f) => f.opcode === 0x8)?.payload.readUInt16BE(0)).toBe(1009);
    expect(seen.messages).toEqual([]);
  });

  it('answers a handshake that is not a WebSocket one with a 400 and a reason', async () => {
    const ask = async (headers: string): Promise<string> => {
      const socket = net.connect(port, '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n${headers}\r\n`);
      await new Promise((resolve) => socket.once('close', resolve));
      return answer;
    };
    const key = `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n`;
    expect(await ask(`Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n`)).toMatch(/^HTTP\/1\.1 400 [\s\S]*"code":"websocket_handshake"[\s\S]*Sec-WebSocket-Key/);
    expect(await ask(`Upgrade: websocket\r\n${key}Sec-WebSocket-Version: 12\r\n`)).toMatch(/^HTTP\/1\.1 400 [\s\S]*Sec-WebSocket-Version must be 13/);
    expect(await ask(`Upgrade: h2c\r\n${key}Sec-WebSocket-Version: 13\r\n`)).toMatch(/^HTTP\/1\.1 400 [\s\S]*Upgrade header/);
    expect(await ask(`Upgrade: websocket\r\nSec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    expect(connections).toEqual([]);
  });

  it('tells of a connection gone once, whether the peer vanished or the server dropped it', async () => {
    const first = await open();
    const second = await open();
    await until(() => connections.length === 2, 'two connections');
    first.terminate();
    await until(() => seen.closed === 1, 'the first gone');
    const closed = closeOf(second);
    connections[1]!.terminate();
    expect((await closed).code).toBe(1006);
    await until(() => seen.closed === 2, 'the second gone');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.closed).toBe(2);
    // Nothing is sent on a connection that is closing or gone.
    connections[1]!.send('late');
    expect(connections[1]!.isClosed).toBe(true);
  });
});
