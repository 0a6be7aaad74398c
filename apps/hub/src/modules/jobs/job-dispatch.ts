import { createHash, randomUUID } from 'node:crypto';
import {
  COMMAND_AUDIENCE,
  COMMAND_BATCH_JWS_TYPE,
  COMMAND_JWS_TYPE,
  commandLeafHash,
  HUB_PROOF_ISSUER,
  isFinalTargetState,
  merkleTree,
  type CommandBatchClaims,
  type CommandClaims,
  type CommandRun,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { HubSigner } from '../../infra/jws.js';
import type { Logger } from '../../infra/logger.js';
import type { Tracing } from '../../infra/tracing.js';
import type { AgentChannel } from '../agents/agent-channel.js';
import type { JobState, LiveJob, LiveTarget } from './job-state.js';

const sha256 = (data: Uint8Array): Uint8Array => createHash('sha256').update(data).digest();

/** A sent command's run as a span, recorded when its result comes (tracing on). */
export interface RunSpan {
  parent: string;
  spanId: string;
  sentAt: number;
}

/**
 * Sending signed commands and cancels to agents wherever they are connected (the agent
 * channel), to the agents that said hello since they connected. Delivery is at-least-once: a
 * target not handed over stays queued and is sent again at its agent's next hello.
 */
export function createJobDispatch({
  channel,
  signer,
  state,
  clock,
  logger,
  tracing,
}: {
  channel: AgentChannel;
  signer: HubSigner;
  state: Pick<JobState, 'pendingByAgent' | 'byCommand' | 'transition'>;
  clock: Clock;
  logger: Logger;
  tracing: Tracing;
}) {
  /** Agents whose hello this hub has answered since they last connected. */
  const ready = new Set<string>();
  // Traces (only filled while tracing is on): the dispatch span of each live job, and the span
  // id each sent command's run will be recorded under once its result comes.
  const dispatchTrace = new Map<string, string>();
  const runSpans = new Map<string, RunSpan>();
  /**
   * Commands not handed over while their agent counted as ready: the send failed (the hub holding
   * it unreachable, Redis away), the directory named no hub for a moment (Redis restarted empty,
   * its hub not yet written again), or nobody answered on the holder's inbox. No hello will come
   * to send them again, so the sweeper does once the agent can be reached (retryFailedSends).
   */
  const failedSends = new Map<string, number>();
  /** Commands being signed or handed over now: a second send meanwhile (a retry, a ready again) would only repeat them. */
  const inFlight = new Set<string>();
  /** The connection each handed-over command went to (so a command is sent again only to a new connection). */
  const sentOn = new WeakMap<LiveTarget, string | null>();
  /** Agents online again on the same connection, waiting for `readyWithoutHello`'s moment. */
  const readyTimers = new Map<string, NodeJS.Timeout>();

  /**
   * Remembers a command that could not go out while its agent is ready, for the sweeper; an agent
   * that is not ready gets it at its next hello instead.
   */
  function sendLater(live: LiveJob, target: LiveTarget, now: number): void {
    if (target.state !== 'queued' || live.job.cancelledAt !== null || now >= live.job.expiresAt || !ready.has(target.agentId)) return;
    if (!failedSends.has(target.commandId)) failedSends.set(target.commandId, now);
  }

  /** Whether a target can be sent now: its agent is here and proven, and the job has not expired. */
  function deliverable(live: LiveJob, target: LiveTarget, now: number): boolean {
    return channel.isConnected(target.agentId) && ready.has(target.agentId) && now < live.job.expiresAt;
  }

  /** Sends a signed command, if its agent is still connected and the target still due (signing takes a moment). */
  async function send(live: LiveJob, target: LiveTarget, run: CommandRun): Promise<void> {
    try {
      await handOver(live, target, run);
    } finally {
      inFlight.delete(target.commandId);
    }
  }

  async function handOver(live: LiveJob, target: LiveTarget, run: CommandRun): Promise<void> {
    if (isFinalTargetState(target.state) || live.job.cancelledAt !== null) return;
    const outcome = await channel.send(target.agentId, 'command:run', tracing.enabled ? withTraceparent(live, target, run) : run);
    // Not handed over: the target stays queued and is sent again at the agent's next hello, or
    // by the sweeper while the agent stays ready (retryFailedSends).
    if (outcome !== 'delivered') {
      failedSends.delete(target.commandId);
      sendLater(live, target, clock.now());
      if (outcome === 'failed') logger.warn({ agentId: target.agentId, commandId: target.commandId, jobId: live.job.id }, 'could not send a command; it is sent again shortly, or at the agent\'s next hello');
      return;
    }
    failedSends.delete(target.commandId);
    sentOn.set(target, channel.connectionOf(target.agentId));
    if (target.state === 'queued') state.transition(live, target, 'sent', { sentAt: clock.now() });
  }

  /**
   * The command with the trace context of its run on the agent: a child of the job's dispatch
   * span, under a span id chosen now and recorded when the result comes (recordResult).
   */
  function withTraceparent(live: LiveJob, target: LiveTarget, run: CommandRun): CommandRun {
    const parent = dispatchTrace.get(live.job.id);
    if (!parent) return run;
    let span = runSpans.get(target.commandId);
    if (!span) runSpans.set(target.commandId, (span = { parent, spanId: tracing.newSpanId(), sentAt: clock.now() }));
    return { ...run, traceparent: `${parent.slice(0, 36)}${span.spanId}${parent.slice(52)}` };
  }

  /** Signs the target's command on its own (off the event loop) and sends it. */
  function deliver(live: LiveJob, target: LiveTarget, evenInFlight = false): Promise<void> {
    const now = clock.now();
    if (inFlight.has(target.commandId) && !evenInFlight) return Promise.resolve();
    if (!deliverable(live, target, now)) {
      sendLater(live, target, now);
      return Promise.resolve();
    }
    inFlight.add(target.commandId);
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
      (error: unknown) => {
        inFlight.delete(target.commandId);
        logger.error({ err: error, commandId: target.commandId, jobId: live.job.id }, 'could not sign a command; it is sent again at the next hello');
      },
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
    const due: LiveTarget[] = [];
    for (const target of targets) {
      if (inFlight.has(target.commandId)) continue;
      if (deliverable(live, target, now)) due.push(target);
      else sendLater(live, target, now);
    }
    if (due.length < 2) {
      await Promise.all(due.map((target) => deliver(live, target)));
      return;
    }
    for (const target of due) inFlight.add(target.commandId);
    const leaves = due.map((target) => ({ sub: target.agentId, commandId: target.commandId, jti: randomUUID() }));
    const { root, paths } = merkleTree(
      sha256,
      leaves.map((leaf) => commandLeafHash(sha256, leaf)),
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
      for (const target of due) inFlight.delete(target.commandId);
      logger.error({ err: error, jobId: live.job.id }, 'could not sign a job; its targets are sent again at their next hello');
      return;
    }
    await Promise.all(
      due.map((target, index) => send(live, target, { token, batch: { ...leaves[index]!, index, path: paths[index]!.map((hash) => Buffer.from(hash).toString('base64url')) } })),
    );
  }

  function sendCancel(target: LiveTarget): void {
    if (!channel.isConnected(target.agentId) || !ready.has(target.agentId)) return;
    target.cancelSentAt = clock.now();
    void channel.send(target.agentId, 'command:cancel', { commandId: target.commandId }).then((outcome) => {
      // Sent again at the agent's next hello (its job is still cancelled then).
      if (outcome !== 'delivered') logger.warn({ agentId: target.agentId, commandId: target.commandId, outcome }, 'could not send a cancel');
    });
  }

  /**
   * An agent is ready: send it what it is owed of this hub's jobs. After a hello (`sinceHello`)
   * that is everything it has not finished, since the agent may have lost what the old connection
   * carried. Ready without a hello heard here, what was never handed over, and what went to a
   * connection other than the one it has now (a hello on another hub this one missed).
   */
  function deliverPending(agentId: string, sinceHello = true): void {
    ready.add(agentId);
    const connection = sinceHello ? null : channel.connectionOf(agentId);
    for (const commandId of state.pendingByAgent.get(agentId) ?? []) {
      const entry = state.byCommand.get(commandId);
      if (!entry) continue;
      const owed = sinceHello || entry.target.state === 'queued' || sentOn.get(entry.target) !== connection;
      if (entry.live.job.cancelledAt !== null) {
        if (entry.target.state !== 'queued' && (owed || entry.target.cancelSentAt === null)) sendCancel(entry.target);
      } else if (owed) {
        // After a hello even one being sent now: it may be going to the connection that ended.
        void deliver(entry.live, entry.target, sinceHello);
      }
    }
  }

  return {
    deliverAll,
    sendCancel,
    deliverPending,

    /** Until its next hello (an agent offline or removed); what it was owed waits for that hello. */
    notReady(agentId: string): void {
      ready.delete(agentId);
      clearTimeout(readyTimers.get(agentId));
      readyTimers.delete(agentId);
    },

    /** Whether the agent said hello (on some hub) since it last went offline. */
    isReady(agentId: string): boolean {
      return ready.has(agentId);
    },

    /**
     * The agent is online again with no new connection, so no hello will come (its hub's
     * presence lease lapsed and was renewed): ready after `afterMs`, unless a hello came first
     * (a new connection's), and then its pending commands go out.
     */
    readyWithoutHello(agentId: string, afterMs: number): void {
      if (ready.has(agentId) || readyTimers.has(agentId)) return;
      // Ready then even when the directory does not name its hub at that moment (Redis restarted
      // empty, that hub not written again yet): what cannot go out now waits for the sweeper. An
      // offline event before then (notReady) stops it.
      const later = setTimeout(() => {
        readyTimers.delete(agentId);
        if (!ready.has(agentId)) deliverPending(agentId, false);
      }, afterMs);
      later.unref();
      readyTimers.set(agentId, later);
    },

    /**
     * Redis came back (issue #14): a hello another hub announced meanwhile was missed. Agents owed
     * commands of this hub's jobs that are connected somewhere now and not ready here are sent
     * them; an agent that connected during the outage has said its hello by then.
     */
    readyIfConnected(): void {
      for (const agentId of state.pendingByAgent.keys()) {
        if (!ready.has(agentId) && !readyTimers.has(agentId) && channel.isConnected(agentId)) deliverPending(agentId, false);
      }
    },

    /**
     * Sends again the commands whose hand-over failed at least `afterMs` ago while their agent
     * stayed connected; a target its agent no longer can take waits for the next hello.
     */
    retryFailedSends(afterMs: number): void {
      const now = clock.now();
      for (const [commandId, failedAt] of [...failedSends]) {
        if (now - failedAt < afterMs) continue;
        const entry = state.byCommand.get(commandId);
        // Sent, finished, cancelled, expired, or its agent went offline (its next hello sends it).
        if (!entry || entry.target.state !== 'queued' || entry.live.job.cancelledAt !== null || now >= entry.live.job.expiresAt || !ready.has(entry.target.agentId)) {
          failedSends.delete(commandId);
          continue;
        }
        // Ready but not reachable this moment (no hub named for it): tried again at the next pass.
        if (!deliverable(entry.live, entry.target, now)) continue;
        failedSends.delete(commandId);
        void deliver(entry.live, entry.target);
      }
    },

    /** A job's dispatch span: its commands' runs become its children. */
    traceDispatch(jobId: string, traceparent: string): void {
      dispatchTrace.set(jobId, traceparent);
    },
    /** The run span a command was sent to this agent under, taken once when its result comes. */
    takeRunSpan(commandId: string, agentId: string): RunSpan | undefined {
      const span = tracing.enabled ? runSpans.get(commandId) : undefined;
      if (!span || state.byCommand.get(commandId)?.target.agentId !== agentId) return undefined;
      runSpans.delete(commandId);
      return span;
    },
    /** A finished job's traces. */
    forgetTraces(live: LiveJob): void {
      if (!tracing.enabled) return;
      dispatchTrace.delete(live.job.id);
      for (const id of live.targets.keys()) runSpans.delete(id);
    },
  };
}
export type JobDispatch = ReturnType<typeof createJobDispatch>;
