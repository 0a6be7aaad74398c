import { promisify } from 'node:util';
import { deflate, inflateSync } from 'node:zlib';

const deflateAsync = promisify(deflate);

/** The 8 bytes every PNG starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG chunks use it (node:zlib's crc32 is not in every Node 20). */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4, 8))), 0);
  return Buffer.concat([head, data, crc]);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Filters one row with one PNG filter into `out` and returns the sum of absolute values of the
 * result (as signed bytes), stopping early once it reaches `limit`. One tight loop per filter:
 * a branch per byte would cost more than the filtering itself.
 */
function filterRow(filter: number, row: Uint8Array, prev: Uint8Array | null, out: Uint8Array, limit: number): number {
  const n = row.length;
  let score = 0;
  const add = (value: number): number => (value < 128 ? value : 256 - value);
  switch (filter) {
    case 0:
      for (let i = 0; i < n && score < limit; i++) score += add((out[i] = row[i]!));
      break;
    case 1:
      for (let i = 0; i < n && score < limit; i++) score += add((out[i] = (row[i]! - (i >= 3 ? row[i - 3]! : 0)) & 0xff));
      break;
    case 2:
      if (!prev) return Infinity;
      for (let i = 0; i < n && score < limit; i++) score += add((out[i] = (row[i]! - prev[i]!) & 0xff));
      break;
    case 3:
      for (let i = 0; i < n && score < limit; i++) score += add((out[i] = (row[i]! - (((i >= 3 ? row[i - 3]! : 0) + (prev ? prev[i]! : 0)) >> 1)) & 0xff));
      break;
    default:
      if (!prev) return Infinity;
      for (let i = 0; i < n && score < limit; i++) {
        score += add((out[i] = (row[i]! - (i >= 3 ? paeth(row[i - 3]!, prev[i]!, prev[i - 3]!) : prev[i]!)) & 0xff));
      }
  }
  return score;
}

/**
 * Encodes 8-bit RGB pixels (3 bytes per pixel, rows top to bottom) as a PNG. Each row gets the
 * filter with the smallest sum of absolute values (the heuristic libpng uses), which keeps
 * flat desktop areas small; deflate runs off the event loop.
 */
export async function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  const stride = width * 3;
  if (rgb.length !== stride * height) throw new Error(`expected ${stride * height} bytes of RGB, got ${rgb.length}`);
  const raw = Buffer.alloc((stride + 1) * height);
  const candidate = [0, 1, 2, 3, 4].map(() => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    const row = rgb.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? rgb.subarray((y - 1) * stride, y * stride) : null;
    let best = 0;
    let bestScore = Infinity;
    for (let filter = 0; filter < 5; filter++) {
      const score = filterRow(filter, row, prev, candidate[filter]!, bestScore);
      if (score < bestScore) {
        bestScore = score;
        best = filter;
      }
      if (bestScore === 0) break;
    }
    const offset = y * (stride + 1);
    raw[offset] = best;
    // Only a candidate that lost stops early, so the winner is always complete.
    raw.set(candidate[best]!, offset + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  header[10] = 0; // deflate
  header[11] = 0; // adaptive filtering
  header[12] = 0; // not interlaced
  const idat = await deflateAsync(raw, { level: 6, memLevel: 9 });
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** Width and height from a PNG's header, or null when the bytes are not a PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } | null {
  const buffer = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (buffer.length < 33 || !buffer.subarray(0, 8).equals(PNG_SIGNATURE) || buffer.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}

/** A decoded image: 8-bit RGB, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Buffer;
}

/**
 * Decodes a non-interlaced PNG of any colour type and bit depth to 8-bit RGB (alpha dropped).
 * Used to scale down what capture tools produce, and by the tests to check pixels.
 */
export function decodePng(png: Uint8Array): RgbImage {
  const buffer = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (!buffer.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colourType = 0;
  let interlace = 0;
  let palette: Buffer | null = null;
  const idat: Buffer[] = [];
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    const data = buffer.subarray(offset + 8, offset + 8 + length);
    if (data.length !== length) throw new Error(`truncated ${type} chunk`);
    if (crc32(buffer.subarray(offset + 4, offset + 8 + length)) !== buffer.readUInt32BE(offset + 8 + length)) throw new Error(`bad CRC in ${type} chunk`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      colourType = data[9]!;
      interlace = data[12]!;
    } else if (type === 'PLTE') palette = Buffer.from(data);
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (width === 0 || height === 0) throw new Error('no IHDR chunk');
  if (interlace !== 0) throw new Error('interlaced PNGs are not supported');
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colourType];
  if (channels === undefined) throw new Error(`unknown PNG colour type ${colourType}`);
  if (colourType === 3 && !palette) throw new Error('palette image without a PLTE chunk');
  const bitsPerPixel = channels * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length < (stride + 1) * height) throw new Error('image data is shorter than the header says');
  const rows = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = rows.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? rows.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[i - bpp]! : 0;
      const b = prev ? prev[i]! : 0;
      const c = prev && i >= bpp ? prev[i - bpp]! : 0;
      const x = line[i]!;
      switch (filter) {
        case 0: out[i] = x; break;
        case 1: out[i] = (x + a) & 0xff; break;
        case 2: out[i] = (x + b) & 0xff; break;
        case 3: out[i] = (x + ((a + b) >> 1)) & 0xff; break;
        case 4: out[i] = (x + paeth(a, b, c)) & 0xff; break;
        default: throw new Error(`unknown PNG filter ${filter} on row ${y}`);
      }
    }
  }
  const rgb = Buffer.alloc(width * height * 3);
  const sample = (row: Buffer, index: number): number => {
    // The index-th sample of `depth` bits in a row, scaled to 8 bits (palette indices unscaled).
    if (depth === 8) return row[index]!;
    if (depth === 16) return row[index * 2]!;
    const bit = index * depth;
    const value = (row[bit >> 3]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
    return colourType === 3 ? value : Math.round((value * 255) / ((1 << depth) - 1));
  };
  for (let y = 0; y < height; y++) {
    const row = rows.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (colourType === 2 || colourType === 6) {
        rgb[o] = sample(row, x * channels);
        rgb[o + 1] = sample(row, x * channels + 1);
        rgb[o + 2] = sample(row, x * channels + 2);
      } else if (colourType === 3) {
        const index = sample(row, x);
        rgb[o] = palette![index * 3] ?? 0;
        rgb[o + 1] = palette![index * 3 + 1] ?? 0;
        rgb[o + 2] = palette![index * 3 + 2] ?? 0;
      } else {
        const grey = sample(row, x * channels);
        rgb[o] = rgb[o + 1] = rgb[o + 2] = grey;
      }
    }
  }
  return { width, height, rgb };
}
