import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { acceptWebSocket, type LeanWebSocket, type WebSocketEvents } from './lean-websocket.js';
import type { Logger } from './logger.js';

/**
 * The Socket.IO wire protocol (v5, over Engine.IO v4, WebSocket only) for one namespace, served
 * straight on WebSocket frames (lean-websocket.ts; issue #16, ADR 0036).
 *
 * Engine.IO's and Socket.IO's server objects cost about 6.5 KiB of heap per connection, a plain
 * `ws` connection about 2.5 KiB: at 10,000 agents that is ~65 MiB of the hub's live heap. Agents
 * hold one long-lived connection each, to one namespace, with no rooms, no polling, no upgrades
 * and no acknowledgements the hub waits for, so the part of the protocol they use is small:
 *
 * - Engine.IO: the open packet (`0{"sid",...}`), the hub's ping (`2`) every `pingIntervalMs`
 *   answered by a pong (`3`) within `pingTimeoutMs`, messages (`4…` text; binary frames carry
 *   attachments), close (`1`) and noop (`6`).
 * - Socket.IO: CONNECT to the namespace with the auth object, answered with the session id or a
 *   CONNECT_ERROR (`{ message, data }`); EVENT and BINARY_EVENT with an ack id, answered by ACK;
 *   EVENT from the hub without one; DISCONNECT either way.
 *
 * Every connection shares one timer for pings, pong deadlines and the connect deadline, and one
 * set of socket listeners. Anything outside that subset (another namespace, a malformed packet, a
 * binary frame nobody announced, an oversized message) closes the connection, as Socket.IO does
 * with a parse error. The same clients work unchanged against Socket.IO's own server: the hub
 * routes only upgrades that ask for this server (`isLeanUpgrade`) here.
 */

/** Socket.IO packet types (socket.io-parser). */
const CONNECT = 0;
const DISCONNECT = 1;
const EVENT = 2;
const ACK = 3;
const CONNECT_ERROR = 4;
const BINARY_EVENT = 5;
const BINARY_ACK = 6;

/** Names Socket.IO keeps for itself: a peer may not send them as events. */
const RESERVED_EVENTS = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
/** Binary attachments one event may carry. */
const MAX_ATTACHMENTS = 10;
/** How often the shared timer looks at every connection. */
const TICK_MS = 1_000;

/** The heartbeat events `network` reads round trips from (an Engine.IO socket's `packetCreate` / `packet`). */
type HeartbeatListener = (packet: { type: string }) => void;

/** One listener, or several: a connection usually has one per event, so it keeps no array for it. */
type Listeners<F> = F | F[] | null;

function added<F>(slot: Listeners<F>, listener: F): Listeners<F> {
  if (slot === null) return listener;
  return Array.isArray(slot) ? [...slot, listener] : [slot, listener];
}

function removed<F>(slot: Listeners<F>, listener: F): Listeners<F> {
  if (slot === listener) return null;
  if (!Array.isArray(slot)) return slot;
  const rest = slot.filter((entry) => entry !== listener);
  return rest.length === 0 ? null : rest.length === 1 ? rest[0]! : rest;
}

function call<A>(slot: Listeners<(arg: A) => void>, arg: A): void {
  if (slot === null) return;
  if (Array.isArray(slot)) for (const listener of slot) listener(arg);
  else slot(arg);
}

/** Why a connection ended, in Socket.IO's words (the `disconnect` reason). */
export type LeanDisconnectReason = 'transport close' | 'transport error' | 'ping timeout' | 'parse error' | 'server namespace disconnect' | 'client namespace disconnect' | 'server shutting down';

/** What `admit` gets: the auth object of the CONNECT, the address, and room for its verdict. */
interface TransportInfo {
  readonly name: 'websocket';
}
const WEBSOCKET_TRANSPORT: TransportInfo = { name: 'websocket' };

