import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import {
  MAX_TERMINAL_CHUNK_BYTES,
  TERMINAL_OUTPUT_BATCH_BYTES,
  TERMINAL_OUTPUT_BATCH_MS,
  TERMINAL_OUTPUT_WINDOW_BYTES,
  type TerminalCloseReason,
  type TerminalInput,
  type TerminalOpen,
  type TerminalOpened,
  type TerminalRefusal,
  type TerminalResize,
} from '@farol/protocol';
import type { HubLink } from '../hub-link/hub-link.client.js';
import type { Logger } from '../logging/logger.js';
import type { CommandStateRepository } from '../remote/command-state.repository.js';
import type { Policy } from '../remote/policy.schema.js';
import type { Clock } from '../runtime/clock.js';
import { killTreeWindows, signalAll, terminalProcesses } from './process-tree.js';
import { loadPty, type Pty, type PtyLoad } from './pty-loader.js';
import { verifyTerminalToken } from './terminal-token.js';

/** Sessions at once on this machine, and how long one may go without input; defaults of the agent config. */
export const DEFAULT_TERMINAL_MAX_SESSIONS = 8;
export const DEFAULT_TERMINAL_IDLE_TIMEOUT_MS = 30 * 60_000;
/** Clock skew tolerated on the opening's expiry. */
const EXPIRY_SKEW_MS = 30_000;
const ANSWER_TIMEOUT_MS = 10_000;
/** The hub acknowledges output once the operator has it; a screen that stops reading holds the shell, not memory. */
const OUTPUT_ACK_TIMEOUT_MS = 120_000;
/** After SIGHUP/SIGTERM, what is still alive gets SIGKILL this much later. */
const KILL_GRACE_MS = 2_000;
/** The shell has exited; output still in the PTY is read until it has been quiet this long (at most `DRAIN_MAX_MS`). */
const DRAIN_QUIET_MS = 30;
const DRAIN_MAX_MS = 1_000;

export interface TerminalServiceOptions {
  agentId: string;
  /** The hub key pinned at enrollment. */
  hubKey: KeyObject;
  link: Pick<HubLink, 'isLinked' | 'request'>;
  /** Where JWS ids are remembered (the command memory): a replayed opening is refused. */
  seen: Pick<CommandStateRepository, 'hasJti' | 'remember'>;
  /** Read at every opening: the local policy file the hub cannot change. */
  policy: () => Policy | { error: string };
  maxSessions: number;
  idleTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** The program to start; default the user's login shell (cmd.exe or PowerShell on Windows). */
  shell?: { file: string; args: string[] };
  /** Environment of the shell; default the agent's, without FAROL_* variables. */
  env?: NodeJS.ProcessEnv;
  /** Test seam: node-pty, or why it is missing. */
  loadPty?: () => PtyLoad;
}

/** Interactive shells the hub opens on this machine. */
export interface TerminalService {
  /** A `terminal:open`; resolves once the hub has been answered. */
  open(payload: TerminalOpen): Promise<void>;
  input(payload: TerminalInput): void;
  resize(payload: TerminalResize): void;
  /** The operator closed it (`terminal:close`); resolves once the shell is gone. */
  close(sessionId: string): Promise<void>;
  /** Ends every session (hub link lost, agent stopping). */
  closeAll(reason: TerminalCloseReason): Promise<void>;
  count(): number;
}

interface Session {
  id: string;
  pty: Pty;
  pid: number;
  seq: number;
  pending: Buffer[];
  pendingBytes: number;
  flushTimer: NodeJS.Timeout | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** Output sent and not yet acknowledged: past the window the PTY is not read. */
  inFlight: number;
  paused: boolean;
  lastData: number;
  ending: Promise<void> | null;
  exit: Promise<{ exitCode: number; signal: number | undefined }>;
}

/** The user's login shell: $SHELL or the passwd entry, `-l`; cmd.exe (ComSpec) on Windows. */
export function defaultShell(env: NodeJS.ProcessEnv): { file: string; args: string[] } {
  if (process.platform === 'win32') return { file: env.ComSpec ?? 'cmd.exe', args: [] };
  let fromPasswd: string | null = null;
  try {
    fromPasswd = os.userInfo().shell;
  } catch (error) {
    // No passwd entry (a container running as an arbitrary uid): $SHELL or /bin/sh will do.
    if (!(error instanceof Error)) throw error;
  }
  return { file: env.SHELL || fromPasswd || '/bin/sh', args: ['-l'] };
}

function shellEnvironment(base: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  // The agent's own settings (join token, state dir) are none of the shell's business.
  for (const [key, value] of Object.entries(base)) if (value !== undefined && !key.startsWith('FAROL_')) env[key] = value;
  env.TERM = 'xterm-256color';
  env.COLORTERM = 'truecolor';
  return env;
}

/**
 * The agent's side of interactive terminals. An opening must be a JWS by the pinned hub key,
 * for this agent, unexpired and never seen before, allowed by the local policy (`terminal`) and
 * within the session cap; then a real PTY runs the login shell. Output is batched (16 KiB or
 * 16 ms) and flow-controlled: at most `TERMINAL_OUTPUT_WINDOW_BYTES` unacknowledged per
 * session, after which the PTY is paused and the shell blocks on its writes.
 */
