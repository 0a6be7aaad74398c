import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_JOB_TTL_MS,
  FarolError,
  describeCommand,
  isFinalTargetState,
  type Command,
  type CommandAck,
  type CommandOutput,
  type CommandResult,
  type Job,
  type JobCreate,
  type JobList,
  type JobListQuery,
  type JobWatchAck,
} from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import { HubUnreachableError, type HubRelay } from '../../infra/hub-relay.js';
import { randomId } from '../../infra/ids.js';
import type { HubSigner } from '../../infra/jws.js';
import type { Logger } from '../../infra/logger.js';
import type { Observability } from '../../infra/observability.js';
import { noTracing, type TraceSpan, type Tracing } from '../../infra/tracing.js';
import type { AgentChannel } from '../agents/agent-channel.js';
import type { AgentsService } from '../agents/agents.service.js';
import type { AuditInput, AuditService } from '../audit/audit.service.js';
import { createJobDispatch, type RunSpan } from './job-dispatch.js';
import { appendCapped, createJobState, emptyCounts, liveJobView, summaryOf, targetView } from './job-state.js';
import { createJobSweeper, ownerTtl } from './job-sweeper.js';
import { checkAccess, queuedTarget, resolveTargets, type JobAccess } from './job-targets.js';
import { createJobWriter } from './job-writer.js';
import type { JobRecord, JobsRepository, TargetRecord } from './jobs.repository.js';

export type { JobAccess } from './job-targets.js';

export interface JobsServiceTimings {
  /** How often expiry and overdue results are checked. */
  sweepIntervalMs: number;
  /** How long after its timeout (or a cancel) the hub waits for an agent's result before it decides. */
  resultGraceMs: number;
  /** At most one job summary per job per this interval goes to every dashboard. */
  summaryIntervalMs: number;
}

export const DEFAULT_JOBS_TIMINGS: JobsServiceTimings = {
  sweepIntervalMs: 500,
  resultGraceMs: 15_000,
  summaryIntervalMs: 250,
};

/**
 * Checks or completes an agent's result data before it is stored, e.g. a screenshot's data gets
 * the id of the image uploaded before it. Throwing a FarolError refuses the result (the agent
 * keeps it and sends it again unless the code is final).
 */
export type ResultHook = (context: { agentId: string; jobId: string; command: Command; createdBy: string; result: CommandResult }) => Promise<CommandResult['data']>;

/**
 * Remote commands and fleet jobs. A job and all its targets are stored before anything is sent;
 * each target gets its own command id, signed into a JWS by the hub key with an expiry at the
 * job's TTL. Delivery is at-least-once: on every hello, an agent is sent again what it has not
 * finished (it runs a command id once and re-sends results until acknowledged). Results and
 * state changes are group-committed together with their audit entries.
 *
 * The parts: which machines a job reaches (job-targets.ts), the jobs this hub owns in memory
 * (job-state.ts), the group commit (job-writer.ts), sending to agents (job-dispatch.ts) and the
 * periodic duties of the owning hub (job-sweeper.ts). Several hubs (issue #14): each job has one
 * owning hub, which sends, stores and sweeps it; what an agent on another hub reports about it is
 * forwarded to that hub.
 */
/** How long an agent that came back online with no new connection waits for a hello before it counts as ready. */
const READY_WITHOUT_HELLO_MS = 3_000;
/** After Redis came back: when agents owed commands here and connected elsewhere are looked for (hellos announced meanwhile were missed). */
const RESUMED_READY_CHECKS_MS = [3_000, 8_000, 15_000, 30_000];

