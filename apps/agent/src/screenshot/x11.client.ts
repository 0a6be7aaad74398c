import net from 'node:net';
import path from 'node:path';
import { findCookie } from './xauth.js';
import type { RgbImage } from './png.js';

/** Where X servers put their local sockets (fixed by the X protocol's conventions). */
export const X11_SOCKET_DIR = '/tmp/.X11-unix';

/** A display name resolved to where its server listens. */
export interface X11Display {
  name: string;
  /** null for the local socket (`:0`, `unix:0`). */
  host: string | null;
  displayNumber: number;
  screen: number;
  /** Local: the unix socket; remote: TCP port 6000 + n on `host`. */
  socketPath: string | null;
  port: number | null;
}

/** `:0`, `:1.0`, `unix:0`, `host:0`, `[::1]:0` → where to connect. */
export function parseDisplay(name: string, socketDir = X11_SOCKET_DIR): X11Display {
  const match = /^(.*):(\d+)(?:\.(\d+))?$/.exec(name);
  if (!match) throw new Error(`not an X display name: ${JSON.stringify(name)}`);
  const rawHost = match[1]!;
  const displayNumber = Number(match[2]);
  const screen = match[3] === undefined ? 0 : Number(match[3]);
  if (rawHost === '' || rawHost === 'unix') {
    return { name, host: null, displayNumber, screen, socketPath: path.join(socketDir, `X${displayNumber}`), port: null };
  }
  const host = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : rawHost;
  return { name, host, displayNumber, screen, socketPath: null, port: 6000 + displayNumber };
}

/** An error from the X server or the connection, with what was being done. */
export class X11Error extends Error {}

/** Buffers a socket's bytes and hands them out in exact sizes. */
class Reader {
  private chunks: Buffer[] = [];
  private size = 0;
  private waiting: { bytes: number; resolve: (data: Buffer) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(socket: net.Socket) {
    socket.on('data', (data: Buffer) => {
      this.chunks.push(data);
      this.size += data.length;
      this.wake();
    });
    socket.on('error', (error) => this.fail(new X11Error(`X connection failed: ${error.message}`, { cause: error })));
    socket.on('close', () => this.fail(new X11Error('the X server closed the connection')));
  }

  fail(error: Error): void {
    this.failure ??= error;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(this.failure);
  }

  private wake(): void {
    if (!this.waiting || this.size < this.waiting.bytes) return;
    const { bytes, resolve } = this.waiting;
    this.waiting = null;
    resolve(this.take(bytes));
  }

  private take(bytes: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    const out = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return out;
  }

  read(bytes: number): Promise<Buffer> {
    if (this.size >= bytes) return Promise.resolve(this.take(bytes));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { bytes, resolve, reject };
    });
  }
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

interface ScreenInfo {
  root: number;
  width: number;
  height: number;
  depth: number;
  bitsPerPixel: number;
  scanlinePad: number;
  msbFirst: boolean;
  visualClass: number;
  masks: { red: number; green: number; blue: number };
}