/**
 * One connection, shaped like the part of a Socket.IO server socket that the hub's agent
 * gateway uses: `id`, `data`, `handshake.auth` / `.address`, `conn.transport.name`, `emit`,
 * `disconnect`, `on('disconnect')`, `onAny`, and the heartbeat events of `conn`.
 */
export class LeanSocket {
  readonly id: string;
  data: unknown = undefined;
  readonly handshake: { auth: unknown; address: string };
  /** Set once the namespace CONNECT was admitted. */
  connected = false;
  /** @internal */ ws: LeanWebSocket;
  /** @internal */ server: LeanSocketServer;
  /** @internal */ nextPingAt: number;
  /** @internal */ pingSentAt = 0;
  /** @internal */ openedAt: number;
  /** @internal */ anyListener: ((...args: unknown[]) => void) | null = null;
  /** @internal */ disconnectListeners: Listeners<(reason: string) => void> = null;
  /** @internal */ onPingSent: Listeners<HeartbeatListener> = null;
  /** @internal */ onPong: Listeners<HeartbeatListener> = null;
  /** @internal A BINARY_EVENT waiting for its attachments. */ pending: { id: number | undefined; data: unknown[]; attachments: number; buffers: Buffer[] } | null = null;
  /** @internal */ closed = false;

  constructor(server: LeanSocketServer, ws: LeanWebSocket, address: string, now: number) {
    this.server = server;
    this.ws = ws;
    this.id = randomBytes(15).toString('base64url');
    this.handshake = { auth: {}, address };
    this.openedAt = now;
    this.nextPingAt = now + server.pingIntervalMs;
  }

  /** The connection itself stands for Engine.IO's socket (`socket.conn`). */
  get conn(): this {
    return this;
  }

  get transport(): TransportInfo {
    return WEBSOCKET_TRANSPORT;
  }

  /**
   * `disconnect` (with the reason), and the heartbeat events as an Engine.IO socket emits them:
   * `packetCreate` for a ping sent, `packet` for a pong.
   */
  on(event: 'packetCreate' | 'packet' | 'disconnect', listener: ((packet: { type: string }) => void) | ((reason: string) => void)): this {
    if (event === 'disconnect') this.disconnectListeners = added(this.disconnectListeners, listener as (reason: string) => void);
    else if (event === 'packetCreate') this.onPingSent = added(this.onPingSent, listener as HeartbeatListener);
    else this.onPong = added(this.onPong, listener as HeartbeatListener);
    return this;
  }

  off(event: 'packetCreate' | 'packet', listener: HeartbeatListener): this {
    if (event === 'packetCreate') this.onPingSent = removed(this.onPingSent, listener);
    else this.onPong = removed(this.onPong, listener);
    return this;
  }

  /** Every event the peer sends: `listener.call(socket, event, ...args, ack?)`. One listener. */
  onAny(listener: (...args: unknown[]) => void): this {
    this.anyListener = listener;
    return this;
  }

  /**
   * Sends an event (no acknowledgement asked); binary values (terminal input) go as attachments.
   * Dropped once the connection is closing.
   */
  emit(event: string, ...args: unknown[]): boolean {
    if (!this.connected || this.closed) return false;
    this.server.sendData(this, EVENT, undefined, [event, ...args]);
    return true;
  }

  /** Ends the connection: a DISCONNECT for the namespace, then the WebSocket closes. */
  disconnect(_close?: boolean): this {
    if (this.closed) return this;
    if (this.connected) this.server.sendPacket(this, `${DISCONNECT}${this.server.nsp},`);
    this.server.end(this, 'server namespace disconnect', 1000);
    return this;
  }
}

