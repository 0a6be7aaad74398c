import { createHash, randomUUID } from 'node:crypto';
import {
  COMMAND_AUDIENCE,
  COMMAND_BATCH_JWS_TYPE,
  COMMAND_JWS_TYPE,
  commandLeafBytes,
  merkleLeafHash,
  merkleTree,
  type CommandBatchClaims,
  type CommandRun,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_JOB_TTL_MS,
  FarolError,
  HUB_PROOF_ISSUER,
  MAX_JOB_TARGETS,
  MAX_OUTPUT_BYTES,
  TARGET_STATES,
  describeCommand,
  isFinalTargetState,
  matchesLabels,
  type Labels,
  parseLabelSelector,
  type Command,
  type CommandAck,
  type CommandClaims,
  type CommandOutput,
  type CommandResult,
  type Job,
  type JobCreate,
  type JobList,
  type JobListQuery,
  type JobSummary,
  type JobTarget,
  type JobTargets,
  type JobWatchAck,
  type TargetCounts,
  type TargetState,
} from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { HubSigner } from '../../infra/jws.js';
import type { Logger } from '../../infra/logger.js';
import type { Observability } from '../../infra/observability.js';
import type { AgentsRepository } from '../agents/agents.repository.js';
import type { PresenceService } from '../agents/presence.service.js';
import type { AuditInput, AuditService } from '../audit/audit.service.js';
import type { JobRecord, JobsRepository, TargetRecord } from './jobs.repository.js';

/** A target while its job is active: the stored record plus what only lives in memory. */
interface LiveTarget extends TargetRecord {
  /** Output streamed so far (replaced by the result's). */
  partial: { stdout: string; stderr: string; seq: number };
  /** The agent's result is committed (so a re-sent one can be acknowledged as a duplicate). */
  resultPersisted: boolean;
  cancelSentAt: number | null;
}

interface LiveJob {
  job: JobRecord;
  targets: Map<string, LiveTarget>;
  counts: TargetCounts;
  open: number;
  lastSummaryAt: number;
  summaryTimer: NodeJS.Timeout | undefined;
}

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

const sha256 = (data: Uint8Array): Uint8Array => createHash('sha256').update(data).digest();

/** Under load, batches of job changes start at most this often (see scheduleFlush). */
const BUSY_FLUSH_GAP_MS = 10;

function emptyCounts(): TargetCounts {
  return Object.fromEntries(TARGET_STATES.map((state) => [state, 0])) as TargetCounts;
}

/** Appends to output without passing the byte cap; says whether anything was cut. */
function appendCapped(current: string, chunk: string): { text: string; cut: boolean } {
  const room = MAX_OUTPUT_BYTES - Buffer.byteLength(current);
  if (room <= 0) return { text: current, cut: chunk.length > 0 };
  if (Buffer.byteLength(chunk) <= room) return { text: current + chunk, cut: false };
  // Cut on a character boundary: decoding a cut multi-byte sequence would add U+FFFD.
  let cut = Buffer.from(chunk).subarray(0, room).toString('utf8');
  while (Buffer.byteLength(cut) > room) cut = cut.slice(0, -1);
  return { text: current + cut, cut: true };
}

/**
 * Checks or completes an agent's result data before it is stored, e.g. a screenshot's data gets
 * the id of the image uploaded before it. Throwing a FarolError refuses the result (the agent
 * keeps it and sends it again unless the code is final).
 */
export type ResultHook = (context: { agentId: string; jobId: string; command: Command; createdBy: string; result: CommandResult }) => Promise<CommandResult['data']>;

/** Who may be targeted by a job, decided by the caller's role (issue #6). */
export interface JobAccess {
  canTarget(labels: Labels): boolean;
  maxTargets: number;
}

/**
 * Remote commands and fleet jobs. A job and all its targets are stored before anything is sent;
 * each target gets its own command id, signed into a JWS by the hub key with an expiry at the
 * job's TTL. Delivery is at-least-once: on every hello, an agent is sent again what it has not
 * finished (it runs a command id once and re-sends results until acknowledged). Results and
 * state changes are group-committed together with their audit entries.
 */
