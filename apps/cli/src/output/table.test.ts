import { describe, expect, it } from 'vitest';
import { renderFields, renderTable } from './table.js';

describe('renderTable', () => {
  it('pads every column but the last to its widest cell, with no trailing spaces', () => {
    expect(renderTable(['NAME', 'STATUS', 'NOTE'], [['a', 'online', ''], ['long-name', 'off', 'x']])).toBe(
      'NAME       STATUS  NOTE\na          online\nlong-name  off     x\n',
    );
  });

  it('counts accented letters as one column', () => {
    expect(renderTable(['A', 'B'], [['é', '1'], ['ab', '2']])).toBe('A   B\né   1\nab  2\n');
  });
});

describe('renderFields', () => {
  it('aligns values, indents, and skips undefined ones', () => {
    expect(renderFields([['os', 'linux'], ['skipped', undefined], ['kernel', '6.1']], 2)).toBe('  os      linux\n  kernel  6.1\n');
  });
});