export interface LeanSocketServerOptions {
  /** The one namespace served, e.g. `/agent`. */
  namespace: string;
  /** Decides a CONNECT: `next()` admits, `next(error)` refuses with `{ message: error.message, data: error.data }`. */
  admit: (socket: LeanSocket, next: (error?: Error & { data?: unknown }) => void) => void;
  /** Called once per admitted connection, after its CONNECT was answered. */
  onConnection: (socket: LeanSocket) => void;
  /** Largest message (text or binary frame), as Socket.IO's `maxHttpBufferSize`. */
  maxPayload: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** A connection that has not connected to the namespace by then is closed (Socket.IO's `connectTimeout`). */
  connectTimeoutMs?: number;
  logger: Logger;
  now?: () => number;
}

/** Whether an upgrade asks for the lean server: `…/socket.io/?…&link=lean` (any other is Socket.IO's). */
export function isLeanUpgrade(request: IncomingMessage, path = '/socket.io/'): boolean {
  const url = request.url ?? '';
  if (!url.startsWith(path)) return false;
  const query = url.indexOf('?');
  return query >= 0 && new URLSearchParams(url.slice(query + 1)).get('link') === 'lean';
}

/** The WebSocket events of every lean connection: each is handed to the connection's server. */
const LEAN_EVENTS: WebSocketEvents = {
  message(ws, data, isBinary) {
    const socket = ws.owner as LeanSocket | undefined;
    if (socket) socket.server.receive(socket, data, isBinary);
  },
  closed(ws) {
    const socket = ws.owner as LeanSocket | undefined;
    if (socket) socket.server.end(socket, 'transport close');
  },
  error(ws, error) {
    const socket = ws.owner as LeanSocket | undefined;
    if (!socket) return;
    socket.server.logger.debug({ err: error, socketId: socket.id }, 'agent WebSocket error');
    socket.server.end(socket, 'transport error');
  },
};

export class LeanSocketServer {
  readonly nsp: string;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly logger: Logger;
  private readonly sockets = new Set<LeanSocket>();
  private readonly options: LeanSocketServerOptions;
  private readonly connectTimeoutMs: number;
  private readonly now: () => number;
  private readonly openPacket: string;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: LeanSocketServerOptions) {
    this.options = options;
    this.nsp = options.namespace;
    this.pingIntervalMs = options.pingIntervalMs;
    this.pingTimeoutMs = options.pingTimeoutMs;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 45_000;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.openPacket = JSON.stringify({ upgrades: [], pingInterval: options.pingIntervalMs, pingTimeout: options.pingTimeoutMs, maxPayload: options.maxPayload });
  }

  /** Connections open now (admitted or not yet). */
  get size(): number {
    return this.sockets.size;
  }

  /** Takes an HTTP upgrade that `isLeanUpgrade` chose. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    const query = new URLSearchParams((request.url ?? '').split('?')[1] ?? '');
    if (query.get('EIO') !== '4' || query.get('transport') !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n{"code":5,"message":"Unsupported protocol version"}');
      return;
    }
    const address = request.socket.remoteAddress ?? '';
    const ws = acceptWebSocket(request, socket, { events: LEAN_EVENTS, maxPayload: this.options.maxPayload });
    if (!ws) return;
    this.open(ws, address);
    ws.start(head);
  }

  private open(ws: LeanWebSocket, address: string): void {
    const socket = new LeanSocket(this, ws, address, this.now());
    ws.owner = socket;
    this.sockets.add(socket);
    this.timer ??= setInterval(() => this.tick(), TICK_MS).unref();
    ws.send(`0{"sid":"${socket.id}",${this.openPacket.slice(1)}`);
  }

  /** Pings that are due, pongs that are late, connections that never connected. */
  private tick(): void {
    const now = this.now();
    for (const socket of this.sockets) {
      if (socket.pingSentAt > 0) {
        if (now - socket.pingSentAt > this.pingTimeoutMs) this.end(socket, 'ping timeout');
      } else if (now >= socket.nextPingAt) {
        socket.pingSentAt = now;
        // Before the write, as Engine.IO emits `packetCreate`: a round trip timed from here can
        // only come out long, never shorter than the wire (the process may pause in between).
        call(socket.onPingSent, { type: 'ping' });
        socket.ws.send('2');
      }
      if (!socket.connected && !socket.closed && now - socket.openedAt > this.connectTimeoutMs) this.end(socket, 'parse error');
    }
  }