export function createJobsService({
  jobs,
  agents,
  audit,
  presence,
  signer,
  bus,
  clock,
  logger,
  timings = DEFAULT_JOBS_TIMINGS,
  secrets,
  observability,
}: {
  jobs: JobsRepository;
  agents: AgentsRepository;
  audit: AuditService;
  presence: PresenceService;
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
}) {
  const redact = (text: string): string => (secrets && text ? secrets.redact(text) : text);
  const active = new Map<string, LiveJob>();
  const byCommand = new Map<string, { live: LiveJob; target: LiveTarget }>();
  /** Unfinished command ids per agent: what to (re)send when it says hello. */
  const pendingByAgent = new Map<string, Set<string>>();
  /** Agents whose hello this hub has answered since they last connected. */
  const ready = new Set<string>();
  const finalWaiters = new Map<string, Set<() => void>>();
  const resultHooks: ResultHook[] = [];

  /** Lets the modules that own a kind's data (screenshots) check and complete it before it is stored. */
  async function completeData(agentId: string, job: Pick<JobRecord, 'id' | 'command' | 'createdBy'>, result: CommandResult): Promise<CommandResult['data']> {
    let data = result.data;
    for (const hook of resultHooks) data = await hook({ agentId, jobId: job.id, command: job.command, createdBy: job.createdBy, result: { ...result, data } });
    return data;
  }

  // Group commit of target changes, job changes and audit entries.
  const dirtyTargets = new Map<string, { live: LiveJob; target: LiveTarget }>();
  const dirtyJobs = new Set<LiveJob>();
  let auditQueue: AuditInput[] = [];
  let nextFlush: Deferred | null = null;
  let writing: Promise<void> | null = null;
  /** When the last batch finished (performance.now()). */
  let lastFlushAt = -Infinity;
  let sweeper: NodeJS.Timeout | undefined;
  let startedAt = clock.now();
  const unsubscribers: Array<() => void> = [];

  // ---- views ----------------------------------------------------------------------------------

  function summaryOf(job: JobRecord, counts: TargetCounts): JobSummary {
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

  function targetView(target: TargetRecord | LiveTarget): JobTarget {
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

  function liveJobView(live: LiveJob): Job {
    const targets = [...live.targets.values()].sort((a, b) => a.agentName.localeCompare(b.agentName)).map(targetView);
    return { ...summaryOf(live.job, { ...live.counts }), targets };
  }

  // ---- state -----------------------------------------------------------------------------------

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
      dirtyTargets.set(target.commandId, { live, target });
      scheduleFlush();
      return;
    }
    bus.publish('job.target', { jobId: live.job.id, target: targetView(target) });
    publishSummary(live);
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
        dirtyJobs.add(live);
      }
    }
    markDirty(live, target);
  }

  /** A final state decided by the hub (expired, timed out, cancelled while away); an agent's result still replaces it. */
  function decide(live: LiveJob, target: LiveTarget, state: TargetState, error: string): void {
    // What streamed so far is the best output there is until the agent's own result comes.
    transition(live, target, state, { error, endedAt: clock.now(), stdout: target.partial.stdout, stderr: target.partial.stderr });
    auditQueue.push({
      actor: 'hub',
      action: 'command.result',
      agentId: target.agentId,
      jobId: live.job.id,
      details: { commandId: target.commandId, agentName: target.agentName, state, error },
    });
  }

  // ---- group commit ----------------------------------------------------------------------------

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
    for (const live of touched) publishSummary(live);
    for (const live of jobsChanged) {
      if (live.job.state !== 'done' || dirtyJobs.has(live)) continue;
      // Finished and stored: later (late) results are handled from the database. A target
      // changed again meanwhile: look at the job again after the next batch.
      if ([...live.targets.keys()].some((id) => dirtyTargets.has(id))) {
        dirtyJobs.add(live);
        continue;
      }
      active.delete(live.job.id);
      for (const id of live.targets.keys()) byCommand.delete(id);
      clearTimeout(live.summaryTimer);
      logger.info({ jobId: live.job.id, counts: live.counts }, 'job finished');
    }
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
    const wait = live.lastSummaryAt + timings.summaryIntervalMs - clock.now();
    if (wait <= 0) emit();
    else live.summaryTimer = setTimeout(emit, wait);
  }

  // ---- delivery --------------------------------------------------------------------------------

  /** Whether a target can be sent now: its agent is here and proven, and the job has not expired. */
  function deliverable(live: LiveJob, target: LiveTarget, now: number): boolean {
    return presence.sessionOf(target.agentId) !== undefined && ready.has(target.agentId) && now < live.job.expiresAt;
  }

  /** Sends a signed command, if its agent is still here and the target still due (signing takes a moment). */
  function send(live: LiveJob, target: LiveTarget, run: CommandRun): void {
    const session = presence.sessionOf(target.agentId);
    if (!session || isFinalTargetState(target.state) || live.job.cancelledAt !== null) return;
    session.send('command:run', run);
    if (target.state === 'queued') transition(live, target, 'sent', { sentAt: clock.now() });
  }

  /** Signs the target's command on its own (off the event loop) and sends it. */
  function deliver(live: LiveJob, target: LiveTarget): Promise<void> {
    const now = clock.now();
    if (!deliverable(live, target, now)) return Promise.resolve();
    const claims: CommandClaims = {
      iss: HUB_PROOF_ISSUER,
      aud: COMMAND_AUDIENCE,
      sub: target.agentId,
      jti: randomUUID(),
      iat: Math.floor(now / 1000),
      // Rounded down: the agent must never accept it after the TTL.
      exp: Math.floor(live.job.expiresAt / 1000),
      commandId: target.commandId,
      jobId: live.job.id,
      command: live.job.command,
      timeoutMs: live.job.timeoutMs,
    };
    return signer.sign(claims, COMMAND_JWS_TYPE).then(
      (token) => send(live, target, { token }),
      (error: unknown) => logger.error({ err: error, commandId: target.commandId, jobId: live.job.id }, 'could not sign a command; it is sent again at the next hello'),
    );
  }

  /**
   * Sends a job to every target that can take it now with one signature: over the Merkle root
   * of one leaf per machine (agent id, command id, a fresh jti), each machine getting its leaf
   * and inclusion proof. A 10,000-machine job costs one Ed25519 signature and ~20,000 hashes
   * instead of 10,000 signatures. Fewer than two targets: signed on its own.
   */
  async function deliverAll(live: LiveJob, targets: LiveTarget[]): Promise<void> {
    const now = clock.now();
    const due = targets.filter((target) => deliverable(live, target, now));
    if (due.length < 2) {
      await Promise.all(due.map((target) => deliver(live, target)));
      return;
    }
    const leaves = due.map((target) => ({ sub: target.agentId, commandId: target.commandId, jti: randomUUID() }));
    const { root, paths } = merkleTree(
      sha256,
      leaves.map((leaf) => merkleLeafHash(sha256, Buffer.from(commandLeafBytes(leaf)))),
    );
    const claims: CommandBatchClaims = {
      iss: HUB_PROOF_ISSUER,
      aud: COMMAND_AUDIENCE,
      iat: Math.floor(now / 1000),
      exp: Math.floor(live.job.expiresAt / 1000),
      jobId: live.job.id,
      command: live.job.command,
      timeoutMs: live.job.timeoutMs,
      root: Buffer.from(root).toString('base64url'),
      size: leaves.length,
    };
    let token: string;
    try {
      token = await signer.sign(claims, COMMAND_BATCH_JWS_TYPE);
    } catch (error) {
      logger.error({ err: error, jobId: live.job.id }, 'could not sign a job; its targets are sent again at their next hello');
      return;
    }
    due.forEach((target, index) => {
      send(live, target, { token, batch: { ...leaves[index]!, index, path: paths[index]!.map((hash) => Buffer.from(hash).toString('base64url')) } });
    });
  }

  function sendCancel(target: LiveTarget): void {
    const session = presence.sessionOf(target.agentId);
    if (!session || !ready.has(target.agentId)) return;
    session.send('command:cancel', { commandId: target.commandId });
    target.cancelSentAt = clock.now();
  }

  async function resolveTargets(spec: JobTargets): Promise<Array<{ id: string; name: string; labels: Labels }>> {
    if ('agents' in spec && spec.agents.length <= 16) {
      // A few machines by name: look them up, not the whole fleet.
      const found = await Promise.all(spec.agents.map(async (ref) => ({ ref, agent: await agents.findByIdOrName(ref) })));
      const missing = found.filter((f) => !f.agent).map((f) => JSON.stringify(f.ref));
      if (missing.length > 0) throw new FarolError('not_found', `no agent with id or name ${missing.join(', ')}`);
      const unique = new Map(found.map(({ agent }) => [agent!.id, { id: agent!.id, name: agent!.name, labels: agent!.labels }]));
      return [...unique.values()];
    }
    const all = await agents.list();
    let chosen;
    if ('agents' in spec) {
      const byRef = new Map<string, (typeof all)[number]>();
      for (const agent of all) {
        byRef.set(agent.id, agent);
        byRef.set(agent.name, agent);
      }
      const missing = spec.agents.filter((ref) => !byRef.has(ref));
      if (missing.length > 0) {
        throw new FarolError('not_found', `no agent with id or name ${missing.slice(0, 10).map((m) => JSON.stringify(m)).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`);
      }
      chosen = [...new Set(spec.agents.map((ref) => byRef.get(ref)!))];
    } else if ('selector' in spec) {
      let terms;
      try {
        terms = parseLabelSelector(spec.selector);
      } catch (error) {
        throw new FarolError('validation_failed', (error as Error).message, { cause: error });
      }
      chosen = all.filter((agent) => matchesLabels(agent.labels, terms));
      if (chosen.length === 0) throw new FarolError('not_found', `no agent matches the selector ${spec.selector}`);
    } else {
      chosen = all;
      if (chosen.length === 0) throw new FarolError('not_found', 'no agent is enrolled yet');
    }
    if (chosen.length > MAX_JOB_TARGETS) {
      throw new FarolError('validation_failed', `${chosen.length} machines match; a job may target at most ${MAX_JOB_TARGETS}`);
    }
    return chosen.map((agent) => ({ id: agent.id, name: agent.name, labels: agent.labels }));
  }

  /**
   * Issue #6: every resolved target must be within the caller's scope (a selector that reaches
   * one machine outside it refuses the whole job, so nothing runs half-authorized), and a job
   * may reach at most the caller's fan-out limit.
   */
  function checkAccess(resolved: Array<{ name: string; labels: Labels }>, access: JobAccess): void {
    if (resolved.length > access.maxTargets) {
      throw new FarolError('forbidden', `${resolved.length} machines match; you may target at most ${access.maxTargets} in one job`);
    }
    const outside = resolved.filter((agent) => !access.canTarget(agent.labels));
    if (outside.length > 0) {
      const names = outside.slice(0, 10).map((agent) => agent.name).join(', ');
      throw new FarolError('forbidden', `outside your scope: ${names}${outside.length > 10 ? ` and ${outside.length - 10} more` : ''}; narrow the targets`);
    }
  }

  // ---- sweeping --------------------------------------------------------------------------------

  function sweep(): void {
    if (dirtyTargets.size > 0) void scheduleFlush();
    const now = clock.now();
    // Right after a restart, agents have not had the chance to re-send the results they kept.
    const settled = now >= startedAt + timings.resultGraceMs;
    for (const live of active.values()) {
      if (live.open === 0) continue;
      for (const target of live.targets.values()) {
        if (isFinalTargetState(target.state)) continue;
        if (target.state === 'queued' && now >= live.job.expiresAt) {
          decide(live, target, 'expired', live.job.cancelledAt === null ? 'the machine was not reachable before the job expired' : 'cancelled before it started');
        } else if (!settled) {
          continue;
        } else if (target.state === 'sent' && now >= live.job.expiresAt + timings.resultGraceMs) {
          decide(live, target, 'expired', 'the agent never confirmed it received the command before the job expired');
        } else if (target.state === 'running' && now >= (target.startedAt ?? now) + live.job.timeoutMs + timings.resultGraceMs) {
          decide(live, target, 'timed_out', 'no result from the agent within the timeout');
        } else if (live.job.cancelledAt !== null && now >= live.job.cancelledAt + timings.resultGraceMs) {
          decide(live, target, 'cancelled', 'cancelled; the agent did not confirm (it may have been offline)');
        }
      }
    }
  }

  // ---- the service -----------------------------------------------------------------------------

  return {
    /** Creates a job: resolves its targets, stores everything, then sends to the machines online. */
    async create(input: JobCreate, actor: string, access?: JobAccess): Promise<Job> {
      const resolved = await resolveTargets(input.targets);
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
      const targets: TargetRecord[] = resolved.map((agent) => ({
        commandId: randomId('cmd'),
        jobId: job.id,
        agentId: agent.id,
        agentName: agent.name,
        state: 'queued',
        exitCode: null,
        signal: null,
        stdout: '',
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        data: null,
        sentAt: null,
        startedAt: null,
        endedAt: null,
        error: null,
        resultAt: null,
      }));
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
      observability?.jobsCreated.inc({ kind: input.command.kind });
      logger.info({ jobId: job.id, command: describeCommand(input.command), targets: resolved.length, actor }, 'job created');
      // The answer says which targets were sent and which wait for their machine.
      await deliverAll(live, [...live.targets.values()]);
      publishSummary(live);
      return liveJobView(live);
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
        dirtyJobs.add(live);
        let running = 0;
        for (const target of live.targets.values()) {
          if (target.state === 'queued') {
            transition(live, target, 'cancelled', { error: 'cancelled before it started', endedAt: now });
          } else if (!isFinalTargetState(target.state)) {
            running++;
            sendCancel(target);
          }
        }
        auditQueue.push({ actor, action: 'command.cancel', jobId, details: { runningTargets: running } });
        await scheduleFlush();
        logger.info({ jobId, actor, running }, 'job cancelled');
      }
      return liveJobView(live);
    },

    /** Resolves true once the target is final (and stored), false after `timeoutMs`. */
    waitForFinal(commandId: string, timeoutMs: number): Promise<boolean> {
      const entry = byCommand.get(commandId);
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

    /** The watch starting point: the job now, and how far each target's streamed output goes. */
    watch(jobId: string): Promise<JobWatchAck> | JobWatchAck {
      const live = active.get(jobId);
      if (!live) return this.get(jobId).then((job) => ({ job, outputSeq: {} }));
      const outputSeq: Record<string, number> = {};
      for (const target of live.targets.values()) if (target.partial.seq >= 0) outputSeq[target.commandId] = target.partial.seq;
      return { job: liveJobView(live), outputSeq };
    },

    // ---- from agents ---------------------------------------------------------------------------

    /** The agent said hello: send it everything it has not finished. */
    agentReady(agentId: string): void {
      ready.add(agentId);
      for (const commandId of pendingByAgent.get(agentId) ?? []) {
        const entry = byCommand.get(commandId);
        if (!entry) continue;
        if (entry.live.job.cancelledAt !== null) {
          if (entry.target.state !== 'queued') sendCancel(entry.target);
        } else {
          void deliver(entry.live, entry.target);
        }
      }
    },

    async acknowledge(agentId: string, ack: CommandAck): Promise<void> {
      const entry = byCommand.get(ack.commandId);
      if (!entry) {
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
      if (!entry || entry.target.agentId !== agentId) {
        const stored = await jobs.findTarget(chunk.commandId);
        if (!stored || stored.agentId !== agentId) throw new FarolError('forbidden', `no command ${chunk.commandId} was sent to this agent`);
        return; // Late output of a finished job: its result has the whole output.
      }
      const { live, target } = entry;
      if (isFinalTargetState(target.state) && target.resultAt !== null) return;
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
      const entry = byCommand.get(result.commandId);
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
          if (!target.resultPersisted) await scheduleFlush();
          return { stored: false };
        }
        patch.data = await completeData(agentId, live.job, result);
        if (target.resultAt !== null) return { stored: false };
        const sentAt = target.sentAt;
        transition(live, target, result.state, patch);
        auditQueue.push(auditEntry(live.job.id, target.agentName));
        await scheduleFlush();
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
      const storedJob = await jobs.findJob(stored.jobId);
      if (storedJob) patch.data = await completeData(agentId, storedJob, result);
      const updated: TargetRecord = { ...stored, ...patch, state: result.state };
      await audit.transaction(async (repos, log) => {
        await repos.jobs.saveTargets([updated]);
        log(auditEntry(stored.jobId, stored.agentName));
      });
      bus.publish('job.target', { jobId: stored.jobId, target: targetView(updated) });
      return { stored: true };
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
      startedAt = clock.now();
      for (const { job, targets } of await jobs.activeJobs()) track(job, targets);
      if (active.size > 0) logger.info({ jobs: active.size }, 'resumed unfinished jobs');
      unsubscribers.push(
        bus.subscribe('agent.status', (event) => {
          // Until its next hello; a replaced connection sends no offline event, and a command
          // sent to it before that hello is held by the agent until the hub has proven itself.
          if (event.status === 'offline') ready.delete(event.agentId);
        }),
        bus.subscribe('agent.removed', (event) => ready.delete(event.agentId)),
      );
      sweeper = setInterval(sweep, timings.sweepIntervalMs);
      sweeper.unref();
    },

    /** Writes whatever is pending (shutdown). */
    async stop(): Promise<void> {
      clearInterval(sweeper);
      unsubscribers.forEach((unsubscribe) => unsubscribe());
      for (const live of active.values()) clearTimeout(live.summaryTimer);
      // runFlush handles (logs and keeps) its own failures, so these never reject.
      while (writing || nextFlush) {
        if (writing) await writing;
        else runFlush();
      }
    },

    /** The agent has a live connection to this hub (its hello may still be pending). */
    isConnected(agentId: string): boolean {
      return presence.sessionOf(agentId) !== undefined;
    },

    /** Jobs not yet done (for /metrics and tests). */
    activeJobCount(): number {
      return active.size;
    },
  };
}
export type JobsService = ReturnType<typeof createJobsService>;