/** Parses the connection setup reply after its 8-byte head (X11 protocol, section 8) down to what GetImage needs. */
function parseSetup(body: Buffer, screenIndex: number): ScreenInfo {
  const vendorLength = body.readUInt16LE(16);
  const screenCount = body[20]!;
  const formatCount = body[21]!;
  const msbFirst = body[22] === 1;
  let offset = 32 + vendorLength + pad4(vendorLength);
  const formats = new Map<number, { bitsPerPixel: number; scanlinePad: number }>();
  for (let i = 0; i < formatCount; i++, offset += 8) formats.set(body[offset]!, { bitsPerPixel: body[offset + 1]!, scanlinePad: body[offset + 2]! });
  if (screenIndex >= screenCount) throw new X11Error(`the X server has ${screenCount} screen(s); there is no screen ${screenIndex}`);
  for (let s = 0; s < screenCount; s++) {
    const root = body.readUInt32LE(offset);
    const width = body.readUInt16LE(offset + 20);
    const height = body.readUInt16LE(offset + 22);
    const rootVisual = body.readUInt32LE(offset + 32);
    const depth = body[offset + 38]!;
    const depthCount = body[offset + 39]!;
    offset += 40;
    let visual: { visualClass: number; masks: ScreenInfo['masks'] } | null = null;
    for (let d = 0; d < depthCount; d++) {
      const visualCount = body.readUInt16LE(offset + 2);
      offset += 8;
      for (let v = 0; v < visualCount; v++, offset += 24) {
        if (body.readUInt32LE(offset) === rootVisual) {
          visual = {
            visualClass: body[offset + 4]!,
            masks: { red: body.readUInt32LE(offset + 8), green: body.readUInt32LE(offset + 12), blue: body.readUInt32LE(offset + 16) },
          };
        }
      }
    }
    if (s !== screenIndex) continue;
    const format = formats.get(depth);
    if (!format) throw new X11Error(`the X server lists no pixmap format for depth ${depth}`);
    if (!visual) throw new X11Error('the root visual is not in the setup reply');
    return { root, width, height, depth, ...format, msbFirst, ...visual };
  }
  throw new X11Error('screen not found in the setup reply');
}

const TRUE_COLOR = 4;
const DIRECT_COLOR = 5;
/** Largest GetImage reply asked for at once; a big screen is read in strips of rows. */
const STRIP_BYTES = 8 * 1024 * 1024;

/** Converts ZPixmap rows to 8-bit RGB with the visual's channel masks. */
function toRgb(data: Buffer, screen: ScreenInfo, width: number, rows: number, out: Buffer, outOffset: number): void {
  const bytesPerPixel = screen.bitsPerPixel >> 3;
  const stride = Math.ceil((width * screen.bitsPerPixel) / screen.scanlinePad) * (screen.scanlinePad >> 3);
  const channel = (mask: number) => {
    let shift = 0;
    while (mask !== 0 && ((mask >>> shift) & 1) === 0) shift++;
    const max = mask >>> shift;
    return { shift, max, mask };
  };
  const [r, g, b] = [channel(screen.masks.red), channel(screen.masks.green), channel(screen.masks.blue)];
  const fast = bytesPerPixel === 4 && !screen.msbFirst && r.mask === 0xff0000 && g.mask === 0xff00 && b.mask === 0xff;
  for (let y = 0; y < rows; y++) {
    let i = y * stride;
    let o = outOffset + y * width * 3;
    for (let x = 0; x < width; x++, i += bytesPerPixel, o += 3) {
      if (fast) {
        out[o] = data[i + 2]!;
        out[o + 1] = data[i + 1]!;
        out[o + 2] = data[i]!;
        continue;
      }
      let pixel = 0;
      for (let k = 0; k < bytesPerPixel; k++) pixel += data[i + (screen.msbFirst ? k : bytesPerPixel - 1 - k)]! * 2 ** (8 * (bytesPerPixel - 1 - k));
      out[o] = Math.round((((pixel & r.mask) >>> r.shift) * 255) / (r.max || 1));
      out[o + 1] = Math.round((((pixel & g.mask) >>> g.shift) * 255) / (g.max || 1));
      out[o + 2] = Math.round((((pixel & b.mask) >>> b.shift) * 255) / (b.max || 1));
    }
  }
}

/**
 * Reads the whole root window of an X display as RGB, speaking the X11 protocol directly over
 * the display's socket: connection setup (with the MIT-MAGIC-COOKIE-1 from the Xauthority file
 * when there is one), then GetImage in ZPixmap format. No X library or tool is needed on the
 * machine. TrueColor and DirectColor visuals of 15 to 32 bits per pixel are supported; others
 * (8-bit palettes) throw, and the caller falls back to a capture tool.
 */