  /** @internal */
  sendPacket(socket: LeanSocket, packet: string): void {
    socket.ws.send(`4${packet}`);
  }

  /** @internal An EVENT or ACK; with binary values inside, a BINARY_EVENT / BINARY_ACK and its attachments. */
  sendData(socket: LeanSocket, type: typeof EVENT | typeof ACK, id: number | undefined, data: unknown[]): void {
    const ackId = id === undefined ? '' : String(id);
    // Most messages carry no binary: they are written as they are, with no copy (a fan-out
    // sends thousands); only those with binary values are rebuilt around placeholders.
    if (!hasBinary(data)) {
      this.sendPacket(socket, `${type}${this.nsp},${ackId}${JSON.stringify(data)}`);
      return;
    }
    const buffers: Uint8Array[] = [];
    const json = JSON.stringify(deconstruct(data, buffers));
    this.sendPacket(socket, `${type === EVENT ? BINARY_EVENT : BINARY_ACK}${buffers.length}-${this.nsp},${ackId}${json}`);
    for (const buffer of buffers) socket.ws.send(buffer);
  }

  /** @internal One WebSocket message: an Engine.IO packet, or a binary attachment. */
  receive(socket: LeanSocket, data: string | Buffer, isBinary: boolean): void {
    if (socket.closed) return;
    if (isBinary) {
      this.attachment(socket, data as Buffer);
      return;
    }
    const text = data as string;
    switch (text.charAt(0)) {
      case '3':
        if (socket.pingSentAt > 0) {
          socket.pingSentAt = 0;
          socket.nextPingAt = this.now() + this.pingIntervalMs;
          call(socket.onPong, { type: 'pong' });
        }
        return;
      case '4':
        this.packet(socket, text);
        return;
      case '1':
        this.end(socket, 'transport close', 1000);
        return;
      case '6':
        return;
      default:
        this.refuse(socket, `unexpected Engine.IO packet type ${JSON.stringify(text.charAt(0))}`);
    }
  }

  /** A Socket.IO packet (the Engine.IO message without its leading `4`). */
  private packet(socket: LeanSocket, text: string): void {
    if (socket.pending) {
      this.refuse(socket, 'a packet arrived before the attachments of the previous one');
      return;
    }
    let parsed: { type: number; attachments: number; nsp: string; id: number | undefined; data: unknown };
    try {
      parsed = decodePacket(text, 1);
    } catch (error) {
      this.refuse(socket, (error as Error).message);
      return;
    }
    if (parsed.nsp !== this.nsp) {
      if (parsed.type === CONNECT) this.sendPacket(socket, `${CONNECT_ERROR}${parsed.nsp === '/' ? '' : `${parsed.nsp},`}{"message":"Invalid namespace"}`);
      this.refuse(socket, `a packet for namespace ${JSON.stringify(parsed.nsp.slice(0, 40))}`);
      return;
    }
    switch (parsed.type) {
      case CONNECT:
        this.connect(socket, parsed.data);
        return;
      case DISCONNECT:
        this.end(socket, 'client namespace disconnect', 1000);
        return;
      case EVENT:
      case BINARY_EVENT: {
        if (!socket.connected) {
          this.refuse(socket, 'an event before the namespace was connected');
          return;
        }
        const args = parsed.data as unknown[];
        if (parsed.type === BINARY_EVENT && parsed.attachments > 0) {
          socket.pending = { id: parsed.id, data: args, attachments: parsed.attachments, buffers: [] };
          return;
        }
        this.deliver(socket, parsed.id, args);
        return;
      }
      default:
        // ACK, BINARY_ACK, CONNECT_ERROR: the hub asks agents for no acknowledgement.
        this.refuse(socket, `unexpected Socket.IO packet type ${parsed.type}`);
    }
  }

