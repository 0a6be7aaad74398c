import { describe, expect, it } from 'vitest';
import { describeCondition, describeMatcher, describeScope, formatDurationText, silentReason, splitList, type ConditionWords } from './alert-format.js';

const words: ConditionWords = {
  offline: (forText) => `offline${forText}`,
  online: () => 'back online',
  container: (condition, containers, forText) => `container ${condition}: ${containers}${forText}`,
  jobFailed: (states) => `a job ends ${states}`,
  forSuffix: (duration) => ` for ${duration}`,
  everyContainer: () => 'every container',
  watchedContainers: () => 'watched containers',
};

describe('alert rule texts', () => {
  it('writes durations the way the API reads them', () => {
    expect([0, 1_500, 90_000, 300_000, 7_200_000, 86_400_000].map(formatDurationText)).toEqual(['0s', '1500ms', '90s', '5m', '2h', '1d']);
  });

  it('describes each kind of condition in one line', () => {
    expect(describeCondition({ kind: 'metric', metric: 'disk:/var', op: '>=', threshold: 90, for: 300_000 }, words)).toBe('disk:/var >= 90 for 5m');
    expect(describeCondition({ kind: 'metric', metric: 'cpu', op: '>', threshold: 95, for: 0 }, words)).toBe('cpu > 95');
    expect(describeCondition({ kind: 'offline', for: 120_000 }, words)).toBe('offline for 2m');
    expect(describeCondition({ kind: 'online' }, words)).toBe('back online');
    expect(describeCondition({ kind: 'container', condition: 'down', containers: ['*'], for: 0, restarts: 3, window: 600_000 }, words)).toBe('container down: every container');
    expect(describeCondition({ kind: 'container', condition: 'unhealthy', for: 60_000, restarts: 3, window: 600_000 }, words)).toBe('container unhealthy: watched containers for 1m');
    expect(describeCondition({ kind: 'job_failed', states: ['failed', 'timed_out'] }, words)).toBe('a job ends failed, timed_out');
  });

  it('names the machines a rule or a silence covers', () => {
    expect(describeScope({ all: true }, 'every machine')).toBe('every machine');
    expect(describeScope({ selector: 'role=gpu' }, 'every machine')).toBe('role=gpu');
    expect(describeScope({ agents: ['a', 'b'] }, 'every machine')).toBe('a, b');
    const matcherWords = { everything: 'Everything', rules: (names: string) => `rules ${names}` };
    expect(describeMatcher({ all: true }, matcherWords)).toBe('Everything');
    expect(describeMatcher({ agents: ['web-1'], rules: ['cpu-high'] }, matcherWords)).toBe('web-1 · rules cpu-high');
    expect(splitList(' a, b  c,,a ')).toEqual(['a', 'b', 'c']);
  });
});

describe('alerts that reach no one (#21)', () => {
  it('warns when there is no channel, or when every channel is disabled', () => {
    expect(silentReason([])).toBe('none');
    expect(silentReason([{ enabled: false }, { enabled: false }])).toBe('disabled');
    expect(silentReason([{ enabled: false }, { enabled: true }])).toBeNull();
    // Still loading: no warning yet rather than a flash of one.
    expect(silentReason(undefined)).toBeNull();
  });
});
