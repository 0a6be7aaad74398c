import { describe, expect, it } from 'vitest';
import { parsePerfData, parsePluginOutput, statusOfExitCode } from './nagios.js';

describe('Nagios plugin output (#19)', () => {
  it('maps exit codes 0-3 to OK, WARNING, CRITICAL, UNKNOWN and anything else to UNKNOWN', () => {
    expect([0, 1, 2, 3, 4, null].map(statusOfExitCode)).toEqual(['ok', 'warning', 'critical', 'unknown', 'unknown', 'unknown']);
  });

  it('takes the first line as the message and parses performance data into numbers', () => {
    const parsed = parsePluginOutput("DISK WARNING - free space: / 900 MB | '/'=900MB;1000;500;0;10000 time=0.012s\nmore detail\n");
    expect(parsed.message).toBe('DISK WARNING - free space: / 900 MB');
    expect(parsed.perfdata).toEqual([
      { label: '/', value: 900, unit: 'MB', warn: 1000, crit: 500, min: 0, max: 10000 },
      { label: 'time', value: 0.012, unit: 's', warn: null, crit: null, min: null, max: null },
    ]);
  });

  it('reads perfdata of long output lines, ranges by their upper end, and skips malformed items', () => {
    expect(parsePluginOutput('OK\nline two | load1=0.5;@1:5;~:10').perfdata).toEqual([{ label: 'load1', value: 0.5, unit: null, warn: 5, crit: 10, min: null, max: null }]);
    expect(parsePerfData('bad=abc good=1%')).toEqual([{ label: 'good', value: 1, unit: '%', warn: null, crit: null, min: null, max: null }]);
  });
});
