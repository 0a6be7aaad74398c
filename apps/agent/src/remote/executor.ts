import type { KeyObject } from 'node:crypto';
import {
  type AgentUpdateCommand,
  type CommandAck,
  type CommandClaims,
  type CommandResult,
  type CommandRun,
  type DockerCommand,
  type NetworkPingCommand,
  type ScreenshotCommand,
  type ScreenshotData,
  SCREENSHOT_CHUNK_BYTES,
  type ShellCommand,
} from '@farol/protocol';
import type { HubLink } from '../hub-link/hub-link.client.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';
import type { CommandStateRepository } from './command-state.repository.js';
import { verifyCommandRun } from './command-token.js';
import type { Policy } from './policy.schema.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from './remote-command.js';
import type { ScreenshotOutcome } from './screenshot.command.js';
import type { UpdateOutcome } from '../update/update.command.js';

/** Commands running at once; more are refused rather than queued (the hub's timeout keeps running). */
export const MAX_CONCURRENT_COMMANDS = 32;
/** Output is sent in chunks of up to this size, or after this long. */
const OUTPUT_CHUNK_BYTES = 16 * 1024;
const OUTPUT_FLUSH_MS = 50;
const ACK_TIMEOUT_MS = 10_000;
/**
 * A command that finishes within this long sends no separate `accepted` acknowledgement: its
 * result says it ran. A longer one tells the hub it is running once this has passed. Most
 * commands (echo, docker_ps, metrics) finish well within it, so a fan-out costs the hub two
 * messages per machine instead of three.
 */
export const ACCEPTED_ACK_DELAY_MS = 250;
const RESULT_ACK_TIMEOUT_MS = 15_000;
/** How long a restart or stop waits for the hub to take its result before going anyway (it stays on disk). */
const LIFECYCLE_DELIVERY_MS = 3_000;
/**
 * A result the hub could not take while the link stays up (it answered an error, or not in
 * time: with several hubs the job's hub may be too busy to answer the relay) goes again after
 * this long, doubling up to RESULT_RETRY_MAX_MS, instead of waiting for the next connection.
 */
const RESULT_RETRY_MS = 5_000;
const RESULT_RETRY_MAX_MS = 120_000;
/** Error codes after which re-sending a result cannot help: it is dropped. */
const FINAL_RESULT_REFUSALS = new Set(['forbidden', 'validation_failed', 'not_found', 'bad_request']);

/** How each kind of command is run; the lifecycle commands go through `lifecycle`. */
export interface CommandHandlers {
  shell(command: ShellCommand, context: RemoteCommandContext): Promise<RemoteOutcome>;
  metrics(context: RemoteCommandContext): Promise<RemoteOutcome>;
  processes(command: { top?: number | undefined; sortBy?: 'cpu' | 'memory' | undefined }, context: RemoteCommandContext): Promise<RemoteOutcome>;
  /** docker_ps, docker_restart, docker_stop, docker_start, docker_logs; deploy, rm, update and images (#18). */
  docker(command: DockerCommand, context: RemoteCommandContext): Promise<RemoteOutcome>;
  /** A PNG of the screen, uploaded in chunks before the result. */
  screenshot(command: ScreenshotCommand, context: RemoteCommandContext): Promise<ScreenshotOutcome>;
  /** agent_update: a failed outcome, or the new build swapped in (the next start sends the result). */
  update?(command: AgentUpdateCommand, context: RemoteCommandContext): Promise<UpdateOutcome>;
  /** network_ping (issue #19): the system's ping to one address; absent: refused as unsupported. */
  networkPing?(command: NetworkPingCommand, context: RemoteCommandContext): Promise<RemoteOutcome>;
}

/** Restart and stop: what the output says, and the request to the agent's main loop. */
export interface Lifecycle {
  describe(kind: 'restart' | 'stop'): string;
  request(kind: 'restart' | 'stop'): void;
}

export interface CommandExecutorOptions {
  agentId: string;
  /** The hub key pinned at enrollment. */
  hubKey: KeyObject;
  link: Pick<HubLink, 'isLinked' | 'request'>;
  state: CommandStateRepository;
  /** Read for every command: the local policy file the hub cannot change. */
  policy: () => Policy | { error: string };
  handlers: CommandHandlers;
  lifecycle: Lifecycle;
  clock: Clock;
  logger: Logger;
  maxConcurrent?: number;
}

