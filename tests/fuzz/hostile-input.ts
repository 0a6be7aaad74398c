import fc from 'fast-check';

/**
 * A representative subset of the Big List of Naughty Strings (minimaxir/big-list-of-naughty-
 * strings): reserved words, numbers that are not, Unicode edge cases, injection payloads,
 * control characters, path traversal and format strings.
 */
export const NAUGHTY_STRINGS: readonly string[] = [
  '',
  ' ',
  'undefined',
  'null',
  'NULL',
  'nil',
  'true',
  'false',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  '0',
  '-1',
  '1e309',
  '-0',
  'NaN',
  'Infinity',
  '0x0',
  '99999999999999999999999999999',
  '\u0000',
  '\u0000\u0001\u0002\u001f\u007f',
  '\t\r\n\u000b\u000c',
  '\u200b\u200c\u200d\ufeff',
  '\u202e\u202d RTL override',
  '\ud800',
  '\udfff\ud800',
  'Ω≈ç√∫˜µ≤≥÷',
  '田中さんにあげて下さい',
  '𝕿𝖍𝖊 𝖖𝖚𝖎𝖈𝖐',
  '👾 🙇 💁 🙅 🙆 🙋 🙎 🙍',
  'Z̮̞̠͙͔ͅḀ̗̞͈̻̗Ḷ͙͎̯̹̞͓G̻O̭̗̮',
  "'; DROP TABLE agents; --",
  '1 OR 1=1',
  "' OR ''='",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '{{7*7}}${7*7}<%= 7*7 %>',
  '$(reboot)',
  '`rm -rf /`',
  '; cat /etc/passwd',
  '../../../../etc/passwd',
  '..\\..\\..\\windows\\win.ini',
  '%00',
  '%2e%2e%2f',
  '%s%s%s%n',
  '{"__proto__":{"polluted":1}}',
  'javascript:alert(1)',
  'file:///etc/passwd',
  'http://169.254.169.254/latest/meta-data/',
  'role=gpu,,,=,!=,==',
  '*',
  'a'.repeat(300),
];

/** A leaf value: naughty strings, extreme numbers, and the odd types JSON allows. */
export const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...NAUGHTY_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308, -1e-308, 2 ** 53 + 1),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.integer({ min: 10_000, max: 120_000 }).map((n) => 'x'.repeat(n)),
);

/** Objects and arrays of hostile leaves, with `__proto__` and `constructor` among the keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, hostileLeaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'), fc.string({ maxLength: 12 })), tie('value'), { maxKeys: 5 }),
})).value;

/** `depth` nested arrays or objects around a value. */
export function nested(depth: number, kind: 'array' | 'object', inner: unknown = 1): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/**
 * JSON text a JSON.stringify of a real object cannot produce: `__proto__` as an own key (a
 * prototype-pollution attempt), deep nesting, duplicate keys.
 */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constant('{"__proto__":{"isAdmin":true},"a":1}'),
  fc.constant('{"constructor":{"prototype":{"isAdmin":true}}}'),
  fc.constant('{"a":1,"a":2,"__proto__":[]}'),
  fc.integer({ min: 100, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 100, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.constant('{"a":'),
  fc.constant('\u0000'),
  fc.constant('{"a":1}garbage'),
);

/** An object with the given keys (the schema's own, so validation goes past the first level), hostile values. */
export function objectWithKeys(keys: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  if (keys.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), hostileValue, { maxKeys: 3 });
  return fc.record(Object.fromEntries(keys.map((key) => [key, hostileValue])), { requiredKeys: [] }).chain((base) =>
    fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'extra'), hostileValue, { maxKeys: 2 }).map((extra) => ({ ...base, ...extra })),
  );
}
