import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobTargetEvent } from '@farol/protocol';
import { createMemoryBus } from '../../infra/bus.js';
import { createLogger } from '../../infra/logger.js';
import { runningJob } from '../../testing/running-job.js';
import { createJobState } from './job-state.js';
import { queuedTarget } from './job-targets.js';

const JOB = 'job_0123456789abcdef';
const INTERVAL = 250;

function setUp() {
  const now = Date.UTC(2026, 11, 7, 12);
  const logger = createLogger('silent');
  const bus = createMemoryBus(logger);
  const steps: Array<[string, string]> = [];
  bus.subscribe('job.target', (event: JobTargetEvent) => steps.push([event.target.commandId, event.target.state]));
  const finals: string[] = [];
  const state = createJobState({
    bus,
    clock: { now: () => now },
    summaryIntervalMs: INTERVAL,
    writes: { markFinal: (_live, target) => finals.push(`${target.commandId} ${target.state}`), markJob: () => undefined, queueAudit: () => undefined },
  });
  const job = runningJob(now, { id: JOB, command: { kind: 'shell', argv: ['echo', 'hi'] }, targetsSpec: { selector: 'all' }, total: 3 });
  const live = state.track(job, ['a', 'b', 'c'].map((name) => queuedTarget(JOB, `cmd_${name.repeat(16)}`, { id: `ag_${name.repeat(16)}`, name })));
  const target = (name: string) => live.targets.get(`cmd_${name.repeat(16)}`)!;
  return { state, live, target, steps, finals };
}

describe('job target steps (issue #14)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends each target\'s step once per interval as it stands then, and none for a target that finished meanwhile', () => {
    const { state, live, target, steps, finals } = setUp();
    // a: sent, running and finished within the interval: only its final state, to the writer.
    state.transition(live, target('a'), 'sent');
    state.transition(live, target('a'), 'running');
    state.transition(live, target('a'), 'succeeded', { exitCode: 0 });
    // b: sent, then running, still running at the end of the interval: one event, running.
    state.transition(live, target('b'), 'sent');
    state.transition(live, target('b'), 'running');
    // c: sent only.
    state.transition(live, target('c'), 'sent');
    expect(steps).toEqual([]);
    vi.advanceTimersByTime(INTERVAL);
    expect(steps).toEqual([
      ['cmd_bbbbbbbbbbbbbbbb', 'running'],
      ['cmd_cccccccccccccccc', 'sent'],
    ]);
    expect(finals).toEqual(['cmd_aaaaaaaaaaaaaaaa succeeded']);

    // A later step starts a new interval; a target that finishes before it ends sends none.
    state.transition(live, target('c'), 'running');
    state.transition(live, target('b'), 'failed', { exitCode: 1 });
    vi.advanceTimersByTime(INTERVAL);
    expect(steps.slice(2)).toEqual([['cmd_cccccccccccccccc', 'running']]);
    expect(finals).toEqual(['cmd_aaaaaaaaaaaaaaaa succeeded', 'cmd_bbbbbbbbbbbbbbbb failed']);
    vi.advanceTimersByTime(10 * INTERVAL);
    expect(steps).toHaveLength(3);
  });
});
