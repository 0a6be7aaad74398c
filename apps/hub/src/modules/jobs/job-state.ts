import { isFinalTargetState, MAX_OUTPUT_BYTES, TARGET_STATES, type Job, type JobSummary, type JobTarget, type TargetCounts, type TargetState } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Observability } from '../../infra/observability.js';
import type { AuditInput } from '../audit/audit.service.js';
import type { JobRecord, TargetRecord } from './jobs.repository.js';

/** A target while its job is active: the stored record plus what only lives in memory. */
export interface LiveTarget extends TargetRecord {
  /** Output streamed so far (replaced by the result's). */
  partial: { stdout: string; stderr: string; seq: number };
  /** The agent's result is committed (so a re-sent one can be acknowledged as a duplicate). */
  resultPersisted: boolean;
  cancelSentAt: number | null;
}

export interface LiveJob {
  job: JobRecord;
  targets: Map<string, LiveTarget>;
  counts: TargetCounts;
  open: number;
  lastSummaryAt: number;
  summaryTimer: NodeJS.Timeout | undefined;
}

export function emptyCounts(): TargetCounts {
  return Object.fromEntries(TARGET_STATES.map((state) => [state, 0])) as TargetCounts;
}

/** Appends to output without passing the byte cap; says whether anything was cut. */
export function appendCapped(current: string, chunk: string): { text: string; cut: boolean } {
  const room = MAX_OUTPUT_BYTES - Buffer.byteLength(current);
  if (room <= 0) return { text: current, cut: chunk.length > 0 };
  if (Buffer.byteLength(chunk) <= room) return { text: current + chunk, cut: false };
  // Cut on a character boundary: decoding a cut multi-byte sequence would add U+FFFD.
  let cut = Buffer.from(chunk).subarray(0, room).toString('utf8');
  while (Buffer.byteLength(cut) > room) cut = cut.slice(0, -1);
  return { text: current + cut, cut: true };
}

export function summaryOf(job: JobRecord, counts: TargetCounts): JobSummary {
  return {
    id: job.id,
    command: job.command,
    targetsSpec: job.targetsSpec,
    state: job.state,
    ttlMs: job.ttlMs,
    timeoutMs: job.timeoutMs,
    createdBy: job.createdBy,
    createdAt: job.createdAt,
    expiresAt: job.expiresAt,
    cancelledAt: job.cancelledAt,
    finishedAt: job.finishedAt,
    total: job.total,
    counts,
  };
}

export function targetView(target: TargetRecord | LiveTarget): JobTarget {
  const running = 'partial' in target && !isFinalTargetState(target.state);
  return {
    commandId: target.commandId,
    agentId: target.agentId,
    agentName: target.agentName,
    state: target.state,
    exitCode: target.exitCode,
    signal: target.signal,
    stdout: running ? target.partial.stdout : target.stdout,
    stderr: running ? target.partial.stderr : target.stderr,
    stdoutTruncated: target.stdoutTruncated,
    stderrTruncated: target.stderrTruncated,
    data: target.data,
    sentAt: target.sentAt,
    startedAt: target.startedAt,
    endedAt: target.endedAt,
    error: target.error,
  };
}

export function liveJobView(live: LiveJob): Job {
  const targets = [...live.targets.values()].sort((a, b) => a.agentName.localeCompare(b.agentName)).map(targetView);
  return { ...summaryOf(live.job, { ...live.counts }), targets };
}

/** What the state hands to the writer (job-writer.ts): final targets, changed jobs, audit entries. */
export interface StateWrites {
  markFinal(live: LiveJob, target: LiveTarget): void;
  markJob(live: LiveJob): void;
  queueAudit(entry: AuditInput): void;
}

/**
 * The jobs this hub owns while they run, in memory: their targets by command id, each agent's
 * unfinished commands, and the moves of a target from state to state. Only final states are
 * written (by the writer); the steps before reach watchers on the bus within one summary interval.
 */
