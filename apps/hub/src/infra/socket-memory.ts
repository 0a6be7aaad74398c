import type { EventEmitter } from 'node:events';

/** The part of engine.io's server this module touches. */
export interface UpgradeHandlingEngine {
  handleUpgrade(request: unknown, socket: EventEmitter, head: Buffer): void;
}

/**
 * Lets each WebSocket connection's upgrade request be collected once the connection is up.
 *
 * engine.io wraps every upgrade in a response object for its middlewares (`io.engine.use`)
 * and subscribes that object to the TCP socket's `close` event with `socket.once`, so the
 * socket keeps the response, and the response the whole `IncomingMessage` (raw headers,
 * stream state, parsed query), for the life of the connection: a heap snapshot with 10,000
 * agents connected held 10,000 of them (issue #16, docs/adr/0027-hub-memory-and-tail.md). The
 * hub registers no engine middlewares, so nothing listens for that response's `close`; this
 * removes the subscription right after engine.io adds it. Socket.IO's handshake keeps its
 * own copy of what it needs (headers object, address, query).
 *
 * The listener is recognised as the first `once` listener for `close` that `handleUpgrade`
 * added synchronously: engine.io adds it in the response's constructor, before anything
 * else, and `ws` subscribes with `on`, never `once`.
 */
export function releaseUpgradeRequests(engine: UpgradeHandlingEngine): void {
  const handleUpgrade = engine.handleUpgrade.bind(engine);
  engine.handleUpgrade = (request, socket, head) => {
    const before = new Set(socket.rawListeners('close'));
    handleUpgrade(request, socket, head);
    const added = socket.rawListeners('close').find((listener) => !before.has(listener) && isOnceWrapper(listener));
    if (added) socket.removeListener('close', added as (...args: unknown[]) => void);
  };
}

/** `emitter.once` registers a wrapper that carries the original listener as `.listener`. */
function isOnceWrapper(listener: unknown): boolean {
  return typeof listener === 'function' && typeof (listener as { listener?: unknown }).listener === 'function';
}

/** The part of ws's frame receiver (ws 8, `lib/receiver.js`) this module touches. */
export interface FrameReceiverClass {
  prototype: { getMask(): void };
}

interface FrameReceiver {
  _mask: Buffer | undefined;
  /** This receiver's own 4 bytes for the mask (unpooled, allocated once). */
  farolMask?: Buffer;
}

/**
 * Stops each WebSocket connection from keeping the last network chunk it received.
 *
 * ws reads a client frame's 4-byte mask as a view into the chunk the frame arrived in, and
 * keeps that view (`_mask`) until the next frame: so every connection held its last chunk
 * alive, about 2.3 KiB for a heartbeat, 23 MiB with 10,000 agents connected (a heap snapshot,
 * issue #16; up to a whole 64 KiB read for a larger message). This copies the mask into four
 * bytes the receiver owns, so the chunk is collected as soon as its frame is handled. Call once
 * per process; returns a function that undoes it (tests).
 */
export function releaseReceivedChunks(Receiver: FrameReceiverClass): () => void {
  const proto = Receiver.prototype;
  const getMask = proto.getMask;
  proto.getMask = function getOwnMask(this: FrameReceiver & { getMask(): void }): void {
    getMask.call(this);
    const mask = this._mask;
    if (mask === undefined || mask.length !== 4) return;
    // Buffer.alloc never takes from the shared pool, so this holds 4 bytes, not a pool slab.
    const own = (this.farolMask ??= Buffer.alloc(4));
    if (own !== mask) {
      own.set(mask);
      this._mask = own;
    }
  };
  return () => {
    proto.getMask = getMask;
  };
}
