import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Random lowercase id of `length` chars with a prefix, e.g. `ag_k3j…`. */
export function randomId(prefix: string, length = 16, random: (size: number) => Buffer = randomBytes): string {
  const bytes = random(length);
  let id = '';
  // 36 does not divide 256 evenly; the bias (< 1 %) is irrelevant for identifiers.
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
  return `${prefix}_${id}`;
}
