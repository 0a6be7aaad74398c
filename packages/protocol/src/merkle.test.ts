import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { merkleLeafHash, merkleRootFromPath, merkleTree } from './merkle.js';

const sha256 = (data: Uint8Array): Uint8Array => createHash('sha256').update(data).digest();
const leaves = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => merkleLeafHash(sha256, Buffer.from(`leaf ${i}`)));
const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));

/** The tree head straight from RFC 9162's recursive definition. */
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 1) return d[0]!;
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return sha256(Buffer.concat([Buffer.from([1]), mth(d.slice(0, k)), mth(d.slice(k))]));
}

describe('merkle trees (RFC 9162)', () => {
  it('gives the RFC head, and every leaf of every size up to 70 proves itself and nothing else', () => {
    for (let n = 1; n <= 70; n++) {
      const d = leaves(n);
      const { root, paths } = merkleTree(sha256, d);
      expect(hex(root)).toBe(hex(mth(d)));
      for (let i = 0; i < n; i++) {
        expect(hex(merkleRootFromPath(sha256, d[i]!, i, n, paths[i]!))).toBe(hex(root));
        // Another leaf or index with the same path does not lead to the root.
        if (n > 1) {
          expect(hex(merkleRootFromPath(sha256, d[(i + 1) % n]!, i, n, paths[i]!))).not.toBe(hex(root));
          expect(hex(merkleRootFromPath(sha256, d[i]!, (i + 1) % n, n, paths[i]!))).not.toBe(hex(root));
        }
      }
    }
  });

  it('refuses impossible positions and paths that are too long', () => {
    const d = leaves(4);
    const { paths } = merkleTree(sha256, d);
    expect(merkleRootFromPath(sha256, d[0]!, 4, 4, paths[0]!)).toBeNull();
    expect(merkleRootFromPath(sha256, d[0]!, -1, 4, paths[0]!)).toBeNull();
    expect(merkleRootFromPath(sha256, d[0]!, 0, 4, [...paths[0]!, d[1]!])).toBeNull();
    expect(merkleRootFromPath(sha256, d[0]!, 0, 1, paths[0]!)).toBeNull();
  });
});
