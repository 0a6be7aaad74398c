import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INPUTS, OUTPUTS, isUpToDate } from '../../scripts/build-staleness.mjs';

const BUILT_AT = 2_000_000;
const EDITED_AT = 1_000_000;
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function writeFile(root: string, file: string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), 'x');
}

/** Every file and folder below `dir` stamped at `at` seconds (writing a file touches its folders). */
function stamp(dir: string, at: number): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) stamp(full, at);
    utimesSync(full, at, at);
  }
}

/** A repository-shaped folder: sources edited at EDITED_AT, outputs built at BUILT_AT, plus `extra` files. */
function tree(extra: string[] = []): string {
  const root = mkdtempSync(path.join(tmpdir(), 'farol-staleness-'));
  roots.push(root);
  for (const input of INPUTS) writeFile(root, input.includes('.') ? input : path.join(input, 'src', 'main.ts'));
  for (const file of [...OUTPUTS, ...extra]) writeFile(root, file);
  stamp(root, EDITED_AT);
  for (const output of OUTPUTS) utimesSync(path.join(root, output), BUILT_AT, BUILT_AT);
  return root;
}

describe('npm start skips the build only when it is up to date (#21)', () => {
  it('skips when every output is newer than every source', () => {
    expect(isUpToDate(tree())).toBe(true);
  });

  it('builds when a source changed after the last build, or an output is missing', () => {
    const changed = tree();
    utimesSync(path.join(changed, 'packages', 'src', 'main.ts'), BUILT_AT + 1, BUILT_AT + 1);
    expect(isUpToDate(changed)).toBe(false);
    const missing = tree();
    rmSync(path.join(missing, OUTPUTS[0]!));
    expect(isUpToDate(missing)).toBe(false);
  });

  it('ignores what the build itself writes and what npm installs', () => {
    const root = tree(['apps/hub/node_modules/x.js', 'apps/hub/dist/extra.js']);
    for (const skipped of ['apps/hub/node_modules/x.js', 'apps/hub/dist/extra.js']) utimesSync(path.join(root, skipped), BUILT_AT + 1, BUILT_AT + 1);
    expect(isUpToDate(root)).toBe(true);
  });
});
