import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Supported runtimes (issue #15, README "Start here"): Node.js 24 LTS, and this machine's Node 20
// (from the root package.json's engines) for the two-command start. `npm ci` prints an
// EBADENGINE warning for every installed package whose `engines.node` leaves one of them out,
// so the lockfile is checked here instead of by reading CI logs.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean; minVersion(range: string): { version: string } };
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }>;
};
const rootEngines = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
const NODE_24 = '24.0.0';
const NODE_20 = semver.minVersion(rootEngines).version;

function offenders(version: string): string[] {
  return Object.entries(lock.packages)
    .filter(([, entry]) => !Array.isArray(entry.engines) && typeof entry.engines?.node === 'string' && !semver.satisfies(version, entry.engines.node))
    .map(([where, entry]) => `${where.replace(/^.*node_modules\//, '')} (${(entry.engines as { node: string }).node}${entry.dev ? ', dev' : ''})`);
}

describe('runtime support in the lockfile', () => {
  it('has no package whose engines leave out Node.js 24', () => {
    expect(offenders(NODE_24)).toEqual([]);
  });

  it(`has no package whose engines leave out Node.js ${NODE_20}, the two-command start's runtime`, () => {
    expect(offenders(NODE_20)).toEqual([]);
  });
});
