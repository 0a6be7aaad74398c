import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { wantsLeanV8 } from './lean-v8.js';

describe('wantsLeanV8', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'farol-lean-'));
  const bundle = path.join(dir, 'farol-agent.mjs');
  writeFileSync(bundle, '');
  const link = path.join(dir, 'farol-agent');
  symlinkSync(bundle, link);
  const bundleUrl = pathToFileURL(bundle).href;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is on for the agent program running its commands, also started through a symlink', () => {
    expect(wantsLeanV8(['node', bundle, 'run', '--state', '/tmp/x'], bundleUrl)).toBe(true);
    expect(wantsLeanV8(['node', bundle], bundleUrl)).toBe(true);
    expect(wantsLeanV8(['node', link, 'enroll'], bundleUrl)).toBe(true);
  });

  it('is off for simulate, which plays thousands of agents and needs the optimising compiler', () => {
    expect(wantsLeanV8(['node', bundle, 'simulate', '--agents', '1000'], bundleUrl)).toBe(false);
  });

  it('is off when another program imported the agent (tests, node -e)', () => {
    expect(wantsLeanV8(['node', path.join(dir, 'missing.mjs'), 'run'], bundleUrl)).toBe(false);
    expect(wantsLeanV8(['node'], bundleUrl)).toBe(false);
    expect(wantsLeanV8(['node', bundle, 'run'], pathToFileURL(path.join(dir, 'other.mjs')).href)).toBe(false);
  });
});
