import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The server side of WebSocket (RFC 6455) for the lean agent server (issue #16, ADR 0036):
 * the opening handshake, frames in and out, fragmented messages, ping, pong and the closing
 * handshake, on the TCP (or TLS) socket itself.
 *
 * `ws` keeps a writable stream, a sender and their closures per connection, ~2 KiB of heap
 * each; 10,000 agents keep 10,000 connections. Here a connection is one small object beside its
 * socket, with no listener or closure of its own: every socket shares the same four listeners.
 *
 * What a peer sends is untrusted: a frame that breaks the protocol (unmasked, reserved bits set,
 * an unknown opcode, a control frame fragmented or over 125 bytes, a continuation with nothing
 * to continue) closes the connection with 1002; a message over `maxPayload` with 1009, before
 * its bytes are buffered; text that is not UTF-8 with 1007. No extension is negotiated (no
 * compression), and no subprotocol.
 */

/** RFC 6455's key suffix for Sec-WebSocket-Accept. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY_FORMAT = /^[+/0-9A-Za-z]{22}==$/;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** After this side sends its close frame, the socket is destroyed if the peer has not closed it by then. */
const CLOSE_TIMEOUT_MS = 5_000;

/** What a server does with its connections' events; one object serves them all. */
export interface WebSocketEvents {
  /** A whole message: text as a string (valid UTF-8), binary as a Buffer of its own. */
  message(ws: LeanWebSocket, data: string | Buffer, isBinary: boolean): void;
  /** The connection is gone (once, whatever ended it). */
  closed(ws: LeanWebSocket): void;
  /** The socket failed or the peer broke the protocol (the connection is closing). */
  error(ws: LeanWebSocket, error: Error): void;
}

const OWNER = Symbol('farol.leanWebSocket');
type OwnedSocket = Duplex & { [OWNER]?: LeanWebSocket; setNoDelay?: (noDelay: boolean) => unknown; setTimeout?: (ms: number) => unknown };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[OWNER]?.receive(chunk);
}

function onSocketEnd(this: OwnedSocket): void {
  // The peer closed its half without a close frame: nothing more can come; close ours.
  this.end();
}

function onSocketClose(this: OwnedSocket): void {
  this[OWNER]?.gone();
}

function onSocketError(this: OwnedSocket, error: Error): void {
  const ws = this[OWNER];
  if (ws && !ws.isClosed) ws.events.error(ws, error);
  this.destroy();
}

/** Close codes a peer may send (RFC 6455 7.4, and 3000-4999 for applications). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * Unmasks a frame's payload where it lies (the bytes are this connection's own) and returns a
 * view of it: text is decoded from the view at once, binary is copied out by the caller, so the
 * chunk it arrived in is never kept.
 */
function unmaskInPlace(data: Buffer, maskAt: number, start: number, end: number): Buffer {
  const mask = [data[maskAt]!, data[maskAt + 1]!, data[maskAt + 2]!, data[maskAt + 3]!];
  for (let at = start, i = 0; at < end; at++, i++) data[at]! ^= mask[i & 3]!;
  return data.subarray(start, end);
}

/** A frame header from this side (never masked) for a payload of `length` bytes. */
function header(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, length]);
  if (length < 65_536) {
    const head = Buffer.allocUnsafe(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(length, 2);
    return head;
  }
  const head = Buffer.allocUnsafe(10);
  head[0] = 0x80 | opcode;
  head[1] = 127;
  head.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  head.writeUInt32BE(length >>> 0, 6);
  return head;
}

export class LeanWebSocket {
  /** @internal */ readonly events: WebSocketEvents;
  /** Whatever the server hangs on the connection (the lean server: its LeanSocket). */
  owner: unknown = undefined;
  private readonly socket: OwnedSocket;
  private readonly maxPayload: number;
  /** Bytes received but not yet a whole frame, and how many a frame needs before parsing goes on. */
  private held: Buffer[] | null = null;
  private heldBytes = 0;
  private needed = 2;
  /** A fragmented message under way. */
  private fragments: Buffer[] | null = null;
  private fragmentsBinary = false;
  private fragmentBytes = 0;
  /** Open, closing (our close frame sent), closed (the socket is gone or going). */
  private state: 0 | 1 | 2 = 0;

  /** @internal Use acceptWebSocket. */
  constructor(socket: Duplex, events: WebSocketEvents, maxPayload: number) {
    this.socket = socket as OwnedSocket;
    this.events = events;
    this.maxPayload = maxPayload;
  }

  get isOpen(): boolean {
    return this.state === 0;
  }