/** Runs the hub's signed commands on this machine. */
export interface CommandExecutor {
  /** A `command:run` from the hub. Resolves when the command has finished (tests wait on it). */
  run(payload: CommandRun): Promise<void>;
  /** A `command:cancel` from the hub. */
  cancel(commandId: string): void;
  /** Sends every result the hub has not acknowledged (after each hello). */
  flushOutbox(): Promise<void>;
  /** Agent shutdown: stops running commands and tries to hand their results over. */
  shutdown(): Promise<void>;
  runningCount(): number;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The agent's side of remote commands. Every command must be a JWS by the pinned hub key,
 * addressed to this agent, not expired, never seen before (its JWS id and command id are kept
 * for 24 h on disk, written before anything runs) and allowed by the local policy. Otherwise it
 * is refused with a reason. Results are written to disk before they are sent, and re-sent after
 * every reconnect until the hub acknowledges them.
 */
export function createCommandExecutor(options: CommandExecutorOptions): CommandExecutor {
  const { link, state, clock, logger } = options;
  const maxConcurrent = options.maxConcurrent ?? MAX_CONCURRENT_COMMANDS;
  const running = new Map<string, Running>();
  const delivering = new Set<string>();
  /** Results waiting to be sent again on this connection: their timer and current delay. */
  const retries = new Map<string, { timer: NodeJS.Timeout | null; delayMs: number }>();
  let shuttingDown = false;

  /** Sends the stored result again later while linked; a new connection's flushOutbox sends it anyway. */
  function retryLater(commandId: string): void {
    if (shuttingDown) return;
    const previous = retries.get(commandId);
    if (previous?.timer) return;
    const delayMs = previous ? Math.min(previous.delayMs * 2, RESULT_RETRY_MAX_MS) : RESULT_RETRY_MS;
    const entry: { timer: NodeJS.Timeout | null; delayMs: number } = { timer: null, delayMs };
    entry.timer = setTimeout(() => {
      entry.timer = null;
      const stored = state.result(commandId);
      if (!stored || !link.isLinked()) {
        retries.delete(commandId);
        return;
      }
      void deliver(stored);
    }, delayMs);
    entry.timer.unref();
    retries.set(commandId, entry);
  }

  function settled(commandId: string): void {
    const entry = retries.get(commandId);
    if (entry?.timer) clearTimeout(entry.timer);
    retries.delete(commandId);
  }

  function sendAck(ack: Omit<CommandAck, 'at'>): void {
    if (!link.isLinked()) return;
    link.request('command:ack', { ...ack, at: clock.now() }, ACK_TIMEOUT_MS).then(
      (answer) => {
        if (!answer.ok) logger.warn({ commandId: ack.commandId, code: answer.error.code, reason: answer.error.message }, 'hub refused a command acknowledgement');
      },
      (error: unknown) => logger.debug({ err: error, commandId: ack.commandId }, 'command acknowledgement not delivered'),
    );
  }

  /** Sends a stored result; true once the hub has it (or refused it for good). */
  async function deliver(result: CommandResult): Promise<boolean> {
    if (!link.isLinked() || delivering.has(result.commandId)) return false;
    delivering.add(result.commandId);
    try {
      if (result.data?.kind === 'screenshot') {
        const uploaded = await uploadImage(result.commandId, result.data);
        if (uploaded === 'missing') {
          result = { ...result, state: 'failed', data: null, stdout: '', error: 'the agent lost the screenshot before it could upload it' };
          state.saveResult(result);
        } else if (!uploaded) {
          retryLater(result.commandId);
          return false;
        }
      }
      const answer = await link.request('command:result', result, RESULT_ACK_TIMEOUT_MS);
      if (answer.ok) {
        settled(result.commandId);
        state.dropResult(result.commandId);
        logger.debug({ commandId: result.commandId, stored: answer.data.stored }, 'result acknowledged by the hub');
        return true;
      }
      if (FINAL_RESULT_REFUSALS.has(answer.error.code)) {
        logger.error({ commandId: result.commandId, code: answer.error.code, reason: answer.error.message }, 'hub refused a result for good; dropping it');
        settled(result.commandId);
        state.dropResult(result.commandId);
        return true;
      }
      logger.warn({ commandId: result.commandId, code: answer.error.code, reason: answer.error.message }, 'hub could not take a result; will send it again');
      retryLater(result.commandId);
      return false;
    } catch (error) {
      // Timeout or disconnect: the result stays on disk and goes again later on this connection or after the next hello.
      logger.debug({ err: error, commandId: result.commandId }, 'result not acknowledged; kept to send again');
      if (link.isLinked()) retryLater(result.commandId);
      return false;
    } finally {
      delivering.delete(result.commandId);
    }
  }

  /**
   * Uploads a screenshot in chunks before its result: resumable (the hub says how much it holds,
   * so a reconnect or a duplicate chunk costs nothing), one chunk in flight at a time so
   * heartbeats interleave. False when the hub could not take it now (tried again later).
   */
  async function uploadImage(commandId: string, data: ScreenshotData): Promise<boolean | 'missing'> {
    const png = state.image(commandId);
    if (!png || png.length !== data.bytes) return 'missing';
    let offset = 0;
    let stalls = 0;
    while (offset < png.length) {
      const answer = await link.request(
        'screenshot:upload',
        { commandId, total: png.length, sha256: data.sha256, offset, data: png.subarray(offset, offset + SCREENSHOT_CHUNK_BYTES) },
        RESULT_ACK_TIMEOUT_MS,
      );
      if (!answer.ok) {
        // Refused for good (not our command, or no longer wanted): the result goes anyway and
        // the hub's answer to it decides whether it is dropped.
        if (FINAL_RESULT_REFUSALS.has(answer.error.code)) return true;
        logger.warn({ commandId, code: answer.error.code, reason: answer.error.message }, 'hub could not take a screenshot chunk; will send it again');
        return false;
      }
      const next = Math.min(answer.data.received, png.length);
      stalls = next > offset ? 0 : stalls + 1;
      if (stalls > 3) {
        logger.warn({ commandId, offset, received: answer.data.received }, 'screenshot upload makes no progress; will try again later');
        return false;
      }
      offset = next;
    }
    return true;
  }

  function finish(commandId: string, outcome: RemoteOutcome, image?: Buffer): CommandResult {
    const result: CommandResult = { commandId, ...outcome };
    // The image first: a result on disk always has its image beside it.
    if (image && outcome.data?.kind === 'screenshot') state.saveImage(commandId, image);
    state.saveResult(result);
    state.clearRunning(commandId);
    logger.info({ commandId, state: result.state, exitCode: result.exitCode, error: result.error ?? undefined }, 'remote command finished');
    return result;
  }

  /** A refusal of a command that is genuinely ours: acknowledged, and answered durably. */
  function refuse(claims: CommandClaims, state_: 'refused' | 'expired', reason: string): void {
    logger.warn({ commandId: claims.commandId, jobId: claims.jobId, kind: claims.command.kind, reason }, 'refusing a remote command');
    sendAck({ commandId: claims.commandId, status: 'refused', reason });
    const now = clock.now();
    void deliver(finish(claims.commandId, plainOutcome({ state: state_, startedAt: null, endedAt: now, error: reason })));
  }

  /** Batches a command's output into chunks, keeping the order of stdout and stderr. */
  function outputStream(commandId: string) {
    let seq = 0;
    let pending: { stream: 'stdout' | 'stderr'; text: string } | null = null;
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      clearTimeout(timer);
      timer = undefined;
      const chunk = pending;
      pending = null;
      if (!chunk || !link.isLinked()) return;
      const message = { commandId, stream: chunk.stream, data: chunk.text, seq: seq++ };
      // Best effort: the result carries the whole (capped) output.
      link.request('command:output', message, ACK_TIMEOUT_MS).catch((error: unknown) => logger.debug({ err: error, commandId }, 'output chunk not delivered'));
    };
    return {
      push(stream: 'stdout' | 'stderr', text: string): void {
        if (pending && pending.stream !== stream) flush();
        pending = pending ? { stream, text: pending.text + text } : { stream, text };
        if (Buffer.byteLength(pending.text) >= OUTPUT_CHUNK_BYTES) flush();
        else timer ??= setTimeout(flush, OUTPUT_FLUSH_MS);
      },
      /** The command ended: output not yet sent goes with its result, which carries all of it. */
      close(): void {
        clearTimeout(timer);
        timer = undefined;
        pending = null;
      },
    };
  }

