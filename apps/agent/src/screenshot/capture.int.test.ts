import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../logging/logger.js';
import { hasImageMagickConvert, hasProgram, imageMagickSkipReason, skipNote, startXvfb, xrun, xvfbSkipReason, type Xvfb } from '../testing/xvfb.js';
import { captureScreen, NoDisplayError } from './capture.js';
import { decodePng, encodePng, type RgbImage } from './png.js';

const ORANGE = [0xff, 0x80, 0x00];
// Skipped tests say why in their name (issue #21).
const noXvfb = xvfbSkipReason();
const noImageMagick = imageMagickSkipReason();
const noImport = hasProgram('import') || (hasProgram('xwd') && hasImageMagickConvert()) ? null : 'needs ImageMagick\'s import, or xwd and ImageMagick\'s convert';
const noXwd = hasProgram('xwd') ? noImageMagick : 'needs xwd (apt-get install x11-apps)';
const pixel = (image: RgbImage, x: number, y: number): number[] => [...image.rgb.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3)];

describe.skipIf(noXvfb !== null)(`screen capture against a real X server (Xvfb)${skipNote(noXvfb)}`, () => {
  let xvfb: Xvfb;
  const { logger } = createMemoryLogger('silent');

  beforeAll(async () => {
    xvfb = await startXvfb('640x480x24');
    xrun(xvfb.display, 'xsetroot', ['-solid', '#ff8000']);
  });
  afterAll(async () => {
    await xvfb?.stop();
  });

  it('captures the root window with its own X11 client, as a PNG of the right size and colour', async () => {
    const shot = await captureScreen({ env: { DISPLAY: xvfb.display, HOME: '/nonexistent' }, timeoutMs: 10_000, logger });
    expect(shot).toMatchObject({ width: 640, height: 480, display: xvfb.display, method: 'x11' });
    const image = decodePng(shot.png);
    expect([image.width, image.height]).toEqual([640, 480]);
    for (const [x, y] of [[0, 0], [639, 0], [320, 240], [0, 479], [639, 479]] as const) expect(pixel(image, x, y)).toEqual(ORANGE);
  });

  it('scales down to maxWidth keeping the aspect ratio', async () => {
    const shot = await captureScreen({ display: xvfb.display, maxWidth: 320, env: {}, timeoutMs: 10_000, logger });
    const image = decodePng(shot.png);
    expect([image.width, image.height, shot.width, shot.height]).toEqual([320, 240, 320, 240]);
    expect(pixel(image, 160, 120)).toEqual(ORANGE);
  });

  it('reads a window drawn by a real X client, not just the background', async () => {
    // A black 100x100 bitmap tile laid over the orange root: two colours where they belong.
    const dir = mkdtempSync(path.join(tmpdir(), 'farol-xbm-'));
    try {
      const bitmap = path.join(dir, 'stripe.xbm');
      // 16x16, left half set (foreground), right half clear (background); the data must start on its own line.
      const rows = Array.from({ length: 16 }, () => '0xff, 0x00').join(', ');
      writeFileSync(bitmap, `#define s_width 16\n#define s_height 16\nstatic unsigned char s_bits[] = {\n  ${rows} };\n`);
      xrun(xvfb.display, 'xsetroot', ['-bitmap', bitmap, '-fg', '#0000ff', '-bg', '#00ff00']);
      const image = decodePng((await captureScreen({ display: xvfb.display, env: {}, timeoutMs: 10_000, logger })).png);
      expect(pixel(image, 0, 0)).toEqual([0, 0, 0xff]);
      expect(pixel(image, 7, 5)).toEqual([0, 0, 0xff]);
      expect(pixel(image, 8, 5)).toEqual([0, 0xff, 0]);
      expect(pixel(image, 16 * 10 + 12, 16 * 7 + 3)).toEqual([0, 0xff, 0]);
    } finally {
      xrun(xvfb.display, 'xsetroot', ['-solid', '#ff8000']);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(noImport !== null)(`falls back to the platform's tools when the native client is not used${skipNote(noImport)}`, async () => {
    const shot = await captureScreen({ display: xvfb.display, env: {}, timeoutMs: 20_000, logger, native: false });
    // ImageMagick's import is tried first (its -display must come before its other options).
    expect(shot.method).toBe(hasProgram('import') ? 'import' : 'xwd');
    const image = decodePng(shot.png);
    expect([image.width, image.height]).toEqual([640, 480]);
    expect(pixel(image, 320, 240)).toEqual(ORANGE);
  });

  it.skipIf(noXwd !== null)(`goes on to xwd | convert when import fails${skipNote(noXwd)}`, async () => {
    // An `import` first on PATH that fails, as a broken ImageMagick would.
    const bin = mkdtempSync(path.join(tmpdir(), 'farol-bin-'));
    try {
      writeFileSync(path.join(bin, 'import'), '#!/bin/sh\necho "import: simulated failure" >&2\nexit 1\n', { mode: 0o755 });
      const shot = await captureScreen({ display: xvfb.display, env: { PATH: `${bin}:${process.env.PATH}` }, timeoutMs: 20_000, logger, native: false });
      expect(shot.method).toBe('xwd');
      const image = decodePng(shot.png);
      expect([image.width, image.height]).toEqual([640, 480]);
      expect(pixel(image, 5, 5)).toEqual(ORANGE);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('answers "no display" on a headless machine: no DISPLAY, no X socket, no Wayland', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'farol-nox-'));
    try {
      const attempt = captureScreen({ env: {}, socketDir: empty, timeoutMs: 5_000, logger });
      await expect(attempt).rejects.toBeInstanceOf(NoDisplayError);
      await expect(attempt).rejects.toThrow(/^no display: DISPLAY is not set/);
      // A DISPLAY naming a server that is not running is the same answer.
      await expect(captureScreen({ env: { DISPLAY: ':4242' }, socketDir: empty, timeoutMs: 5_000, logger })).rejects.toThrow(/no X server is running on :4242/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe.skipIf(noXvfb !== null)(`an X server that requires a MIT-MAGIC-COOKIE-1${skipNote(noXvfb)}`, () => {
  let xvfb: Xvfb;
  let dir: string;
  let authFile: string;
  const { logger } = createMemoryLogger('silent');

  /** An Xauthority file with one wildcard entry (any address, any display) holding `cookie`. */
  function xauthority(cookie: Buffer): Buffer {
    const field = (value: Buffer) => Buffer.concat([Buffer.from([value.length >> 8, value.length & 0xff]), value]);
    return Buffer.concat([Buffer.from([0xff, 0xff]), field(Buffer.alloc(0)), field(Buffer.alloc(0)), field(Buffer.from('MIT-MAGIC-COOKIE-1')), field(cookie)]);
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'farol-xauth-'));
    authFile = path.join(dir, 'Xauthority');
    writeFileSync(authFile, xauthority(randomBytes(16)), { mode: 0o600 });
    xvfb = await startXvfb('320x200x24', ['-auth', authFile]);
    const painted = spawnSync('xsetroot', ['-display', xvfb.display, '-solid', '#ff8000'], { env: { ...process.env, XAUTHORITY: authFile }, encoding: 'utf8' });
    if (painted.status !== 0) throw new Error(`xsetroot: ${painted.stderr}`);
  });
  afterAll(async () => {
    await xvfb?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates with the cookie from $XAUTHORITY', async () => {
    const shot = await captureScreen({ display: xvfb.display, env: { XAUTHORITY: authFile }, timeoutMs: 10_000, logger });
    expect(shot.method).toBe('x11');
    expect(pixel(decodePng(shot.png), 10, 10)).toEqual(ORANGE);
  });

  it('reports the server\'s refusal, naming the missing cookie, when it has none', async () => {
    const attempt = captureScreen({ display: xvfb.display, env: { XAUTHORITY: path.join(dir, 'none'), HOME: dir }, timeoutMs: 10_000, logger });
    await expect(attempt).rejects.toThrow(/x11: X display :\d+ refused the connection: .*no MIT-MAGIC-COOKIE-1 for it/);
  });
});

describe('PNG encoding', () => {
  it.skipIf(noImageMagick !== null)(`writes PNGs that an independent decoder (ImageMagick) reads back pixel for pixel${skipNote(noImageMagick)}`, async () => {
    const width = 7;
    const height = 5;
    const rgb = Buffer.alloc(width * height * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + (i >> 3) * 11) & 0xff;
    const png = await encodePng(rgb, width, height);
    const out = spawnSync('convert', ['png:-', '-depth', '8', 'rgb:-'], { input: png });
    expect(out.status).toBe(0);
    expect(Buffer.compare(out.stdout, rgb)).toBe(0);
    expect(decodePng(png).rgb.equals(rgb)).toBe(true);
  });
});