  get isClosed(): boolean {
    return this.state === 2;
  }

  /** Starts reading, with the bytes that came with the upgrade request. */
  start(head: Buffer): void {
    const socket = this.socket;
    socket[OWNER] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
    if (head.length > 0) this.receive(head);
  }

  /** Sends one message: a string as text, bytes as binary. Nothing is sent once closing. */
  send(data: string | Uint8Array): void {
    if (this.state !== 0) return;
    if (typeof data === 'string') {
      const length = Buffer.byteLength(data);
      const head = header(OP_TEXT, length);
      const frame = Buffer.allocUnsafe(head.length + length);
      head.copy(frame, 0);
      frame.write(data, head.length);
      this.socket.write(frame);
      return;
    }
    this.writeFrame(OP_BINARY, data);
  }

  /** Starts the closing handshake with `code`; the socket ends after the frame. */
  close(code = 1000): void {
    if (this.state !== 0) return;
    const payload = Buffer.allocUnsafe(2);
    payload.writeUInt16BE(code, 0);
    this.sendClose(payload);
    this.state = 1;
  }

  /** Drops the connection at once (no closing handshake). */
  terminate(): void {
    this.state = 2;
    this.socket.destroy();
  }

  /** @internal The socket closed: the connection is gone (called once: the socket forgets it here). */
  gone(): void {
    this.stopReading();
    this.socket[OWNER] = undefined;
    this.events.closed(this);
  }

  /** Our close frame, then the socket ends; a peer that never closes its side does not hold it. */
  private sendClose(payload: Uint8Array): void {
    this.writeFrame(OP_CLOSE, payload);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
  }

  /** Nothing more is read or sent on this connection. */
  private stopReading(): void {
    this.state = 2;
    this.held = null;
    this.fragments = null;
  }

  private writeFrame(opcode: number, payload: Uint8Array): void {
    const socket = this.socket;
    socket.cork();
    socket.write(header(opcode, payload.length));
    if (payload.length > 0) socket.write(payload);
    socket.uncork();
  }

  /** The peer broke the protocol: say why with `code`, and close. */
  private fail(code: number, why: string): void {
    if (this.state === 2) return;
    // The close frame first, so the peer learns why; then the owner hears of the error.
    if (this.state === 0) this.close(code);
    this.stopReading();
    this.events.error(this, new Error(`WebSocket protocol: ${why}`));
  }

