import { describe, expect, it } from 'vitest';
import { formatBytes, formatLabels, formatPercent, formatRelative, formatTimestamp, formatUptime } from './format.js';

const now = Date.UTC(2026, 0, 1);

describe('formatRelative', () => {
  it.each([
    [now - 12_000, '12s ago'],
    [now - 5 * 60_000, '5m ago'],
    [now - 3 * 3_600_000, '3h ago'],
    [now - 3 * 86_400_000, '3d ago'],
    [now + 500, '0s ago'],
    [now + 2 * 3_600_000, 'in 2h'],
    // Rounded to the nearest unit, not down (#21): a fresh 2 h silence read 5 s later.
    [now + 2 * 3_600_000 - 5_000, 'in 2h'],
    [now - (59 * 60_000 + 40_000), '1h ago'],
    [now - (47 * 3_600_000 + 50 * 60_000), '2d ago'],
    [now - 100_000, '2m ago'],
    [null, 'never'],
  ])('shows %s as %s', (at, text) => {
    expect(formatRelative(at, now)).toBe(text);
  });
});

describe('formatBytes', () => {
  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [16 * 1024 ** 3, '16.0 GiB'],
    [null, '-'],
  ])('shows %s as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('small formatters', () => {
  it('rounds percents and marks missing ones', () => {
    expect([formatPercent(12.6), formatPercent(12.64, 1), formatPercent(null)]).toEqual(['13%', '12.6%', '-']);
  });

  it('sorts labels by key', () => {
    expect(formatLabels({ role: 'web', env: 'prod' })).toBe('env=prod,role=web');
    expect(formatLabels({})).toBe('-');
  });

  it('writes timestamps in UTC to the minute', () => {
    expect(formatTimestamp(Date.UTC(2026, 10, 23, 14, 5, 59))).toBe('2026-11-23 14:05 UTC');
  });

  it('writes uptimes in days, hours and minutes', () => {
    expect([formatUptime(90_061), formatUptime(59), formatUptime(null)]).toEqual(['1d 1h 1m', '0m', '-']);
  });
});