  private attachment(socket: LeanSocket, data: Buffer): void {
    const pending = socket.pending;
    if (!pending) {
      this.refuse(socket, 'a binary frame that no packet announced');
      return;
    }
    pending.buffers.push(data);
    if (pending.buffers.length < pending.attachments) return;
    socket.pending = null;
    let args: unknown[];
    try {
      args = reconstruct(pending.data, pending.buffers) as unknown[];
    } catch (error) {
      this.refuse(socket, (error as Error).message);
      return;
    }
    this.deliver(socket, pending.id, args);
  }

  private deliver(socket: LeanSocket, id: number | undefined, args: unknown[]): void {
    const listener = socket.anyListener;
    if (!listener) return;
    if (id === undefined) {
      listener.call(socket, ...args);
      return;
    }
    let answered = false;
    const ack = (...response: unknown[]): void => {
      if (answered || socket.closed) return;
      answered = true;
      this.sendData(socket, ACK, id, response);
    };
    listener.call(socket, ...args, ack);
  }

  private connect(socket: LeanSocket, auth: unknown): void {
    if (socket.connected) {
      this.refuse(socket, 'a second CONNECT on one connection');
      return;
    }
    socket.handshake.auth = auth ?? {};
    let decided = false;
    this.options.admit(socket, (error) => {
      if (decided || socket.closed) return;
      decided = true;
      if (error) {
        const body: { message: string; data?: unknown } = { message: error.message };
        if (error.data !== undefined) body.data = error.data;
        this.sendPacket(socket, `${CONNECT_ERROR}${this.nsp},${JSON.stringify(body)}`);
        this.end(socket, 'server namespace disconnect', 1000);
        return;
      }
      socket.connected = true;
      this.sendPacket(socket, `${CONNECT}${this.nsp},{"sid":"${socket.id}"}`);
      try {
        this.options.onConnection(socket);
      } catch (failure) {
        this.logger.error({ err: failure, socketId: socket.id }, 'handling a new agent connection failed');
        socket.disconnect(true);
      }
    });
  }

  /** A protocol violation: logged, and the connection closed (Socket.IO's "parse error"). */
  private refuse(socket: LeanSocket, reason: string): void {
    this.logger.warn({ socketId: socket.id, address: socket.handshake.address, reason }, 'closing an agent connection that broke the Socket.IO protocol');
    this.end(socket, 'parse error', 1002);
  }