export function createTerminalService(options: TerminalServiceOptions): TerminalService {
  const { link, clock, logger } = options;
  const sessions = new Map<string, Session>();
  const load = options.loadPty ?? loadPty;

  function answer(opened: TerminalOpened): Promise<void> {
    if (!link.isLinked()) return Promise.resolve();
    return link.request('terminal:opened', opened, ANSWER_TIMEOUT_MS).then(
      (ack) => {
        if (!ack.ok) logger.warn({ sessionId: opened.sessionId, code: ack.error.code, reason: ack.error.message }, 'hub refused a terminal answer');
      },
      (error: unknown) => logger.warn({ err: error, sessionId: opened.sessionId }, 'terminal answer not delivered'),
    );
  }

  function refuse(sessionId: string, refusal: TerminalRefusal, message: string): Promise<void> {
    logger.warn({ sessionId, refusal, reason: message }, 'refusing a terminal');
    return answer({ sessionId, status: 'refused', refusal, message });
  }

  function release(session: Session, bytes: number): void {
    session.inFlight -= bytes;
    if (session.paused && session.inFlight <= TERMINAL_OUTPUT_WINDOW_BYTES / 2 && !session.ending) {
      session.paused = false;
      session.pty.resume();
    }
  }

  function sendOutput(session: Session, data: Buffer): void {
    if (!link.isLinked()) return;
    session.inFlight += data.byteLength;
    if (!session.paused && session.inFlight >= TERMINAL_OUTPUT_WINDOW_BYTES) {
      session.paused = true;
      session.pty.pause();
    }
    link
      .request('terminal:output', { sessionId: session.id, seq: session.seq++, data }, OUTPUT_ACK_TIMEOUT_MS)
      .then(
        (ack) => {
          // The hub no longer knows the session (it ended there): end it here too.
          if (!ack.ok && ack.error.code === 'not_found') void end(session, 'closed', null);
        },
        (error: unknown) => logger.debug({ err: error, sessionId: session.id }, 'terminal output not acknowledged'),
      )
      .finally(() => release(session, data.byteLength));
  }

  function flush(session: Session): void {
    clearTimeout(session.flushTimer);
    session.flushTimer = undefined;
    if (session.pendingBytes === 0) return;
    const data = Buffer.concat(session.pending, session.pendingBytes);
    session.pending = [];
    session.pendingBytes = 0;
    for (let offset = 0; offset < data.byteLength; offset += MAX_TERMINAL_CHUNK_BYTES) {
      sendOutput(session, data.subarray(offset, offset + MAX_TERMINAL_CHUNK_BYTES));
    }
  }

  function armIdle(session: Session): void {
    clearTimeout(session.idleTimer);
    session.idleTimer = setTimeout(() => void end(session, 'idle_timeout', `no input for ${Math.round(options.idleTimeoutMs / 1000)} s`), options.idleTimeoutMs);
    session.idleTimer.unref();
  }

  async function killTree(session: Session): Promise<void> {
    if (process.platform === 'win32') {
      killTreeWindows(session.pid, (error) => logger.warn({ err: error, sessionId: session.id }, 'taskkill failed'));
      session.pty.kill();
      return;
    }
    const members = terminalProcesses(session.pid);
    // SIGHUP is what a closing terminal means to a shell; it passes it on to its jobs.
    signalAll([session.pid], 'SIGHUP');
    signalAll(members, 'SIGHUP');
    signalAll(members, 'SIGTERM');
    const deadline = clock.now() + KILL_GRACE_MS;
    let alive = [session.pid, ...members];
    while (alive.length > 0 && clock.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      alive = signalAll(alive, 0);
    }
    signalAll([...alive, ...terminalProcesses(session.pid)], 'SIGKILL');
  }

  /** Waits until the PTY has been quiet for a moment after the shell exited, so no output is lost. */
  async function drain(session: Session): Promise<void> {
    const deadline = clock.now() + DRAIN_MAX_MS;
    while (clock.now() - session.lastData < DRAIN_QUIET_MS && clock.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_QUIET_MS));
    }
  }

  function end(session: Session, reason: TerminalCloseReason, message: string | null): Promise<void> {
    session.ending ??= (async () => {
      clearTimeout(session.idleTimer);
      let exited: { exitCode: number; signal: number | undefined } | null = null;
      if (reason === 'exited') {
        exited = await session.exit;
        await drain(session);
        // Background jobs the shell left behind die with the session (Linux knows the session;
        // by parent they can no longer be found, and the shell's pid may already be reused).
        if (process.platform === 'linux') signalAll(terminalProcesses(session.pid, { descendants: false }), 'SIGKILL');
      } else {
        await killTree(session);
        exited = await Promise.race([session.exit, new Promise<null>((resolve) => setTimeout(() => resolve(null), KILL_GRACE_MS).unref())]);
      }
      flush(session);
      sessions.delete(session.id);
      logger.info({ sessionId: session.id, reason, exitCode: exited?.exitCode }, 'terminal closed');
      if (!link.isLinked()) return;
      const exitCode = reason === 'exited' && exited ? exited.exitCode : null;
      const signal = reason === 'exited' && exited?.signal ? signalName(exited.signal) : null;
      await link
        .request('terminal:exit', { sessionId: session.id, reason, exitCode, signal, message }, ANSWER_TIMEOUT_MS)
        .then(
          (ack) => {
            if (!ack.ok && ack.error.code !== 'not_found') logger.warn({ sessionId: session.id, code: ack.error.code }, 'hub refused a terminal exit');
          },
          (error: unknown) => logger.debug({ err: error, sessionId: session.id }, 'terminal exit not delivered'),
        );
    })();
    return session.ending;
  }

  return {
    async open({ token }) {
      const check = verifyTerminalToken(token, options.hubKey, options.agentId);
      if (!check.ok) {
        logger.warn({ sessionId: check.claimedId, reason: check.reason }, 'refusing a terminal opening');
        if (check.claimedId) await answer({ sessionId: check.claimedId, status: 'refused', refusal: 'invalid', message: check.reason });
        return;
      }
      const { claims } = check;
      if (options.seen.hasJti(claims.jti)) return refuse(claims.sessionId, 'invalid', 'the signed opening was already used (a replay)');
      options.seen.remember({ jti: claims.jti });
      if (claims.exp * 1000 + EXPIRY_SKEW_MS < clock.now()) return refuse(claims.sessionId, 'invalid', 'the signed opening has expired');
      if (sessions.has(claims.sessionId)) return refuse(claims.sessionId, 'invalid', 'this session is already open');
      const policy = options.policy();
      if ('error' in policy) return refuse(claims.sessionId, 'policy', policy.error);
      if (!policy.allows('terminal')) return refuse(claims.sessionId, 'policy', 'refused by agent policy: terminal is not allowed here');
      if (sessions.size >= options.maxSessions) {
        return refuse(claims.sessionId, 'limit', `this machine already runs ${sessions.size} terminal sessions, its cap (--terminal-max-sessions)`);
      }
      const loaded = load();
      if (!loaded.ok) return refuse(claims.sessionId, 'unavailable', loaded.message);

      const shell = options.shell ?? defaultShell(options.env ?? process.env);
      let pty: Pty;
      try {
        pty = loaded.pty.spawn(shell.file, shell.args, {
          name: 'xterm-256color',
          cols: claims.cols,
          rows: claims.rows,
          cwd: os.homedir(),
          env: shellEnvironment(options.env ?? process.env),
          encoding: null,
        });
      } catch (error) {
        return refuse(claims.sessionId, 'failed', `could not start ${shell.file}: ${(error as Error).message}`);
      }
      let resolveExit!: (value: { exitCode: number; signal: number | undefined }) => void;
      const session: Session = {
        id: claims.sessionId,
        pty,
        pid: pty.pid,
        seq: 0,
        pending: [],
        pendingBytes: 0,
        flushTimer: undefined,
        idleTimer: undefined,
        inFlight: 0,
        paused: false,
        lastData: clock.now(),
        ending: null,
        exit: new Promise((resolve) => (resolveExit = resolve)),
      };
      sessions.set(session.id, session);
      logger.info({ sessionId: session.id, actor: claims.actor, shell: shell.file, pid: pty.pid }, 'terminal opened');
      // Emitted now, before any output (the socket keeps order); the listeners below must be in
      // place before this turn ends, or the first output (the prompt) would be dropped.
      const answered = answer({ sessionId: session.id, status: 'opened', shell: [shell.file, ...shell.args].join(' '), pid: pty.pid });
      armIdle(session);
      pty.onData((chunk: string | Buffer) => {
        const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        session.lastData = clock.now();
        session.pending.push(data);
        session.pendingBytes += data.byteLength;
        if (session.pendingBytes >= TERMINAL_OUTPUT_BATCH_BYTES) flush(session);
        else session.flushTimer ??= setTimeout(() => flush(session), TERMINAL_OUTPUT_BATCH_MS);
      });
      pty.onExit(({ exitCode, signal }) => {
        resolveExit({ exitCode, signal });
        void end(session, 'exited', null);
      });
      await answered;
    },

    input({ sessionId, data }) {
      const session = sessions.get(sessionId);
      if (!session || session.ending) return;
      armIdle(session);
      session.pty.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    },

    resize({ sessionId, cols, rows }) {
      const session = sessions.get(sessionId);
      if (!session || session.ending) return;
      try {
        session.pty.resize(cols, rows);
      } catch (error) {
        // The shell exited between the message and now: its exit is on its way to the hub.
        logger.debug({ err: error, sessionId }, 'resize of a finished terminal');
      }
    },

    async close(sessionId) {
      const session = sessions.get(sessionId);
      if (session) await end(session, 'closed', null);
    },

    async closeAll(reason) {
      await Promise.all([...sessions.values()].map((session) => end(session, reason, null)));
    },

    count: () => sessions.size,
  };
}

function signalName(signal: number): string | null {
  for (const [name, value] of Object.entries(os.constants.signals)) if (value === signal) return name;
  return null;
}
