import { describe, expect, it } from 'vitest';
import { en } from '../i18n/en.js';
import { ptBR } from '../i18n/pt-BR.js';
import { byteAxisTicks, formatAgo, formatBytes, formatDuration, formatPercent, formatRate, interpolate, usageLevel } from './format.js';

describe('formatting', () => {
  it('formats sizes in binary units labelled KiB / MiB / GiB, as the CLI does (#21)', () => {
    expect(formatBytes(0, 'en')).toBe('0 B');
    expect(formatBytes(1536, 'en')).toBe('1.5 KiB');
    expect(formatBytes(1536, 'pt-BR')).toBe('1,5 KiB');
    expect(formatBytes(23.5 * 1024 ** 3, 'en')).toBe('23.5 GiB');
    expect(formatBytes(512 * 1024 ** 3, 'en')).toBe('512 GiB');
    expect(formatBytes(null, 'en')).toBe('—');
    expect(formatRate(2 * 1024 ** 2, 'en')).toBe('2 MiB/s');
  });

  it('labels a rate chart\'s axis with round values in one unit, none repeated (#21)', () => {
    expect(byteAxisTicks(1_000_000, 'en', '/s').labels).toEqual(['0 KiB/s', '500 KiB/s', '1,000 KiB/s']);
    expect(byteAxisTicks(1.4 * 1024 ** 2, 'pt-BR', '/s').labels).toEqual(['0 MiB/s', '0,5 MiB/s', '1 MiB/s', '1,5 MiB/s']);
    expect(byteAxisTicks(0.4, 'en', '/s').labels).toEqual(['0 B/s', '1 B/s']);
  });

  it('formats percentages with one decimal below 100', () => {
    expect(formatPercent(12.345, 'en')).toBe('12.3%');
    expect(formatPercent(12.345, 'pt-BR')).toBe('12,3%');
    expect(formatPercent(100, 'en')).toBe('100%');
    expect(formatPercent(undefined, 'en')).toBe('—');
  });

  it('says how long ago in each language', () => {
    const now = 10_000_000;
    expect(formatAgo(now - 500, now, en)).toBe('just now');
    expect(formatAgo(now - 12_400, now, en)).toBe('12 s ago');
    expect(formatAgo(now - 12_400, now, ptBR)).toBe('há 12 s');
    expect(formatAgo(now - 5 * 60_000, now, en)).toBe('5 min ago');
    expect(formatAgo(now - 3 * 3_600_000, now, en)).toBe('3 h ago');
    expect(formatAgo(now - 3 * 86_400_000, now, en)).toBe('3 d ago');
    expect(formatAgo(null, now, en)).toBe('never');
    // A clock slightly ahead of the browser's never gives "in the future".
    expect(formatAgo(now + 3_000, now, en)).toBe('just now');
  });

  it('formats uptimes with the two largest units', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(3_600 * 5 + 60 * 12)).toBe('5 h 12 min');
    expect(formatDuration(86_400 * 3 + 3_600 * 4 + 5)).toBe('3 d 4 h');
    expect(formatDuration(null)).toBe('—');
  });

  it('uses the same thresholds for every usage colour', () => {
    expect([10, 70, 89.9, 90, null].map(usageLevel)).toEqual(['ok', 'warn', 'warn', 'critical', 'unknown']);
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(interpolate('{a} and {b}', { a: 1 })).toBe('1 and {b}');
  });
});
