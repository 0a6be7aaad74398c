import {
  isFinalTargetState,
  type Job,
  type JobOutputEvent,
  type JobSummary,
  type JobTarget,
  type JobWatchAck,
  type TargetState,
} from '@farol/protocol';

/** One target as the job page shows it: the hub's record plus the last output chunk applied. */
export interface LiveTarget extends JobTarget {
  /** Highest output seq already in stdout/stderr; later chunks at or below it are duplicates. */
  lastSeq: number;
}

/** A job followed live: the summary and its targets in the hub's order (by machine name). */
export interface LiveJob {
  job: JobSummary;
  targets: readonly LiveTarget[];
}

/** The starting point from a `job:watch` answer (or a plain `GET /api/jobs/:id`). */
export function liveJobFrom(job: Job, outputSeq: JobWatchAck['outputSeq'] = {}): LiveJob {
  const { targets, ...summary } = job;
  return { job: summary, targets: targets.map((target) => ({ ...target, lastSeq: outputSeq[target.commandId] ?? -1 })) };
}

function replaceTarget(live: LiveJob, commandId: string, update: (target: LiveTarget) => LiveTarget): LiveJob {
  const index = live.targets.findIndex((target) => target.commandId === commandId);
  if (index < 0) return live;
  const current = live.targets[index]!;
  const next = update(current);
  if (next === current) return live;
  const targets = [...live.targets];
  targets[index] = next;
  return { ...live, targets };
}

/** A streamed chunk: appended once, in order; chunks for a finished target are already in its output. */
export function applyOutput(live: LiveJob, event: JobOutputEvent): LiveJob {
  if (event.jobId !== live.job.id) return live;
  return replaceTarget(live, event.commandId, (target) => {
    if (isFinalTargetState(target.state) || event.seq <= target.lastSeq) return target;
    return { ...target, lastSeq: event.seq, [event.stream]: target[event.stream] + event.data };
  });
}

/**
 * A target changed. A final target carries its whole output, which replaces what was streamed;
 * a running one may carry less than the chunks already shown, which are kept.
 */
export function applyTarget(live: LiveJob, jobId: string, incoming: JobTarget): LiveJob {
  if (jobId !== live.job.id) return live;
  return replaceTarget(live, incoming.commandId, (target) => {
    if (isFinalTargetState(incoming.state)) return { ...incoming, lastSeq: Number.MAX_SAFE_INTEGER };
    // A late event about an earlier state never takes a final target back.
    if (isFinalTargetState(target.state)) return target;
    return {
      ...incoming,
      lastSeq: target.lastSeq,
      stdout: incoming.stdout.length > target.stdout.length ? incoming.stdout : target.stdout,
      stderr: incoming.stderr.length > target.stderr.length ? incoming.stderr : target.stderr,
    };
  });
}

/** The job's summary changed (counts, state, cancellation). */
export function applySummary(live: LiveJob, summary: JobSummary): LiveJob {
  if (summary.id !== live.job.id) return live;
  return { ...live, job: summary };
}

/** How many targets have finished, from the targets themselves when known (they change first). */
export function progressOf(live: LiveJob): { done: number; total: number } {
  const fromTargets = live.targets.filter((target) => isFinalTargetState(target.state)).length;
  const fromCounts = FINAL_STATES.reduce((sum, state) => sum + (live.job.counts[state] ?? 0), 0);
  return { done: Math.max(fromTargets, fromCounts), total: live.job.total };
}

const FINAL_STATES: readonly TargetState[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired', 'refused'];

/** A target's run time in ms: until now while running, null before it started. */
export function durationOf(target: Pick<JobTarget, 'startedAt' | 'endedAt' | 'sentAt'>, now: number): number | null {
  const start = target.startedAt ?? target.sentAt;
  if (start === null) return null;
  return Math.max(0, (target.endedAt ?? now) - start);
}

/** Whether the job may still be cancelled: running, and not already cancelled. */
export function isCancellable(job: JobSummary): boolean {
  return job.state === 'running' && job.cancelledAt === null;
}
