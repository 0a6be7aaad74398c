import { describe, expect, it } from 'vitest';
import { visibleRows } from './window-rows.js';

describe('visible rows of a windowed list', () => {
  const base = { viewportHeight: 800, listTop: 300, rowHeight: 100, rowCount: 1000, overscan: 2 };

  it('renders the rows on screen and a few on each side', () => {
    // At the top: the list starts 300 px down, so rows 0..4 are visible.
    expect(visibleRows({ ...base, scrollY: 0 })).toEqual({ start: 0, end: 7 });
    // Scrolled to row 50.
    expect(visibleRows({ ...base, scrollY: 5_300 })).toEqual({ start: 48, end: 60 });
  });

  it('stays within the list at its end and when it is empty', () => {
    expect(visibleRows({ ...base, scrollY: 1_000_000 })).toEqual({ start: 1_000, end: 1_000 });
    expect(visibleRows({ ...base, rowCount: 3, scrollY: 0 })).toEqual({ start: 0, end: 3 });
    expect(visibleRows({ ...base, rowCount: 0, scrollY: 0 })).toEqual({ start: 0, end: 0 });
  });
});
