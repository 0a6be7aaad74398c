/**
 * Merkle trees as RFC 9162 §2.1 defines them (leaf hash H(0x00 ‖ d), node hash
 * H(0x01 ‖ left ‖ right), a tree of n leaves split at the largest power of two below n), used to
 * sign all of a job's commands with one signature. The hash function is passed in, so this
 * module runs anywhere the protocol does.
 */
export type Sha256 = (data: Uint8Array) => Uint8Array;

function prefixed(prefix: number, ...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(1 + parts.reduce((n, p) => n + p.length, 0));
  out[0] = prefix;
  let at = 1;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function merkleLeafHash(sha256: Sha256, data: Uint8Array): Uint8Array {
  return sha256(prefixed(0x00, data));
}

function nodeHash(sha256: Sha256, left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(prefixed(0x01, left, right));
}

/** The tree head and every leaf's audit path (leaf to root), with O(n) hashing. */
export function merkleTree(sha256: Sha256, leaves: readonly Uint8Array[]): { root: Uint8Array; paths: Uint8Array[][] } {
  if (leaves.length === 0) throw new Error('a Merkle tree needs at least one leaf');
  const paths: Uint8Array[][] = leaves.map(() => []);
  const head = (lo: number, hi: number): Uint8Array => {
    const n = hi - lo;
    if (n === 1) return leaves[lo]!;
    let k = 1;
    while (k * 2 < n) k *= 2;
    const left = head(lo, lo + k);
    const right = head(lo + k, hi);
    for (let i = lo; i < lo + k; i++) paths[i]!.push(right);
    for (let i = lo + k; i < hi; i++) paths[i]!.push(left);
    return nodeHash(sha256, left, right);
  };
  return { root: head(0, leaves.length), paths };
}

/**
 * The root that a leaf's audit path leads to (RFC 9162 §2.1.3.2), or null when the path cannot
 * belong to leaf `index` of a tree of `size` leaves.
 */
export function merkleRootFromPath(sha256: Sha256, leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[]): Uint8Array | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(sha256, p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(sha256, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}
