import { describe, expect, it } from 'vitest';
import { en } from '../i18n/en.js';
import { ptBR } from '../i18n/pt-BR.js';
import { formatAgo, formatBytes, formatDuration, formatPercent, formatRate, interpolate, usageLevel } from './format.js';

describe('formatting', () => {
  it('formats sizes in binary units with locale decimals', () => {
    expect(formatBytes(0, 'en')).toBe('0 B');
    expect(formatBytes(1536, 'en')).toBe('1.5 KB');
    expect(formatBytes(1536, 'pt-BR')).toBe('1,5 KB');
    expect(formatBytes(23.5 * 1024 ** 3, 'en')).toBe('23.5 GB');
    expect(formatBytes(512 * 1024 ** 3, 'en')).toBe('512 GB');
    expect(formatBytes(null, 'en')).toBe('—');
    expect(formatRate(2 * 1024 ** 2, 'en')).toBe('2 MB/s');
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
