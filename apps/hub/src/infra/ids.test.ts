import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ID_PREFIXES, isIdShaped } from '@farol/protocol';
import { randomId } from './ids.js';

const hubSource = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

describe('ids', () => {
  it('every id prefix the hub mints is one that machine names may not imitate (#11)', () => {
    const minted = new Set<string>();
    for (const file of sourceFiles(hubSource)) {
      for (const match of readFileSync(file, 'utf8').matchAll(/randomId\('([a-z]+)'/g)) minted.add(match[1]!);
    }
    expect(minted.size).toBeGreaterThan(5);
    expect([...minted].filter((prefix) => !(ID_PREFIXES as readonly string[]).includes(prefix))).toEqual([]);
  });

  it('a minted id is id-shaped, a plain name is not (#11)', () => {
    expect(isIdShaped(randomId('ag'))).toBe(true);
    expect(isIdShaped(randomId('jt', 12))).toBe(true);
    expect(isIdShaped('web-1')).toBe(false);
    expect(isIdShaped('agent_7')).toBe(false);
    expect(isIdShaped('ag-web_1')).toBe(false);
  });
});
