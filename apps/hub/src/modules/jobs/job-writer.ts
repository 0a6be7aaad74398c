import { FarolError, isFinalTargetState } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Logger } from '../../infra/logger.js';
import type { AuditInput, AuditService } from '../audit/audit.service.js';
import { targetView, type JobState, type LiveJob, type LiveTarget } from './job-state.js';
import type { TargetRecord } from './jobs.repository.js';

/** Under load, batches of job changes start at most this often (see scheduleFlush). */
const BUSY_FLUSH_GAP_MS = 10;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The writer logs a failed write; a caller that does not wait for it must not crash the hub
  // with an unhandled rejection. Callers that wait still see the rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Group commit of target changes, job changes and audit entries: final target states, the
 * jobs they finish and their audit entries go to the database together, then to watchers.
 */
export function createJobWriter({
  audit,
  bus,
  logger,
  state,
  finished,
}: {
  audit: Pick<AuditService, 'transaction'>;
  bus: Bus;
  logger: Logger;
  state: Pick<JobState, 'byCommand' | 'publishSummary'>;
  /** A job finished and is stored: it leaves memory. */
  finished: (live: LiveJob) => void;
}) {
  const dirtyTargets = new Map<string, { live: LiveJob; target: LiveTarget }>();
  const dirtyJobs = new Set<LiveJob>();
  let auditQueue: AuditInput[] = [];
  let nextFlush: Deferred | null = null;
  let writing: Promise<void> | null = null;
  /** When the last batch finished (performance.now()). */
  let lastFlushAt = -Infinity;
  const finalWaiters = new Map<string, Set<() => void>>();

  /**
   * Group commit: when nothing has been written for BUSY_FLUSH_GAP_MS, a change is written on
   * the next turn of the event loop (with whatever else arrived in that turn): a quiet hub adds
   * no delay to a round trip. Under load (a fan-out's results streaming in), batches start at
   * most every BUSY_FLUSH_GAP_MS, so thousands of results go in a few transactions instead of
   * hundreds of small ones, each of which rewrites the same pages to the WAL.
   */
  function scheduleFlush(): Promise<void> {
    if (!nextFlush) {
      nextFlush = deferred();
      if (!writing) startFlushSoon();
    }
    return nextFlush.promise;
  }

  function startFlushSoon(): void {
    const since = performance.now() - lastFlushAt;
    if (since >= BUSY_FLUSH_GAP_MS) setImmediate(runFlush);
    else setTimeout(runFlush, BUSY_FLUSH_GAP_MS - since);
  }

  function runFlush(): void {
    if (writing || !nextFlush) return;
    const done = nextFlush;
    nextFlush = null;
    const targets = [...dirtyTargets.values()];
    dirtyTargets.clear();
    const jobsChanged = [...dirtyJobs];
    dirtyJobs.clear();
    const entries = auditQueue;
    auditQueue = [];
    // Snapshots: the records may change again while this batch is being written.
    const rows = targets.map(({ target }) => ({ ...target }));
    const jobRows = jobsChanged.map((live) => ({ ...live.job }));
    const write = async (): Promise<void> => {
      await audit.transaction(async (repos, log) => {
        await repos.jobs.saveTargets(rows);
        for (const job of jobRows) {
          await repos.jobs.updateJob(job.id, {
            state: job.state,
            ...(job.cancelledAt === null ? {} : { cancelledAt: job.cancelledAt }),
            ...(job.finishedAt === null ? {} : { finishedAt: job.finishedAt }),
          });
        }
        entries.forEach(log);
      });
      afterCommit(targets, rows, jobsChanged);
      done.resolve();
    };
    const retryLater = (error: unknown): void => {
      logger.error({ err: error, targets: rows.length }, 'job state write failed; will retry');
      // Keep the changes: they are written with the next batch. Results not yet stored are
      // acknowledged with an error, so their agents send them again.
      for (const entry of targets) {
        entry.target.resultPersisted = false;
        dirtyTargets.set(entry.target.commandId, entry);
      }
      for (const live of jobsChanged) dirtyJobs.add(live);
      auditQueue = [...entries, ...auditQueue];
      done.reject(new FarolError('unavailable', 'the hub could not store the result; retry later', { cause: error }));
      setTimeout(() => void scheduleFlush(), 1_000).unref();
    };
    writing = write()
      .catch(retryLater)
      .finally(() => {
        writing = null;
        lastFlushAt = performance.now();
        if (nextFlush) startFlushSoon();
      });
  }

  function afterCommit(targets: Array<{ live: LiveJob; target: LiveTarget }>, rows: TargetRecord[], jobsChanged: LiveJob[]): void {
    const touched = new Set<LiveJob>(jobsChanged);
    targets.forEach(({ live, target }, index) => {
      const row = rows[index]!;
      if (row.resultAt !== null && target.resultAt === row.resultAt) target.resultPersisted = true;
      touched.add(live);
      bus.publish('job.target', { jobId: live.job.id, target: targetView(row) });
      if (isFinalTargetState(row.state)) {
        const waiters = finalWaiters.get(row.commandId);
        finalWaiters.delete(row.commandId);
        waiters?.forEach((wake) => wake());
      }
    });
    for (const live of touched) state.publishSummary(live);
    for (const live of jobsChanged) {
      if (live.job.state !== 'done' || dirtyJobs.has(live)) continue;
      // Finished and stored: later (late) results are handled from the database. A target
      // changed again meanwhile: look at the job again after the next batch.
      if ([...live.targets.keys()].some((id) => dirtyTargets.has(id))) {
        dirtyJobs.add(live);
        continue;
      }
      finished(live);
      clearTimeout(live.summaryTimer);
      logger.info({ jobId: live.job.id, counts: live.counts }, 'job finished');
    }
  }

  return {
    scheduleFlush,

    /** A target reached a final state: it is written with the next batch. */
    markFinal(live: LiveJob, target: LiveTarget): void {
      dirtyTargets.set(target.commandId, { live, target });
      void scheduleFlush();
    },
    /** A job's own record changed (cancelled, done): written with the next batch. */
    markJob(live: LiveJob): void {
      dirtyJobs.add(live);
    },
    queueAudit(entry: AuditInput): void {
      auditQueue.push(entry);
    },
    /** Target changes wait for a batch (the sweeper makes sure one starts). */
    hasPending(): boolean {
      return dirtyTargets.size > 0;
    },

    /** Resolves true once the target is final (and stored), false after `timeoutMs`. */
    waitForFinal(commandId: string, timeoutMs: number): Promise<boolean> {
      const entry = state.byCommand.get(commandId);
      if (!entry || (isFinalTargetState(entry.target.state) && !dirtyTargets.has(commandId))) return Promise.resolve(true);
      return new Promise((resolve) => {
        let set = finalWaiters.get(commandId);
        if (!set) finalWaiters.set(commandId, (set = new Set()));
        const wake = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          set.delete(wake);
          resolve(false);
        }, timeoutMs);
        set.add(wake);
      });
    },

    /** Writes whatever is pending (shutdown). */
    async drain(): Promise<void> {
      // runFlush handles (logs and keeps) its own failures, so these never reject.
      while (writing || nextFlush) {
        if (writing) await writing;
        else runFlush();
      }
    },
  };
}
export type JobWriter = ReturnType<typeof createJobWriter>;