export function createJobState({
  bus,
  clock,
  summaryIntervalMs,
  observability,
  writes,
}: {
  bus: Bus;
  clock: Clock;
  /** At most one job summary per job per this interval goes to every dashboard. */
  summaryIntervalMs: number;
  observability?: Pick<Observability, 'jobTargetsFinished' | 'jobTargetsQueued'> | undefined;
  writes: StateWrites;
}) {
  const active = new Map<string, LiveJob>();
  const byCommand = new Map<string, { live: LiveJob; target: LiveTarget }>();
  /** Unfinished command ids per agent: what to (re)send when it says hello. */
  const pendingByAgent = new Map<string, Set<string>>();
  /** Targets whose step before the end (sent, running) waits to reach watchers (see markDirty). */
  const steps = new Map<string, { live: LiveJob; target: LiveTarget }>();
  let stepTimer: NodeJS.Timeout | undefined;

  function track(job: JobRecord, records: TargetRecord[]): LiveJob {
    const live: LiveJob = { job, targets: new Map(), counts: emptyCounts(), open: 0, lastSummaryAt: 0, summaryTimer: undefined };
    for (const record of records) {
      const target: LiveTarget = {
        ...record,
        partial: { stdout: '', stderr: '', seq: -1 },
        resultPersisted: record.resultAt !== null,
        cancelSentAt: null,
      };
      live.targets.set(target.commandId, target);
      live.counts[target.state]++;
      if (target.state === 'queued') observability?.jobTargetsQueued.inc();
      byCommand.set(target.commandId, { live, target });
      if (!isFinalTargetState(target.state)) {
        live.open++;
        let set = pendingByAgent.get(target.agentId);
        if (!set) pendingByAgent.set(target.agentId, (set = new Set()));
        set.add(target.commandId);
      }
    }
    active.set(job.id, live);
    return live;
  }

  /**
   * Only final states are stored, within the write window and with their audit entries; the
   * times of the steps before (sentAt, startedAt) are stored with them. The steps themselves
   * (sent, running) live in memory and reach watchers at once: after a hub crash such a target
   * reads as queued, is sent again at its agent's next hello, and the agent, which runs a
   * command id once, answers `duplicate` and re-sends the result it kept. A 10,000-machine job
   * so writes each target twice (created, finished) instead of four times.
   */
  function markDirty(live: LiveJob, target: LiveTarget): void {
    if (isFinalTargetState(target.state)) {
      steps.delete(target.commandId);
      writes.markFinal(live, target);
      return;
    }
    steps.set(target.commandId, { live, target });
    if (!stepTimer) {
      stepTimer = setTimeout(publishSteps, summaryIntervalMs);
      stepTimer.unref();
    }
    publishSummary(live);
  }

  /**
   * Steps go out once per summary interval, each target as it stands then, and not at all for a
   * target that finished meanwhile (its final state follows its commit): a 10,000-machine echo
   * job, whose targets pass sent and running within milliseconds, broadcasts ~10,000 target
   * events to every hub instead of ~30,000 (issue #14). A long command shows as running at most
   * one interval late.
   */
  function publishSteps(): void {
    stepTimer = undefined;
    const due = [...steps.values()];
    steps.clear();
    for (const { live, target } of due) {
      if (!isFinalTargetState(target.state)) bus.publish('job.target', { jobId: live.job.id, target: targetView(target) });
    }
  }

  /** Moves a target to a state; a final state closes it and may finish the job. */
  function transition(live: LiveJob, target: LiveTarget, state: TargetState, patch: Partial<TargetRecord> = {}): void {
    const wasFinal = isFinalTargetState(target.state);
    if (target.state === 'queued' && state !== 'queued') observability?.jobTargetsQueued.dec();
    live.counts[target.state]--;
    Object.assign(target, patch, { state });
    live.counts[state]++;
    if (!wasFinal && isFinalTargetState(state)) observability?.jobTargetsFinished.inc({ state });
    if (!wasFinal && isFinalTargetState(state)) {
      live.open--;
      pendingByAgent.get(target.agentId)?.delete(target.commandId);
      if (live.open === 0 && live.job.state === 'running') {
        live.job.state = 'done';
        live.job.finishedAt = clock.now();
        writes.markJob(live);
      }
    }
    markDirty(live, target);
  }

  /** A final state decided by the hub (expired, timed out, cancelled while away); an agent's result still replaces it. */
  function decide(live: LiveJob, target: LiveTarget, state: TargetState, error: string): void {
    // What streamed so far is the best output there is until the agent's own result comes.
    transition(live, target, state, { error, endedAt: clock.now(), stdout: target.partial.stdout, stderr: target.partial.stderr });
    writes.queueAudit({
      actor: 'hub',
      action: 'command.result',
      agentId: target.agentId,
      jobId: live.job.id,
      details: { commandId: target.commandId, agentName: target.agentName, state, error },
    });
  }

  /** The job's machines, once per job (targets do not change after creation). */
  const agentIdsByJob = new WeakMap<LiveJob, readonly string[]>();
  function agentIdsOf(live: LiveJob): readonly string[] {
    let ids = agentIdsByJob.get(live);
    if (!ids) {
      ids = [...new Set([...live.targets.values()].map((target) => target.agentId))];
      agentIdsByJob.set(live, ids);
    }
    return ids;
  }

  function publishSummary(live: LiveJob): void {
    const emit = (): void => {
      live.summaryTimer = undefined;
      live.lastSummaryAt = clock.now();
      bus.publish('job.update', { job: summaryOf(live.job, { ...live.counts }), agentIds: agentIdsOf(live) });
    };
    if (live.job.state === 'done') {
      clearTimeout(live.summaryTimer);
      emit();
      return;
    }
    if (live.summaryTimer) return;
    const wait = live.lastSummaryAt + summaryIntervalMs - clock.now();
    if (wait <= 0) emit();
    else live.summaryTimer = setTimeout(emit, wait);
  }

  /** A finished job, stored: later (late) results are handled from the database. */
  function release(live: LiveJob): void {
    active.delete(live.job.id);
    for (const id of live.targets.keys()) byCommand.delete(id);
  }

  /** Stops holding a job in memory (another hub owns it now); what was stored stays. */
  function forget(live: LiveJob): void {
    active.delete(live.job.id);
    clearTimeout(live.summaryTimer);
    for (const target of live.targets.values()) {
      byCommand.delete(target.commandId);
      pendingByAgent.get(target.agentId)?.delete(target.commandId);
    }
  }

  return { active, byCommand, pendingByAgent, track, transition, decide, publishSummary, release, forget };
}
export type JobState = ReturnType<typeof createJobState>;
