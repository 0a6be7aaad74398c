import { isFinalTargetState } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { HubRelay } from '../../infra/hub-relay.js';
import type { Logger } from '../../infra/logger.js';
import type { JobDispatch } from './job-dispatch.js';
import type { JobState } from './job-state.js';
import type { JobWriter } from './job-writer.js';
import type { JobRecord, JobsRepository } from './jobs.repository.js';

/** How often a hub looks for running jobs whose owner's lease is gone (several hubs). */
const ADOPT_EVERY_MS = 10_000;
/** How long a job's owner record outlives the job's own deadline. */
const OWNER_GRACE_MS = 10 * 60_000;
/** How long after a failed hand-over (agent still connected) a command is sent again. */
export const RETRY_FAILED_SEND_MS = 5_000;

/** How long a job's owner record (several hubs) is kept from `now`. */
export function ownerTtl(job: Pick<JobRecord, 'expiresAt' | 'timeoutMs'>, now: number): number {
  return Math.max(1, job.expiresAt + job.timeoutMs + OWNER_GRACE_MS - now);
}

/**
 * The periodic duties of the jobs this hub owns (each job has exactly one owning hub, issue #14):
 * deciding targets whose agent never answered (expired, timed out, cancelled while away), and,
 * with several hubs, taking over the running jobs of a hub that stopped.
 */
export function createJobSweeper({
  jobs,
  relay,
  state,
  writer,
  dispatch,
  clock,
  logger,
  sweepIntervalMs,
  resultGraceMs,
}: {
  jobs: Pick<JobsRepository, 'runningJobs' | 'targetsOf'>;
  relay: HubRelay;
  state: Pick<JobState, 'active' | 'decide' | 'track' | 'forget' | 'publishSummary'>;
  writer: Pick<JobWriter, 'hasPending' | 'scheduleFlush'>;
  dispatch: Pick<JobDispatch, 'deliverAll' | 'retryFailedSends'>;
  clock: Clock;
  logger: Logger;
  /** How often expiry and overdue results are checked. */
  sweepIntervalMs: number;
  /** How long after its timeout (or a cancel) the hub waits for an agent's result before it decides. */
  resultGraceMs: number;
}) {
  const { active, decide } = state;
  let sweeper: NodeJS.Timeout | undefined;
  let adopter: NodeJS.Timeout | undefined;
  let startedAt = clock.now();
  let ownerlessLastTime = new Set<string>();

  function sweep(): void {
    if (writer.hasPending()) void writer.scheduleFlush();
    dispatch.retryFailedSends(RETRY_FAILED_SEND_MS);
    const now = clock.now();
    // Right after a restart, agents have not had the chance to re-send the results they kept.
    const settled = now >= startedAt + resultGraceMs;
    for (const live of active.values()) {
      if (live.open === 0) continue;
      for (const target of live.targets.values()) {
        if (isFinalTargetState(target.state)) continue;
        if (target.state === 'queued' && now >= live.job.expiresAt) {
          decide(live, target, 'expired', live.job.cancelledAt === null ? 'the machine was not reachable before the job expired' : 'cancelled before it started');
        } else if (!settled) {
          continue;
        } else if (target.state === 'sent' && now >= live.job.expiresAt + resultGraceMs) {
          decide(live, target, 'expired', 'the agent never confirmed it received the command before the job expired');
        } else if (target.state === 'running' && now >= (target.startedAt ?? now) + live.job.timeoutMs + resultGraceMs) {
          decide(live, target, 'timed_out', 'no result from the agent within the timeout');
        } else if (live.job.cancelledAt !== null && now >= live.job.cancelledAt + resultGraceMs) {
          decide(live, target, 'cancelled', 'cancelled; the agent did not confirm (it may have been offline)');
        }
      }
    }
  }

  /**
   * Several hubs: a running job whose hub stopped (its owner record lapsed with the hub's lease)
   * is taken over by one live hub, atomically, which then sends its agents what they have not
   * finished and sweeps it like its own. Agents run a command id once, so a command the dead
   * hub had sent is answered with the result they kept, never run again.
   */
  async function adoptOrphans(): Promise<void> {
    // Ours first: renewed, so a Redis that restarted empty learns them again before any other
    // hub looks; one another live hub holds now (ours lapsed while this hub was cut off) is its.
    for (const live of [...active.values()]) {
      if (live.job.state === 'done' || (await relay.adopt('job', live.job.id, ownerTtl(live.job, clock.now())))) continue;
      logger.warn({ jobId: live.job.id }, 'another hub took over this job while this hub was cut off; leaving it to that hub');
      state.forget(live);
    }
    // Then others': ownerless on two looks in a row (10 s apart), so an owner renewing its
    // records after a Redis restart always comes first.
    const seenOwnerless = ownerlessLastTime;
    ownerlessLastTime = new Set();
    for (const job of await jobs.runningJobs()) {
      if (active.has(job.id) || (await relay.remoteOwnerOf('job', job.id)) !== null) continue;
      ownerlessLastTime.add(job.id);
      if (!seenOwnerless.has(job.id) || !(await relay.adopt('job', job.id, ownerTtl(job, clock.now())))) continue;
      if (active.has(job.id)) continue;
      const live = state.track(job, await jobs.targetsOf(job.id));
      logger.warn({ jobId: job.id, open: live.open }, 'took over a job whose hub stopped');
      await dispatch.deliverAll(live, [...live.targets.values()].filter((target) => !isFinalTargetState(target.state)));
      state.publishSummary(live);
    }
  }

  return {
    /** Starts sweeping (and, with several hubs, adopting); results get their grace from `from` (the service's start). */
    start(from: number): void {
      startedAt = from;
      sweeper = setInterval(sweep, sweepIntervalMs);
      sweeper.unref();
      if (relay.shared) {
        adopter = setInterval(() => {
          adoptOrphans().catch((error: unknown) => logger.error({ err: error }, 'looking for jobs whose hub stopped failed; retrying'));
        }, ADOPT_EVERY_MS);
        adopter.unref();
      }
    },
    stop(): void {
      clearInterval(sweeper);
      clearInterval(adopter);
    },
  };
}
