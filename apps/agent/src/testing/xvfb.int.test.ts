import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasImageMagickConvert, skipNote } from './xvfb.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A PATH holding only a `convert` that prints `version`. */
function pathWithConvert(version: string): NodeJS.ProcessEnv {
  const bin = mkdtempSync(path.join(tmpdir(), 'farol-convert-'));
  dirs.push(bin);
  writeFileSync(path.join(bin, 'convert'), `#!/bin/sh\necho "${version}"\n`, { mode: 0o755 });
  return { PATH: bin };
}

describe('test prerequisites (#21)', () => {
  it('takes `convert` for ImageMagick only when it says so, not because a program of that name exists', () => {
    expect(hasImageMagickConvert(pathWithConvert('Version: ImageMagick 6.9.11-60 Q16 x86_64'))).toBe(true);
    expect(hasImageMagickConvert(pathWithConvert('GraphicsMagick 1.4 (a different convert)'))).toBe(false);
    const empty = mkdtempSync(path.join(tmpdir(), 'farol-empty-'));
    dirs.push(empty);
    expect(hasImageMagickConvert({ PATH: empty })).toBe(false);
  });

  it('names the reason in a skipped test\'s title', () => {
    expect(skipNote(null)).toBe('');
    expect(skipNote('needs Xvfb')).toBe(' (skipped: needs Xvfb)');
  });
});