  /** @internal Bytes from the socket: frames are parsed once whole. */
  receive(chunk: Buffer): void {
    if (this.state === 2) return;
    if (this.held === null && chunk.length < this.needed) {
      this.held = [chunk];
      this.heldBytes = chunk.length;
      return;
    }
    if (this.held !== null) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes < this.needed) return;
    }
    const data = this.held === null ? chunk : Buffer.concat(this.held, this.heldBytes);
    this.held = null;
    this.heldBytes = 0;
    let offset = 0;
    this.needed = 2;
    while (!this.isClosed) {
      const available = data.length - offset;
      if (available < 2) break;
      const b0 = data[offset]!;
      const b1 = data[offset + 1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      let length = b1 & 0x7f;
      let headerLength = 2;
      if ((b0 & 0x70) !== 0) return this.fail(1002, 'reserved bits set (no extension was agreed)');
      if ((b1 & 0x80) === 0) return this.fail(1002, 'a client frame must be masked');
      if (length === 126) {
        if (available < 4) {
          this.needed = 4;
          break;
        }
        length = data.readUInt16BE(offset + 2);
        headerLength = 4;
      } else if (length === 127) {
        if (available < 10) {
          this.needed = 10;
          break;
        }
        if (data.readUInt32BE(offset + 2) !== 0) return this.fail(1009, 'a frame over 4 GiB');
        length = data.readUInt32BE(offset + 6);
        headerLength = 10;
      }
      if ((opcode & 0x08) !== 0) {
        if (opcode !== OP_CLOSE && opcode !== OP_PING && opcode !== OP_PONG) return this.fail(1002, `unknown control opcode ${opcode}`);
        if (!fin) return this.fail(1002, 'a fragmented control frame');
        if (length > 125) return this.fail(1002, 'a control frame over 125 bytes');
      } else {
        if (opcode !== OP_CONTINUATION && opcode !== OP_TEXT && opcode !== OP_BINARY) return this.fail(1002, `unknown opcode ${opcode}`);
        if (opcode === OP_CONTINUATION && this.fragments === null) return this.fail(1002, 'a continuation frame with no message to continue');
        if (opcode !== OP_CONTINUATION && this.fragments !== null) return this.fail(1002, 'a new message before the fragmented one ended');
        if (this.fragmentBytes + length > this.maxPayload) return this.fail(1009, `a message over ${this.maxPayload} bytes`);
      }
      const frameLength = headerLength + 4 + length;
      if (available < frameLength) {
        this.needed = frameLength;
        break;
      }
      const maskAt = offset + headerLength;
      const payload = unmaskInPlace(data, maskAt, maskAt + 4, offset + frameLength);
      offset += frameLength;
      this.frame(fin, opcode, payload);
    }
    if (!this.isClosed && offset < data.length) {
      // A partial frame: its bytes are copied, so the chunk they came in is not kept alive.
      this.held = [Buffer.from(data.subarray(offset))];
      this.heldBytes = data.length - offset;
    } else if (offset >= data.length) {
      this.needed = 2;
    }
  }

  private frame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OP_PING:
        if (this.state === 0) this.writeFrame(OP_PONG, payload);
        return;
      case OP_PONG:
        return;
      case OP_CLOSE:
        this.peerClosed(payload);
        return;
      case OP_CONTINUATION:
        this.fragments!.push(Buffer.from(payload));
        this.fragmentBytes += payload.length;
        if (fin) {
          const whole = Buffer.concat(this.fragments!, this.fragmentBytes);
          const binary = this.fragmentsBinary;
          this.fragments = null;
          this.fragmentBytes = 0;
          this.deliver(whole, binary, true);
        }
        return;
      default:
        if (!fin) {
          this.fragments = [Buffer.from(payload)];
          this.fragmentsBinary = opcode === OP_BINARY;
          this.fragmentBytes = payload.length;
          return;
        }
        this.deliver(payload, opcode === OP_BINARY);
    }
  }

  /** A whole message; unless `owned`, `payload` is a view into the received chunk (binary is copied out). */
  private deliver(payload: Buffer, binary: boolean, owned = false): void {
    if (binary) {
      this.events.message(this, owned ? payload : Buffer.from(payload), true);
      return;
    }
    if (!isUtf8(payload)) return this.fail(1007, 'a text message that is not UTF-8');
    this.events.message(this, payload.toString('utf8'), false);
  }

  /** The peer's close frame: checked, answered with the same code, and the socket ends. */
  private peerClosed(payload: Buffer): void {
    if (payload.length === 1) return this.fail(1002, 'a close frame with a one-byte body');
    if (payload.length >= 2) {
      const code = payload.readUInt16BE(0);
      if (!validCloseCode(code)) return this.fail(1002, `close code ${code} may not be sent`);
      if (!isUtf8(payload.subarray(2))) return this.fail(1007, 'a close reason that is not UTF-8');
    }
    if (this.state === 0) this.sendClose(payload.subarray(0, 2));
    this.stopReading();
  }
}

/** What acceptWebSocket needs: the events shared by every connection, and the largest message. */
export interface AcceptOptions {
  events: WebSocketEvents;
  maxPayload: number;
}

function refuseUpgrade(socket: Duplex, why: string): void {
  const body = JSON.stringify({ code: 'websocket_handshake', message: why });
  socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/**
 * Completes an HTTP upgrade as a WebSocket (RFC 6455 4.2): checks the request, writes the 101
 * answer, and returns the connection, not yet reading (`start(head)` once the caller has hung
 * its own state on it). A request that is not a valid WebSocket handshake gets a 400 and null.
 */
export function acceptWebSocket(request: IncomingMessage, socket: Duplex, options: AcceptOptions): LeanWebSocket | null {
  const key = request.headers['sec-websocket-key'];
  const version = request.headers['sec-websocket-version'];
  if (request.method !== 'GET') {
    refuseUpgrade(socket, 'a WebSocket handshake is a GET');
    return null;
  }
  if ((request.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    refuseUpgrade(socket, 'the Upgrade header must be "websocket"');
    return null;
  }
  if (typeof key !== 'string' || !KEY_FORMAT.test(key)) {
    refuseUpgrade(socket, 'Sec-WebSocket-Key must be 16 bytes in base64');
    return null;
  }
  if (version !== '13' && version !== '8') {
    refuseUpgrade(socket, 'Sec-WebSocket-Version must be 13');
    return null;
  }
  if (!socket.readable || !socket.writable) {
    socket.destroy();
    return null;
  }
  const accept = createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const owned = socket as OwnedSocket;
  owned.setTimeout?.(0);
  owned.setNoDelay?.(true);
  return new LeanWebSocket(socket, options.events, options.maxPayload);
}