  /** @internal Ends a connection once: forgets it, closes the WebSocket, tells the listener. */
  end(socket: LeanSocket, reason: LeanDisconnectReason, code?: number): void {
    if (socket.closed) return;
    socket.closed = true;
    this.sockets.delete(socket);
    if (this.sockets.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    const ws = socket.ws;
    if (ws.isOpen) {
      if (code === undefined) ws.terminate();
      else ws.close(code);
    }
    const wasConnected = socket.connected;
    socket.connected = false;
    socket.pending = null;
    socket.anyListener = null;
    const listeners = socket.disconnectListeners;
    socket.disconnectListeners = null;
    socket.onPingSent = null;
    socket.onPong = null;
    if (wasConnected) call(listeners, reason);
  }

  /** Closes every connection (hub shutdown) and takes no new ones. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const socket of [...this.sockets]) this.end(socket, 'server shutting down', 1001);
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Decodes a Socket.IO packet string (socket.io-parser's format) from `offset`:
 * `<type>[<attachments>-][<nsp>,][<id>][<json>]`. Throws on anything malformed.
 */
export function decodePacket(text: string, offset = 0): { type: number; attachments: number; nsp: string; id: number | undefined; data: unknown } {
  let i = offset;
  const type = text.charCodeAt(i) - 48;
  if (!(type >= CONNECT && type <= BINARY_ACK) || text.length === i) throw new Error('unknown packet type');
  i++;
  let attachments = 0;
  if (type === BINARY_EVENT || type === BINARY_ACK) {
    const dash = text.indexOf('-', i);
    const digits = dash < 0 ? '' : text.slice(i, dash);
    if (!/^\d{1,3}$/.test(digits)) throw new Error('illegal attachments');
    attachments = Number(digits);
    if (attachments > MAX_ATTACHMENTS) throw new Error('too many attachments');
    i = dash + 1;
  }
  let nsp = '/';
  if (text.charAt(i) === '/') {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma < 0 ? text.length : comma + 1;
  }
  let id: number | undefined;
  const idStart = i;
  while (i < text.length && i - idStart < 16) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  if (i > idStart) id = Number(text.slice(idStart, i));
  let data: unknown;
  if (i < text.length) {
    try {
      data = JSON.parse(text.slice(i));
    } catch {
      // A bad payload is the peer's fault, reported as such.
      throw new Error('invalid JSON payload');
    }
  }
  const valid =
    type === CONNECT
      ? data === undefined || (typeof data === 'object' && data !== null && !Array.isArray(data))
      : type === DISCONNECT
        ? data === undefined
        : type === CONNECT_ERROR
          ? typeof data === 'string' || (typeof data === 'object' && data !== null)
          : type === EVENT || type === BINARY_EVENT
            ? Array.isArray(data) && (typeof data[0] === 'number' || (typeof data[0] === 'string' && !RESERVED_EVENTS.has(data[0])))
            : Array.isArray(data);
  if (!valid) throw new Error('invalid payload');
  return { type, attachments, nsp, id, data };
}

/** Whether `value` holds a binary value (Buffer, typed array, ArrayBuffer) anywhere. */
function hasBinary(value: unknown, depth = 0): boolean {
  if (depth > 32) throw new Error('a message nested too deep to send');
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) return value.some((entry) => hasBinary(entry, depth + 1));
  if (typeof value !== 'object' || value === null || value instanceof Date || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const entry of Object.values(value)) if (hasBinary(entry, depth + 1)) return true;
  return false;
}

/**
 * A copy of `value` with every binary value (Buffer, typed array, ArrayBuffer) replaced by a
 * placeholder `{ _placeholder: true, num }` and appended to `buffers` (socket.io-parser's format).
 */
function deconstruct(value: unknown, buffers: Uint8Array[], depth = 0): unknown {
  if (depth > 32) throw new Error('a message nested too deep to send');
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    buffers.push(value instanceof ArrayBuffer ? new Uint8Array(value) : value);
    return { _placeholder: true, num: buffers.length - 1 };
  }
  if (ArrayBuffer.isView(value)) {
    buffers.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    return { _placeholder: true, num: buffers.length - 1 };
  }
  if (Array.isArray(value)) return value.map((entry) => deconstruct(entry, buffers, depth + 1));
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return value;
    const copy: Record<string, unknown> = {};
    // Defined, not assigned: a key named `__proto__` (data that came from JSON) stays a key.
    for (const [key, entry] of Object.entries(value)) Object.defineProperty(copy, key, { value: deconstruct(entry, buffers, depth + 1), enumerable: true, writable: true, configurable: true });
    return copy;
  }
  return value;
}

/** Puts the binary attachments back where the sender's placeholders (`{ _placeholder: true, num }`) are. */
function reconstruct(value: unknown, buffers: Buffer[], depth = 0): unknown {
  if (depth > 32) throw new Error('attachments nested too deep');
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reconstruct(value[i], buffers, depth + 1);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (record._placeholder === true) {
      const num = record.num;
      if (typeof num !== 'number' || !Number.isInteger(num) || num < 0 || num >= buffers.length) throw new Error('illegal attachment placeholder');
      return buffers[num];
    }
    for (const key of Object.keys(record)) record[key] = reconstruct(record[key], buffers, depth + 1);
  }
  return value;
}
