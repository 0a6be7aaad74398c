import { TARGET_STATES, type Job, type JobTarget, type TargetCounts } from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { applyOutput, applySummary, applyTarget, durationOf, liveJobFrom, progressOf } from './job-live.js';

const JOB = 'job_aaaaaaaaaaaaaaaa';
const CMD_A = 'cmd_aaaaaaaaaaaaaaaa';
const CMD_B = 'cmd_bbbbbbbbbbbbbbbb';

function target(commandId: string, overrides: Partial<JobTarget> = {}): JobTarget {
  return {
    commandId,
    agentId: commandId === CMD_A ? 'ag_aaaaaaaaaaaaaaaa' : 'ag_bbbbbbbbbbbbbbbb',
    agentName: commandId === CMD_A ? 'a' : 'b',
    state: 'running',
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    data: null,
    sentAt: 1_000,
    startedAt: 1_100,
    endedAt: null,
    error: null,
    ...overrides,
  };
}

function job(targets: JobTarget[]): Job {
  return {
    id: JOB,
    command: { kind: 'shell', argv: ['uptime'] },
    targetsSpec: { all: true },
    state: 'running',
    ttlMs: 300_000,
    timeoutMs: 60_000,
    createdBy: 'admin',
    createdAt: 900,
    expiresAt: 300_900,
    cancelledAt: null,
    finishedAt: null,
    total: targets.length,
    counts: counts({ running: targets.length }),
    targets,
  };
}

const counts = (some: Partial<TargetCounts>): TargetCounts => ({ ...(Object.fromEntries(TARGET_STATES.map((state) => [state, 0])) as TargetCounts), ...some });

const chunk = (commandId: string, seq: number, data: string, stream: 'stdout' | 'stderr' = 'stdout') => ({ jobId: JOB, commandId, agentId: 'ag_aaaaaaaaaaaaaaaa', stream, data, seq });

describe('a job followed live', () => {
  it('appends streamed chunks once, skipping those already in the watch snapshot', () => {
    let live = liveJobFrom(job([target(CMD_A, { stdout: 'one\n' }), target(CMD_B)]), { [CMD_A]: 0 });
    live = applyOutput(live, chunk(CMD_A, 0, 'one\n'));
    live = applyOutput(live, chunk(CMD_A, 1, 'two\n'));
    live = applyOutput(live, chunk(CMD_A, 2, 'oops\n', 'stderr'));
    live = applyOutput(live, chunk(CMD_A, 1, 'two\n'));
    expect(live.targets[0]).toMatchObject({ stdout: 'one\ntwo\n', stderr: 'oops\n', lastSeq: 2 });
    expect(live.targets[1]?.stdout).toBe('');
  });

  it('takes a final target\'s output as the truth and ignores chunks after it', () => {
    let live = liveJobFrom(job([target(CMD_A)]));
    live = applyOutput(live, chunk(CMD_A, 0, 'partial'));
    live = applyTarget(live, JOB, target(CMD_A, { state: 'succeeded', exitCode: 0, stdout: 'partial line\n', endedAt: 1_600 }));
    live = applyOutput(live, chunk(CMD_A, 1, ' late'));
    expect(live.targets[0]).toMatchObject({ state: 'succeeded', exitCode: 0, stdout: 'partial line\n' });
    // A stale "running" event cannot take it back.
    live = applyTarget(live, JOB, target(CMD_A, { state: 'running' }));
    expect(live.targets[0]?.state).toBe('succeeded');
  });

  it('keeps streamed output when a running target\'s event carries less', () => {
    let live = liveJobFrom(job([target(CMD_A, { state: 'sent', startedAt: null })]));
    live = applyOutput(live, chunk(CMD_A, 0, 'abc'));
    live = applyTarget(live, JOB, target(CMD_A, { state: 'running' }));
    expect(live.targets[0]).toMatchObject({ state: 'running', stdout: 'abc' });
  });

  it('counts progress and run time', () => {
    let live = liveJobFrom(job([target(CMD_A), target(CMD_B)]));
    expect(progressOf(live)).toEqual({ done: 0, total: 2 });
    live = applyTarget(live, JOB, target(CMD_B, { state: 'failed', exitCode: 2, endedAt: 1_400 }));
    expect(progressOf(live)).toEqual({ done: 1, total: 2 });
    live = applySummary(live, { ...live.job, counts: counts({ succeeded: 1, failed: 1 }), state: 'done' });
    expect(progressOf(live)).toEqual({ done: 2, total: 2 });
    expect(durationOf(live.targets[1]!, 5_000)).toBe(300);
    expect(durationOf(live.targets[0]!, 5_000)).toBe(3_900);
    expect(durationOf({ sentAt: null, startedAt: null, endedAt: null }, 5_000)).toBeNull();
  });
});