  async function withTimeout(work: (context: RemoteCommandContext) => Promise<RemoteOutcome>, context: RemoteCommandContext, controller: AbortController): Promise<RemoteOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<RemoteOutcome>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        const now = clock.now();
        resolve(plainOutcome({ state: 'timed_out', startedAt: now - context.timeoutMs, endedAt: now, error: `timed out after ${context.timeoutMs} ms` }));
      }, context.timeoutMs);
    });
    try {
      return await Promise.race([work(context), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function execute(claims: CommandClaims, controller: AbortController, acceptance: NodeJS.Timeout, traceparent: string | undefined): Promise<void> {
    const { commandId, command } = claims;
    const startedAt = clock.now();
    const stream = outputStream(commandId);
    const context: RemoteCommandContext = {
      commandId,
      timeoutMs: claims.timeoutMs,
      signal: controller.signal,
      onOutput: stream.push,
      onSpawn: (pid) => state.markRunning({ commandId, pid, startedAt }),
      clock,
      logger: logger.child({ commandId }),
      ...(traceparent ? { traceparent } : {}),
    };
    logger.info({ commandId, jobId: claims.jobId, kind: command.kind }, 'running a remote command');
    let outcome: RemoteOutcome;
    let after: 'restart' | 'stop' | null = null;
    /** agent_update swapped the build: the result comes from the next start (src/update/update-trial.ts). */
    let resultAfterRestart = false;
    let image: Buffer | undefined;
    try {
      switch (command.kind) {
        case 'shell':
          outcome = await options.handlers.shell(command, context);
          break;
        case 'metrics':
          outcome = await withTimeout((c) => options.handlers.metrics(c), context, controller);
          break;
        case 'processes':
          outcome = await withTimeout((c) => options.handlers.processes(command, c), context, controller);
          break;
        case 'docker_ps':
        case 'docker_restart':
        case 'docker_stop':
        case 'docker_start':
        case 'docker_logs':
        case 'docker_deploy':
        case 'docker_rm':
        case 'docker_update':
        case 'docker_pull':
        case 'docker_images':
        case 'docker_prune':
          outcome = await withTimeout((c) => options.handlers.docker(command, c), context, controller);
          break;
        case 'screenshot':
          outcome = await withTimeout(
            async (c) => {
              const { image: png, ...rest } = await options.handlers.screenshot(command, c);
              image = png;
              return rest;
            },
            context,
            controller,
          );
          break;
        case 'agent_update': {
          const update: UpdateOutcome = options.handlers.update
            ? await options.handlers.update(command, context)
            : { swapped: false, outcome: plainOutcome({ state: 'failed', startedAt, endedAt: clock.now(), error: 'this agent cannot update itself' }) };
          if (update.swapped) {
            resultAfterRestart = true;
            after = 'restart';
            context.onOutput('stdout', `${update.describe}\n`);
          }
          outcome = update.swapped ? plainOutcome({ state: 'succeeded', exitCode: 0, startedAt, endedAt: clock.now(), stdout: `${update.describe}\n` }) : update.outcome;
          break;
        }
        case 'network_ping': {
          const ping = options.handlers.networkPing;
          outcome = ping
            ? await withTimeout((c) => ping(command, c), context, controller)
            : plainOutcome({ state: 'failed', startedAt, endedAt: clock.now(), error: 'this agent cannot run network_ping' });
          break;
        }
        case 'restart':
        case 'stop':
          after = command.kind;
          outcome = plainOutcome({ state: 'succeeded', exitCode: 0, startedAt, endedAt: clock.now(), stdout: `${options.lifecycle.describe(command.kind)}\n` });
          break;
      }
    } catch (error) {
      logger.error({ err: error, commandId }, 'a remote command handler failed');
      outcome = plainOutcome({ state: 'failed', startedAt, endedAt: clock.now(), error: `the agent failed to run it: ${(error as Error).message}` });
    }
    clearTimeout(acceptance);
    stream.close();
    if (shuttingDown && (outcome.state === 'cancelled' || controller.signal.aborted) && outcome.state !== 'succeeded') {
      outcome = { ...outcome, state: 'failed', error: 'the agent stopped while the command ran; its process tree was killed' };
    }
    running.delete(commandId);
    if (resultAfterRestart) {
      // No result now: the new version answers once it connected, or the old one after a rollback.
      state.clearRunning(commandId);
      options.lifecycle.request('restart');
      return;
    }
    const result = finish(commandId, outcome, image);
    if (after === null) {
      void deliver(result);
      return;
    }
    // The result is on disk already; give the hub a moment to take it before the agent goes.
    await Promise.race([deliver(result), new Promise((resolve) => setTimeout(resolve, LIFECYCLE_DELIVERY_MS).unref())]);
    options.lifecycle.request(after);
  }

  // Commands that were running when a previous agent process died: say so, once.
  for (const marker of state.interrupted) {
    state.clearRunning(marker.commandId);
    if (state.result(marker.commandId)) continue;
    finish(
      marker.commandId,
      plainOutcome({
        state: 'failed',
        startedAt: marker.startedAt,
        endedAt: clock.now(),
        error: `the agent stopped while the command ran${marker.pid === null ? '' : ` (process ${marker.pid} may still be running)`}`,
      }),
    );
  }

  return {
    async run(payload) {
      const check = verifyCommandRun(payload, options.hubKey, options.agentId);
      if (!check.ok) {
        logger.warn({ commandId: check.claimedId, reason: check.reason }, 'refusing a command that is not from our hub for this agent');
        if (check.claimedId) sendAck({ commandId: check.claimedId, status: 'refused', reason: check.reason });
        return;
      }
      const claims = check.claims;
      if (state.hasJti(claims.jti)) {
        logger.warn({ commandId: claims.commandId, jti: claims.jti }, 'refusing a replayed command');
        sendAck({ commandId: claims.commandId, status: 'refused', reason: 'replayed: this signed command was already delivered once' });
        return;
      }
      if (state.hasCommand(claims.commandId)) {
        // The hub sends unfinished commands again after a reconnect: never run twice.
        logger.info({ commandId: claims.commandId }, 'command already received; not running it again');
        state.remember({ jti: claims.jti });
        sendAck({ commandId: claims.commandId, status: 'duplicate' });
        const held = state.result(claims.commandId);
        if (held) void deliver(held);
        return;
      }
      // Written before anything runs: a crash from here on can never lead to a second run.
      state.remember({ commandId: claims.commandId, jti: claims.jti });
      if (clock.now() >= claims.exp * 1000) {
        refuse(claims, 'expired', `the command expired at ${new Date(claims.exp * 1000).toISOString()}, before it reached this agent`);
        return;
      }
      if (shuttingDown) {
        refuse(claims, 'refused', 'the agent is stopping');
        return;
      }
      const policy = options.policy();
      if ('error' in policy) {
        refuse(claims, 'refused', `refused by agent policy: ${policy.error}`);
        return;
      }
      if (!policy.allows(claims.command.kind)) {
        refuse(claims, 'refused', `refused by agent policy: ${claims.command.kind} is not allowed here`);
        return;
      }
      if (running.size >= maxConcurrent) {
        refuse(claims, 'refused', `the agent is already running ${running.size} commands`);
        return;
      }
      // Marked before it starts, so a crash from here on is reported rather than forgotten.
      state.markRunning({ commandId: claims.commandId, pid: null, startedAt: clock.now() });
      const acceptance = setTimeout(() => sendAck({ commandId: claims.commandId, status: 'accepted' }), ACCEPTED_ACK_DELAY_MS);
      const controller = new AbortController();
      const done = execute(claims, controller, acceptance, payload.traceparent);
      running.set(claims.commandId, { controller, done });
      await done;
    },

    cancel(commandId) {
      const entry = running.get(commandId);
      if (!entry) {
        logger.debug({ commandId }, 'cancel for a command that is not running here');
        return;
      }
      logger.info({ commandId }, 'the hub cancelled a remote command');
      entry.controller.abort();
    },

    async flushOutbox() {
      for (const result of state.pendingResults()) {
        if (!link.isLinked()) return;
        await deliver(result);
      }
    },

    async shutdown() {
      shuttingDown = true;
      for (const commandId of [...retries.keys()]) settled(commandId);
      const pending = [...running.values()];
      for (const entry of pending) entry.controller.abort();
      await Promise.all(pending.map((entry) => entry.done));
      // One chance to hand the results over now; otherwise they go after the next start.
      await Promise.race([this.flushOutbox(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    },

    runningCount: () => running.size,
  };
}