export function createJobsService({
  jobs,
  agents,
  audit,
  channel,
  relay,
  signer,
  bus,
  clock,
  logger,
  timings = DEFAULT_JOBS_TIMINGS,
  secrets,
  observability,
  tracing = noTracing,
}: {
  jobs: JobsRepository;
  /** Which machines a job's targets name (through the agents module's service, not its table). */
  agents: Pick<AgentsService, 'lookup' | 'directory'>;
  audit: AuditService;
  /** Reaches each target's agent wherever it is connected (issue #14). */
  channel: AgentChannel;
  /**
   * Several hubs (issue #14): this hub owns the jobs it creates; what an agent connected here
   * reports about another live hub's job is forwarded to that hub.
   */
  relay: HubRelay;
  signer: HubSigner;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  timings?: JobsServiceTimings;
  /** Prometheus instruments (jobs by kind, targets by final state, round trips, queued targets). */
  observability?: Pick<Observability, 'jobsCreated' | 'jobTargetsFinished' | 'commandRoundTripSeconds' | 'jobTargetsQueued'>;
  /**
   * Secrets (issue #6): refuses a job whose secrets are not scoped to every target, and blanks
   * known secret values out of output before it is stored or streamed.
   */
  secrets?: {
    assertDispatchable(command: JobCreate['command'], targets: Array<{ id: string; name: string }>): Promise<void>;
    redact(text: string): string;
  };
  /** Spans of dispatch, each agent's run and each result (FAROL_OTLP_ENDPOINT); default off. */
  tracing?: Tracing;
}) {
  const redact = (text: string): string => (secrets && text ? secrets.redact(text) : text);
  const resultHooks: ResultHook[] = [];
  const unsubscribers: Array<() => void> = [];
  /** Pending looks for agents ready elsewhere after Redis came back (cleared at stop). */
  const resumedChecks = new Set<NodeJS.Timeout>();

  // The state hands final targets to the writer, the writer finished jobs back to the state.
  const state = createJobState({
    bus,
    clock,
    summaryIntervalMs: timings.summaryIntervalMs,
    observability,
    writes: { markFinal: (live, target) => writer.markFinal(live, target), markJob: (live) => writer.markJob(live), queueAudit: (entry) => writer.queueAudit(entry) },
  });
  const dispatch = createJobDispatch({ channel, signer, state, clock, logger, tracing });
  const writer = createJobWriter({
    audit,
    bus,
    logger,
    state,
    finished: (live) => {
      state.release(live);
      dispatch.forgetTraces(live);
    },
  });
  const sweeper = createJobSweeper({ jobs, relay, state, writer, dispatch, clock, logger, sweepIntervalMs: timings.sweepIntervalMs, resultGraceMs: timings.resultGraceMs });
  const { active, byCommand, track, transition, decide, publishSummary } = state;

  /** Lets the modules that own a kind's data (screenshots) check and complete it before it is stored. */
  async function completeData(agentId: string, job: Pick<JobRecord, 'id' | 'command' | 'createdBy'>, result: CommandResult): Promise<CommandResult['data']> {
    let data = result.data;
    for (const hook of resultHooks) data = await hook({ agentId, jobId: job.id, command: job.command, createdBy: job.createdBy, result: { ...result, data } });
    return data;
  }

  /**
   * The sent time stored with a result (issue #12). After a hub crash a target reads as queued
   * and is sent again: its agent's kept result may arrive before that (no sent time at all) or
   * after it (a sent time later than the run). The command was sent before it started, so the
   * sent time is never left empty or after the agent's start (its end when it never started).
   */
  function sentAtFor(sentAt: number | null, result: CommandResult): number {
    const ranFrom = result.startedAt ?? result.endedAt;
    return sentAt === null || sentAt > ranFrom ? ranFrom : sentAt;
  }

  /**
   * A command the agent refused (`command:ack refused`) stays refused: its result may add the
   * detail (refused, or expired when it came too late), never say it ran. Anything else is
   * refused with bad_request, which the agent takes as final, and audited.
   */
  async function refuseOverturnedRefusal(agentId: string, target: TargetRecord, result: CommandResult): Promise<void> {
    if (target.state !== 'refused' || target.resultAt !== null || result.state === 'refused' || result.state === 'expired') return;
    await audit.record({
      actor: `agent:${agentId}`,
      action: 'command.result_refused',
      agentId,
      jobId: target.jobId,
      details: { commandId: result.commandId, state: result.state, reason: 'the agent had refused this command' },
    });
    logger.warn({ agentId, commandId: result.commandId, state: result.state }, 'refused a result for a command the agent had refused');
    throw new FarolError('bad_request', `command ${result.commandId} was refused by this agent; a ${result.state} result cannot change that`);
  }

  // ---- several hubs (issue #14) ------------------------------------------------------------------

  /** The owner of the job of each command not in memory here, as last looked up (bounded). */
  const ownerByCommand = new Map<string, string | null>();
  const OWNER_CACHE_MAX = 10_000;
  /**
   * Another live hub's jobs, by id, for a few seconds: the acks and results of a job fanned out
   * over several hubs ask Redis once per job, not once per machine. Only owners are kept (a job
   * nobody owns may be adopted any moment); a hub that stops answering is forgotten at once.
   */
  const ownerByJob = new Map<string, { owner: Promise<string | null>; until: number }>();
  const JOB_OWNER_TTL_MS = 5_000;
  const JOB_OWNER_CACHE_MAX = 1_000;
  /** Commands whose job is looked up on the next turn, in one query for all of them. */
  let jobLookups: Map<string, Array<{ resolve(jobId: string | null): void; reject(error: unknown): void }>> | null = null;

  function jobOfCommand(commandId: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      if (!jobLookups) {
        const batch = (jobLookups = new Map());
        setImmediate(() => {
          jobLookups = null;
          jobs.jobIdsOf([...batch.keys()]).then(
            (found) => {
              for (const [id, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(id) ?? null);
            },
            (error: unknown) => {
              for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
            },
          );
        });
      }
      let waiters = jobLookups.get(commandId);
      if (!waiters) jobLookups.set(commandId, (waiters = []));
      waiters.push({ resolve, reject });
    });
  }

  function ownerOfJob(jobId: string): Promise<string | null> {
    const now = clock.now();
    const cached = ownerByJob.get(jobId);
    if (cached && cached.until > now) return cached.owner;
    const owner = relay.remoteOwnerOf('job', jobId);
    if (ownerByJob.size >= JOB_OWNER_CACHE_MAX) ownerByJob.delete(ownerByJob.keys().next().value!);
    ownerByJob.set(jobId, { owner, until: now + JOB_OWNER_TTL_MS });
    // Kept only when another hub owns it; a failed look-up is not kept either.
    owner.then(
      (found) => {
        if (found === null && ownerByJob.get(jobId)?.owner === owner) ownerByJob.delete(jobId);
      },
      () => {
        if (ownerByJob.get(jobId)?.owner === owner) ownerByJob.delete(jobId);
      },
    );
    return owner;
  }

  async function remoteOwnerOf(commandId: string): Promise<string | null> {
    if (!relay.shared) return null;
    const known = ownerByCommand.get(commandId);
    if (known !== undefined) return known;
    const jobId = await jobOfCommand(commandId);
    const owner = jobId === null ? null : await ownerOfJob(jobId);
    if (ownerByCommand.size >= OWNER_CACHE_MAX) ownerByCommand.delete(ownerByCommand.keys().next().value!);
    ownerByCommand.set(commandId, owner);
    return owner;
  }


  /**
   * What an agent connected here reports about a job another live hub owns goes to that hub,
   * and that hub's answer back to the agent. Null: handle it here (this hub, nobody, or a dead
   * hub owns it; the database path then stores the result once).
   */
  async function forwardToOwner<T>(method: 'acknowledge' | 'recordOutput' | 'recordResult', agentId: string, commandId: string, payload: unknown): Promise<{ value: T } | null> {
    const owner = await remoteOwnerOf(commandId);
    if (owner === null) return null;
    try {
      return { value: await relay.call<T>(owner, `jobs.${method}`, { agentId, payload }) };
    } catch (error) {
      if (!(error instanceof HubUnreachableError)) throw error;
      // That hub stopped answering: this command is handled here, and its jobs are looked up again.
      ownerByCommand.set(commandId, null);
      ownerByJob.clear();
      return null;
    }
  }

  // ---- results and new jobs ----------------------------------------------------------------------

  /**
   * The agent's run as a span with the agent's own times (kept within sent → received, as its
   * clock may be off), and the storing of the result as its child.
   */
  async function recordTracedResult(agentId: string, result: CommandResult, span: RunSpan): Promise<{ stored: boolean }> {
    const received = clock.now();
    const started = Math.min(Math.max(result.startedAt ?? result.endedAt, span.sentAt), received);
    const ended = Math.min(Math.max(result.endedAt, started), received);
    const run = tracing.startSpan('agent.execute', {
      parent: span.parent,
      spanId: span.spanId,
      startTime: started,
      kind: 'consumer',
      attributes: { 'farol.agent.id': agentId, 'farol.command.id': result.commandId, 'farol.command.state': result.state, ...(result.exitCode === null ? {} : { 'process.exit.code': result.exitCode }) },
    });
    if (result.state !== 'succeeded') run.fail(result.error ?? result.state);
    run.end(ended);
    const storing = tracing.startSpan('job.result', { parent: run.traceparent, startTime: received, attributes: { 'farol.command.id': result.commandId } });
    try {
      return await tracing.run(storing, () => storeResult(agentId, result));
    } catch (error) {
      storing.fail(error instanceof Error ? error.message : String(error));
      throw error;
    } finally {
      storing.end();
    }
  }

  /** Creates a job: resolves its targets, stores everything, then sends to the machines online. */
  async function createJob(input: JobCreate, actor: string, access: JobAccess | undefined, dispatchSpan: TraceSpan | null): Promise<Job> {
    const resolved = await resolveTargets(agents, input.targets);
    if (access) checkAccess(resolved, access);
    await secrets?.assertDispatchable(input.command, resolved);
    const now = clock.now();
    const ttlMs = input.ttlMs ?? DEFAULT_JOB_TTL_MS;
    const timeoutMs = (input.command.kind === 'shell' ? input.command.timeoutMs : undefined) ?? input.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const job: Omit<JobRecord, 'seq'> = {
      id: randomId('job'),
      command: input.command,
      targetsSpec: input.targets,
      state: 'running',
      ttlMs,
      timeoutMs,
      createdBy: actor,
      createdAt: now,
      expiresAt: now + ttlMs,
      cancelledAt: null,
      finishedAt: null,
      total: resolved.length,
    };
    const targets = resolved.map((agent) => queuedTarget(job.id, randomId('cmd'), agent));
    // Several hubs: owned before it exists, so no other hub's look for ownerless jobs can take it.
    await relay.claim('job', job.id, ownerTtl(job, clock.now())).catch((error: unknown) => {
      logger.error({ err: error, jobId: job.id }, 'could not record this hub as the job\'s owner (Redis); results from agents on other hubs are stored from the database');
    });
    const stored = await audit.transaction(async (repos, log) => {
      const record = await repos.jobs.insertJob(job, targets);
      log({
        actor,
        action: 'command.create',
        jobId: job.id,
        agentId: resolved.length === 1 ? resolved[0]!.id : null,
        details: {
          command: input.command,
          summary: describeCommand(input.command),
          targets: input.targets,
          agents: resolved.map((agent) => `${agent.name} (${agent.id})`),
          ttlMs,
          timeoutMs,
        },
      });
      return record;
    });
    const live = track(stored, targets);
    if (dispatchSpan) dispatch.traceDispatch(job.id, dispatchSpan.traceparent);
    observability?.jobsCreated.inc({ kind: input.command.kind });
    logger.info({ jobId: job.id, command: describeCommand(input.command), targets: resolved.length, actor }, 'job created');
    // The answer says which targets were sent and which wait for their machine.
    await dispatch.deliverAll(live, [...live.targets.values()]);
    publishSummary(live);
    return liveJobView(live);
  }

  /**
   * Stores an agent's result; resolves once committed, so the agent may then forget it. The
   * agent's result replaces any state the hub decided meanwhile (expired, timed out).
   */
  async function storeResult(agentId: string, result: CommandResult): Promise<{ stored: boolean }> {
    const entry = byCommand.get(result.commandId);
    // Another live hub's job: that hub stores it (and streams it to whoever watches there).
    if (!entry) {
      const forwarded = await forwardToOwner<{ stored: boolean }>('recordResult', agentId, result.commandId, result);
      if (forwarded) return forwarded.value;
    }
    const patch: Partial<TargetRecord> = {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: redact(result.stdout),
      stderr: redact(result.stderr),
      stdoutTruncated: result.stdoutTruncated,
      stderrTruncated: result.stderrTruncated,
      data: result.data,
      startedAt: result.startedAt,
      endedAt: result.endedAt,
      error: result.error === null ? null : redact(result.error),
      resultAt: clock.now(),
    };
    const auditEntry = (jobId: string, agentName: string): AuditInput => ({
      actor: `agent:${agentId}`,
      action: 'command.result',
      agentId,
      jobId,
      details: {
        commandId: result.commandId,
        agentName,
        state: result.state,
        exitCode: result.exitCode,
        signal: result.signal,
        error: result.error === null ? null : redact(result.error),
        stdoutBytes: Buffer.byteLength(result.stdout),
        stderrBytes: Buffer.byteLength(result.stderr),
      },
    });
    if (entry && entry.target.agentId === agentId) {
      const { live, target } = entry;
      if (target.resultAt !== null) {
        if (!target.resultPersisted) await writer.scheduleFlush();
        return { stored: false };
      }
      await refuseOverturnedRefusal(agentId, target, result);
      patch.data = await completeData(agentId, live.job, result);
      if (target.resultAt !== null) return { stored: false };
      const sentAt = target.sentAt;
      patch.sentAt = sentAtFor(target.sentAt, result);
      transition(live, target, result.state, patch);
      writer.queueAudit(auditEntry(live.job.id, target.agentName));
      await writer.scheduleFlush();
      // From sending the command to its result being committed.
      if (sentAt !== null) observability?.commandRoundTripSeconds.observe({ kind: live.job.command.kind }, Math.max(0, clock.now() - sentAt) / 1000);
      return { stored: true };
    }
    // Not in memory: a finished job (a late result), or a command this agent never had.
    const stored = await jobs.findTarget(result.commandId);
    if (!stored || stored.agentId !== agentId) {
      await audit.record({
        actor: `agent:${agentId}`,
        action: 'command.result_refused',
        agentId,
        details: { commandId: result.commandId, state: result.state, reason: 'no such command was sent to this agent' },
      });
      logger.warn({ agentId, commandId: result.commandId }, 'refused a result for a command this agent was never sent');
      throw new FarolError('forbidden', `no command ${result.commandId} was sent to this agent`);
    }
    if (stored.resultAt !== null) return { stored: false };
    await refuseOverturnedRefusal(agentId, stored, result);
    const storedJob = await jobs.findJob(stored.jobId);
    if (storedJob) patch.data = await completeData(agentId, storedJob, result);
    const updated: TargetRecord = { ...stored, ...patch, sentAt: sentAtFor(stored.sentAt, result), state: result.state };
    await audit.transaction(async (repos, log) => {
      await repos.jobs.saveTargets([updated]);
      log(auditEntry(stored.jobId, stored.agentName));
    });
    bus.publish('job.target', { jobId: stored.jobId, target: targetView(updated) });
    return { stored: true };
  }

  // ---- the service -----------------------------------------------------------------------------

  const service = {
    /** Creates a job: resolves its targets, stores everything, then sends to the machines online. */
    async create(input: JobCreate, actor: string, access?: JobAccess): Promise<Job> {
      if (!tracing.enabled) return createJob(input, actor, access, null);
      const span = tracing.startSpan('job.dispatch', { kind: 'producer', attributes: { 'farol.command.kind': input.command.kind } });
      try {
        const job = await tracing.run(span, () => createJob(input, actor, access, span));
        span.setAttributes({ 'farol.job.id': job.id, 'farol.job.targets': job.total });
        return job;
      } catch (error) {
        span.fail(error instanceof Error ? error.message : String(error));
        throw error;
      } finally {
        span.end();
      }
    },

    async get(jobId: string): Promise<Job> {
      const live = active.get(jobId);
      if (live) return liveJobView(live);
      const job = await jobs.findJob(jobId);
      if (!job) throw new FarolError('not_found', `no job ${jobId}`);
      const targets = await jobs.targetsOf(jobId);
      const counts = emptyCounts();
      for (const target of targets) counts[target.state]++;
      return { ...summaryOf(job, counts), targets: targets.map(targetView) };
    },

    async list(query: JobListQuery): Promise<JobList> {
      const limit = Number(query.limit ?? 50);
      const records = await jobs.listJobs({ state: query.state, beforeSeq: query.cursor === undefined ? undefined : Number(query.cursor), limit });
      const stored = await jobs.countsOf(records.filter((r) => !active.has(r.id)).map((r) => r.id));
      const summaries = records.map((record) => {
        const live = active.get(record.id);
        if (live) return summaryOf(live.job, { ...live.counts });
        return summaryOf(record, { ...emptyCounts(), ...stored.get(record.id) });
      });
      return { jobs: summaries, nextCursor: records.length === limit ? String(records.at(-1)!.seq) : null };
    },

    /** Cancels what has not finished: queued targets at once, running ones on their machines. */
    async cancel(jobId: string, actor: string): Promise<Job> {
      const live = active.get(jobId);
      if (!live || live.job.state === 'done') {
        if (!live && !(await jobs.findJob(jobId))) throw new FarolError('not_found', `no job ${jobId}`);
        throw new FarolError('conflict', `job ${jobId} has already finished`);
      }
      if (live.job.cancelledAt === null) {
        const now = clock.now();
        live.job.cancelledAt = now;
        writer.markJob(live);
        let running = 0;
        for (const target of live.targets.values()) {
          if (target.state === 'queued') {
            transition(live, target, 'cancelled', { error: 'cancelled before it started', endedAt: now });
          } else if (!isFinalTargetState(target.state)) {
            running++;
            dispatch.sendCancel(target);
          }
        }
        writer.queueAudit({ actor, action: 'command.cancel', jobId, details: { runningTargets: running } });
        await writer.scheduleFlush();
        logger.info({ jobId, actor, running }, 'job cancelled');
      }
      return liveJobView(live);
    },

    /** Resolves true once the target is final (and stored), false after `timeoutMs`. */
    waitForFinal(commandId: string, timeoutMs: number): Promise<boolean> {
      return writer.waitForFinal(commandId, timeoutMs);
    },

    /** The watch starting point: the job now, and how far each target's streamed output goes. */
    watch(jobId: string): Promise<JobWatchAck> | JobWatchAck {
      const live = active.get(jobId);
      if (!live) return this.get(jobId).then((job) => ({ job, outputSeq: {} }));
      const outputSeq: Record<string, number> = {};
      for (const target of live.targets.values()) if (target.partial.seq >= 0) outputSeq[target.commandId] = target.partial.seq;
      return { job: liveJobView(live), outputSeq };
    },

    // ---- from agents ---------------------------------------------------------------------------

    /** The agent said hello here: send it everything it has not finished, and tell the other hubs (their jobs). */
    agentReady(agentId: string): void {
      dispatch.deliverPending(agentId);
      bus.publish('agent.ready', { agentId, hubId: relay.hubId });
    },

    async acknowledge(agentId: string, ack: CommandAck): Promise<void> {
      const entry = byCommand.get(ack.commandId);
      if (!entry) {
        if (await forwardToOwner('acknowledge', agentId, ack.commandId, ack)) return;
        const stored = await jobs.findTarget(ack.commandId);
        if (!stored || stored.agentId !== agentId) throw new FarolError('forbidden', `no command ${ack.commandId} was sent to this agent`);
        return;
      }
      const { live, target } = entry;
      if (target.agentId !== agentId) throw new FarolError('forbidden', `no command ${ack.commandId} was sent to this agent`);
      if (isFinalTargetState(target.state)) return;
      if (ack.status === 'refused') {
        logger.warn({ agentId, commandId: ack.commandId, jobId: live.job.id, reason: ack.reason }, 'agent refused a command');
        decide(live, target, 'refused', ack.reason ?? 'refused by the agent');
        return;
      }
      if (target.state === 'queued' || target.state === 'sent') transition(live, target, 'running', { startedAt: clock.now(), sentAt: target.sentAt ?? clock.now() });
    },

    async recordOutput(agentId: string, chunk: CommandOutput): Promise<void> {
      const entry = byCommand.get(chunk.commandId);
      if (!entry && (await forwardToOwner('recordOutput', agentId, chunk.commandId, chunk))) return;
      if (!entry || entry.target.agentId !== agentId) {
        const stored = await jobs.findTarget(chunk.commandId);
        if (!stored || stored.agentId !== agentId) throw new FarolError('forbidden', `no command ${chunk.commandId} was sent to this agent`);
        return; // Late output of a finished job: its result has the whole output.
      }
      const { live, target } = entry;
      if (isFinalTargetState(target.state) && target.resultAt !== null) return;
      // seq increases per command (docs/protocol.md): a chunk at or below the last one taken is a
      // repeat or arrived late; appending it would garble the output, so it is dropped.
      if (chunk.seq <= target.partial.seq) return;
      // The agent redacts too; this catches a value only the hub has seen (defence in depth).
      chunk = { ...chunk, data: redact(chunk.data) };
      const next = appendCapped(target.partial[chunk.stream], chunk.data);
      target.partial[chunk.stream] = next.text;
      target.partial.seq = Math.max(target.partial.seq, chunk.seq);
      bus.publish('job.output', { jobId: live.job.id, commandId: chunk.commandId, agentId, stream: chunk.stream, data: chunk.data, seq: chunk.seq });
    },

    /**
     * Stores an agent's result; resolves once committed, so the agent may then forget it. The
     * agent's result replaces any state the hub decided meanwhile (expired, timed out).
     */
    async recordResult(agentId: string, result: CommandResult): Promise<{ stored: boolean }> {
      const span = dispatch.takeRunSpan(result.commandId, agentId);
      return span ? recordTracedResult(agentId, result, span) : storeResult(agentId, result);
    },

    /**
     * A command this agent was sent: its job, command and asker, and whether its result is
     * already stored. Null when the agent was never sent it.
     */
    async findCommand(agentId: string, commandId: string): Promise<{ jobId: string; command: Command; createdBy: string; hasResult: boolean } | null> {
      const entry = byCommand.get(commandId);
      if (entry) {
        if (entry.target.agentId !== agentId) return null;
        return { jobId: entry.live.job.id, command: entry.live.job.command, createdBy: entry.live.job.createdBy, hasResult: entry.target.resultAt !== null };
      }
      const target = await jobs.findTarget(commandId);
      if (!target || target.agentId !== agentId) return null;
      const job = await jobs.findJob(target.jobId);
      if (!job) return null;
      return { jobId: job.id, command: job.command, createdBy: job.createdBy, hasResult: target.resultAt !== null };
    },

    /** Adds a step that checks or completes an agent's result data before it is stored (may throw FarolError). */
    addResultHook(hook: ResultHook): void {
      resultHooks.push(hook);
    },

    /** Picks up unfinished jobs after a restart and starts the sweeper. */
    async start(): Promise<void> {

      const startedAt = clock.now();
      for (const { job, targets } of await jobs.activeJobs()) {
        // Several hubs: only the jobs no other live hub owns (one hub: all of them).
        if (await relay.adopt('job', job.id, ownerTtl(job, clock.now()))) track(job, targets);
      }
      if (active.size > 0) logger.info({ jobs: active.size }, 'resumed unfinished jobs');
      unsubscribers.push(
        bus.subscribe('agent.ready', (event) => {
          if (event.hubId !== relay.hubId) dispatch.deliverPending(event.agentId);
        }),
        bus.subscribe('agent.status', (event) => {
          // Until its next hello; a replaced connection sends no offline event, and a command
          // sent to it before that hello is held by the agent until the hub has proven itself.
          if (event.status === 'offline') dispatch.notReady(event.agentId);
          // Online again on the same connection, with no hello to come (its hub's presence lease
          // lapsed and was renewed): ready again after a moment, so its pending commands go out
          // then, not never. A new connection's hello comes first and makes this a no-op.
          else dispatch.readyWithoutHello(event.agentId, READY_WITHOUT_HELLO_MS);
        }),
        bus.subscribe('agent.removed', (event) => dispatch.notReady(event.agentId)),
        bus.subscribe('broadcasts.resumed', () => {
          // The directory is written again by every hub within a tick or two of Redis coming
          // back: looked at a few times, not once.
          for (const afterMs of RESUMED_READY_CHECKS_MS) {
            const check = setTimeout(() => {
              resumedChecks.delete(check);
              dispatch.readyIfConnected();
            }, afterMs);
            check.unref();
            resumedChecks.add(check);
          }
        }),
        () => {
          for (const check of resumedChecks) clearTimeout(check);
          resumedChecks.clear();
        },
      );
      sweeper.start(startedAt);
    },

    /** Writes whatever is pending (shutdown). */
    async stop(): Promise<void> {
      sweeper.stop();
      unsubscribers.forEach((unsubscribe) => unsubscribe());
      for (const live of active.values()) clearTimeout(live.summaryTimer);
      await writer.drain();
    },

    /** The agent has a live connection to some hub (its hello may still be pending). */
    isConnected(agentId: string): boolean {
      return channel.isConnected(agentId);
    },

    /** Jobs not yet done (for /metrics and tests). */
    activeJobCount(): number {
      return active.size;
    },
  };

  // What agents connected to other hubs report about this hub's jobs (forwardToOwner there).
  type Forwarded<T> = { agentId: string; payload: T };
  relay.handle('jobs.acknowledge', (request) => service.acknowledge((request as Forwarded<CommandAck>).agentId, (request as Forwarded<CommandAck>).payload));
  relay.handle('jobs.recordOutput', (request) => service.recordOutput((request as Forwarded<CommandOutput>).agentId, (request as Forwarded<CommandOutput>).payload));
  relay.handle('jobs.recordResult', (request) => service.recordResult((request as Forwarded<CommandResult>).agentId, (request as Forwarded<CommandResult>).payload));
  return service;
}
export type JobsService = ReturnType<typeof createJobsService>;
