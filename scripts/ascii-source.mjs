// Rewrites a bundle so that it holds ASCII only (issue #16). V8 keeps every script's source in
// memory for the life of the process, as one byte per character when the text is Latin-1 and two
// otherwise: a single `…` left in a comment doubled the 2 MB agent bundle to 4.3 MB of heap.
// esbuild already escapes strings (its default `charset: 'ascii'`) but not comments or regular
// expression literals. Each UTF-16 unit above 0x7f becomes `\uXXXX`, which means the same
// character in strings, templates, regular expressions and identifiers, and nothing in
// comments. (A tagged template reading `.raw` would see the escape; the bundles have none with
// non-ASCII text, which is checked: such a file is refused rather than changed.)
import { readFileSync, writeFileSync } from 'node:fs';

/** Escapes every non-ASCII character of a JavaScript file in place; returns how many. */
export function escapeNonAscii(file) {
  const source = readFileSync(file, 'utf8');
  let count = 0;
  const ascii = source.replace(/[\u0080-\uffff]/g, (unit) => {
    count++;
    return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  if (count === 0) return 0;
  if (/String\.raw`[^`]*[\u0080-\uffff]/.test(source)) throw new Error(`${file}: non-ASCII text inside String.raw; escape it in the source instead`);
  writeFileSync(file, ascii);
  return count;
}
