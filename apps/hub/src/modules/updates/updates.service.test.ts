import { describe, expect, it } from 'vitest';
import { isOlderVersion, planWaves } from './updates.service.js';

describe('rollout waves (#15)', () => {
  it('sends one machine first, then the percentage, then the rest', () => {
    const machines = Array.from({ length: 10 }, (_, i) => `m${i}`);
    expect(planWaves(machines, 25).map((wave) => wave.length)).toEqual([1, 3, 6]);
    expect(planWaves(machines, 100).map((wave) => wave.length)).toEqual([1, 9]);
  });

  it('never makes an empty wave: two machines are two waves, one machine is one', () => {
    expect(planWaves(['a', 'b'], 25)).toEqual([['a'], ['b']]);
    expect(planWaves(['a'], 25)).toEqual([['a']]);
    expect(planWaves([], 25)).toEqual([]);
  });
});

describe('the automatic update policy only moves machines forward (#15)', () => {
  it('compares dot-separated numbers, not text', () => {
    expect(isOlderVersion('0.9.0', '0.10.0')).toBe(true);
    expect(isOlderVersion('0.1.0', '0.1.0')).toBe(false);
    expect(isOlderVersion('0.2.0', '0.1.0')).toBe(false);
    expect(isOlderVersion('1.0', '1.0.1')).toBe(true);
  });

  it('never touches a version it cannot compare (a pre-release, another agent)', () => {
    expect(isOlderVersion('python-agent/0.1', '0.1.0')).toBe(false);
    expect(isOlderVersion('0.1.0-rc.1', '0.1.0')).toBe(false);
    expect(isOlderVersion('', '0.1.0')).toBe(false);
  });
});
