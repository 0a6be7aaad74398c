import { describe, expect, it } from 'vitest';
import { escapeLabelValue, gaugeFamily, labelSet } from './metrics-text.js';

describe('metrics as text (#16)', () => {
  it('escapes backslashes, double quotes and line feeds in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(labelSet([['agent_id', 'ag_1'], ['name', 'x"y']], 'hub-1')).toBe('{agent_id="ag_1",name="x\\"y",hub="hub-1"}');
    expect(labelSet([], 'hub-1')).toBe('{hub="hub-1"}');
    expect(labelSet([], undefined)).toBe('');
  });

  it('writes HELP, TYPE and one line per finite value', () => {
    const text = gaugeFamily('farol_x', 'An\nodd help', [
      ['{a="1"}', 1.5],
      ['{a="2"}', null],
      ['{a="3"}', Number.NaN],
      ['{a="4"}', Number.POSITIVE_INFINITY],
      ['{a="5"}', 0],
    ]);
    expect(text).toBe('# HELP farol_x An\\nodd help\n# TYPE farol_x gauge\nfarol_x{a="1"} 1.5\nfarol_x{a="5"} 0\n');
  });
});