export async function captureX11Root(display: X11Display, options: { env: NodeJS.ProcessEnv; signal?: AbortSignal; timeoutMs?: number }): Promise<RgbImage> {
  const socket = display.socketPath ? net.connect({ path: display.socketPath }) : net.connect({ host: display.host!, port: display.port! });
  const reader = new Reader(socket);
  const stop = (error: X11Error): void => {
    reader.fail(error);
    socket.destroy(error);
  };
  const abort = (): void => stop(new X11Error('cancelled'));
  options.signal?.addEventListener('abort', abort, { once: true });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const timer = setTimeout(() => stop(new X11Error(`X display ${display.name} did not answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }).catch((error: NodeJS.ErrnoException) => {
      if (error instanceof X11Error) throw error;
      throw new X11Error(`cannot connect to X display ${display.name} (${display.socketPath ?? `${display.host}:${display.port}`}): ${error.code ?? error.message}`, { cause: error });
    });

    const cookie = findCookie(options.env, { displayNumber: display.displayNumber, host: display.host });
    const authName = Buffer.from(cookie?.name ?? '', 'latin1');
    const authData = cookie?.data ?? Buffer.alloc(0);
    const setup = Buffer.alloc(12 + authName.length + pad4(authName.length) + authData.length + pad4(authData.length));
    setup[0] = 0x6c; // 'l': little-endian requests and replies
    setup.writeUInt16LE(11, 2);
    setup.writeUInt16LE(0, 4);
    setup.writeUInt16LE(authName.length, 6);
    setup.writeUInt16LE(authData.length, 8);
    authName.copy(setup, 12);
    authData.copy(setup, 12 + authName.length + pad4(authName.length));
    socket.write(setup);

    const head = await reader.read(8);
    const extra = await reader.read(head.readUInt16LE(6) * 4);
    if (head[0] === 0) {
      const reason = extra.subarray(0, head[1]!).toString('latin1').trim();
      throw new X11Error(`X display ${display.name} refused the connection: ${reason || 'no reason given'}${cookie ? '' : ' (no MIT-MAGIC-COOKIE-1 for it in the Xauthority file; set XAUTHORITY)'}`);
    }
    if (head[0] !== 1) throw new X11Error(`X display ${display.name} asks for an authentication protocol the agent does not speak`);
    const screen = parseSetup(extra, display.screen);
    if (screen.visualClass !== TRUE_COLOR && screen.visualClass !== DIRECT_COLOR) {
      throw new X11Error(`the root window's visual (class ${screen.visualClass}, depth ${screen.depth}) is not TrueColor`);
    }
    if (![16, 24, 32].includes(screen.bitsPerPixel)) throw new X11Error(`unsupported ${screen.bitsPerPixel} bits per pixel`);

    const { width, height } = screen;
    const rgb = Buffer.alloc(width * height * 3);
    const rowBytes = Math.ceil((width * screen.bitsPerPixel) / screen.scanlinePad) * (screen.scanlinePad >> 3);
    const rowsPerStrip = Math.max(1, Math.floor(STRIP_BYTES / rowBytes));
    let sequence = 0;
    for (let y = 0; y < height; y += rowsPerStrip) {
      const rows = Math.min(rowsPerStrip, height - y);
      const request = Buffer.alloc(20);
      request[0] = 73; // GetImage
      request[1] = 2; // ZPixmap
      request.writeUInt16LE(5, 2);
      request.writeUInt32LE(screen.root, 4);
      request.writeInt16LE(0, 8);
      request.writeInt16LE(y, 10);
      request.writeUInt16LE(width, 12);
      request.writeUInt16LE(rows, 14);
      request.writeUInt32LE(0xffffffff, 16);
      socket.write(request);
      sequence = (sequence + 1) & 0xffff;
      for (;;) {
        const packet = await reader.read(32);
        if (packet[0] === 0) throw new X11Error(`X error ${packet[1]} answering GetImage (bad value or match: the screen changed size?)`);
        if (packet[0] !== 1) continue; // an event; none were selected, but the protocol allows them
        const data = await reader.read(packet.readUInt32LE(4) * 4);
        if (packet.readUInt16LE(2) !== sequence) continue;
        if (data.length < rowBytes * rows) throw new X11Error(`GetImage returned ${data.length} bytes for ${rows} rows of ${rowBytes}`);
        toRgb(data, screen, width, rows, rgb, y * width * 3);
        break;
      }
    }
    return { width, height, rgb };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', abort);
    socket.destroy();
  }
}
