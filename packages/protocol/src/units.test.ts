import { describe, expect, it } from 'vitest';
import { byteAxis, scaleBytes } from './units.js';

const KiB = 1024;
const MiB = 1024 ** 2;

/** The ticks as the chart labels them: value in the axis unit, then the unit. */
const labels = (max: number, targetTicks = 4) => {
  const axis = byteAxis(max, targetTicks);
  return axis.ticks.map((tick) => `${Number((tick / 1024 ** axis.power).toFixed(axis.decimals))} ${axis.unit}`);
};

describe('binary units (#21)', () => {
  it('labels binary multiples as KiB, MiB, GiB', () => {
    expect(scaleBytes(512)).toEqual({ value: 512, unit: 'B', power: 0 });
    expect(scaleBytes(1536)).toEqual({ value: 1.5, unit: 'KiB', power: 1 });
    expect(scaleBytes(23.5 * 1024 ** 3)).toMatchObject({ value: 23.5, unit: 'GiB' });
  });
});

describe('byte chart axis (#21)', () => {
  it('puts ticks on round values in one unit, not 488 / 977 KB', () => {
    // About 1 MB/s of traffic: uPlot's own splits gave 488 and 977 "KB".
    expect(labels(1_000_000)).toEqual(['0 KiB', '500 KiB', '1000 KiB']);
    expect(labels(1.4 * MiB)).toEqual(['0 MiB', '0.5 MiB', '1 MiB', '1.5 MiB']);
    expect(labels(700 * KiB)).toEqual(['0 KiB', '200 KiB', '400 KiB', '600 KiB', '800 KiB']);
  });

  it('never repeats a label on an idle chart: no fractions of a byte', () => {
    expect(labels(0)).toEqual(['0 B', '1 B']);
    expect(labels(0.6)).toEqual(['0 B', '1 B']);
    expect(labels(3)).toEqual(['0 B', '1 B', '2 B', '3 B']);
    for (const max of [0, 0.3, 1, 7, 999, 1023, 1025, 3 * MiB, 5e9]) {
      const ticks = labels(max);
      expect(new Set(ticks).size, `max ${max}: ${ticks.join(', ')}`).toBe(ticks.length);
    }
  });

  it('ends at or above the data, in whole steps', () => {
    for (const max of [0.5, 10, 1000, 123_456, 9.9 * MiB, 7.3e12]) {
      const axis = byteAxis(max);
      expect(axis.top).toBeGreaterThanOrEqual(max);
      expect(axis.top / axis.step).toBeCloseTo(Math.round(axis.top / axis.step));
      expect(axis.ticks.length).toBeLessThanOrEqual(8);
    }
  });
});
