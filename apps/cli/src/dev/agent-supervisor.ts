import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** How to run the local agent of `farol dev` and how hard to try. */
export interface AgentSupervisorOptions {
  /** The Node binary (process.execPath). */
  execPath: string;
  /** apps/agent/dist/farol-agent.mjs */
  bundlePath: string;
  hubUrl: string;
  stateDir: string;
  env: Record<string, string | undefined>;
  /** Called before every start: a join token when the agent has no identity yet, else undefined. */
  joinToken: () => Promise<string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Rewrites each output line of the agent (its JSON log lines, made short); default as is. */
  formatLine?: (line: string) => string;
  now: () => number;
  /** Restarts allowed within `restartWindowMs` before giving up; default 5 per minute. */
  maxRestarts?: number;
  restartWindowMs?: number;
  restartDelayMs?: number;
  /** How long `stop` waits after SIGTERM before SIGKILL; default 5 s. */
  killTimeoutMs?: number;
}

/** A running local agent. */
export interface AgentSupervisor {
  /** SIGTERM, then SIGKILL after the kill timeout; resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL now (a second Ctrl-C). */
  kill(): void;
}

/**
 * Exit codes of `farol-agent` after which a restart cannot help: 2 is a wrong command line,
 * 3 means the hub refused this agent for good (deleted, key revoked), 4 that it was stopped remotely.
 */
const FINAL_EXIT_CODES = new Map([
  [2, 'its command line was refused'],
  [3, 'the hub refused it for good (removed or revoked); delete its state directory to enroll it again'],
  [4, 'it was stopped from the hub (farol agents stop)'],
]);

/**
 * Starts the agent as a child process, prefixes its output with `[agent]`, and restarts it when
 * it dies unexpectedly, at most `maxRestarts` times a minute so a crash loop does not spin.
 */
export function superviseAgent(options: AgentSupervisorOptions): AgentSupervisor {
  const maxRestarts = options.maxRestarts ?? 5;
  const restartWindowMs = options.restartWindowMs ?? 60_000;
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  const killTimeoutMs = options.killTimeoutMs ?? 5_000;
  const restarts: number[] = [];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let isStopping = false;
  let pendingTimer: NodeJS.Timeout | null = null;

  async function start(): Promise<void> {
    let token: string | undefined;
    try {
      token = await options.joinToken();
    } catch (error) {
      options.stderr(`farol: cannot create a join token for the local agent: ${(error as Error).message}\n`);
      if (!isStopping) pendingTimer = setTimeout(scheduleRestart, restartDelayMs);
      return;
    }
    if (isStopping) return;
    const args = [options.bundlePath, 'run', '--hub', options.hubUrl, '--state', options.stateDir];
    // The join token goes in the environment, not argv: any local user can read another
    // process's command line (ps, /proc/PID/cmdline), not its environment.
    const { FAROL_JOIN_TOKEN: _inherited, ...inherited } = options.env;
    let proc: ChildProcess;
    try {
      // FAROL_SUPERVISED: a remote `restart` exits for this supervisor to start it again,
      // rather than starting a second agent of its own.
      proc = spawn(options.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, FAROL_SUPERVISED: '1', ...(token ? { FAROL_JOIN_TOKEN: token } : {}) } });
    } catch (error) {
      options.stderr(`farol: cannot start the local agent: ${(error as Error).message}\n`);
      if (!isStopping) pendingTimer = setTimeout(scheduleRestart, restartDelayMs);
      return;
    }
    child = proc;
    const format = options.formatLine ?? ((line: string) => line);
    prefixLines(proc.stdout, options.stdout, format);
    prefixLines(proc.stderr, options.stderr, format);
    exited = new Promise<void>((resolve) => {
      let isSettled = false;
      const settle = (description: string, code: number | null) => {
        if (isSettled) return;
        isSettled = true;
        child = null;
        resolve();
        // Decided after the restart delay: on Ctrl-C the terminal signals the agent too, and it
        // may exit before this process has started stopping; by then `stop` has cancelled this.
        if (!isStopping) pendingTimer = setTimeout(() => afterExit(description, code), restartDelayMs);
      };
      proc.once('error', (error) => settle(`could not start: ${error.message}`, null));
      proc.once('exit', (code, signal) => settle(`exited (${signal ?? `code ${code}`})`, code));
    });
  }

  function afterExit(description: string, code: number | null): void {
    pendingTimer = null;
    const final = code === null ? undefined : FINAL_EXIT_CODES.get(code);
    if (final) {
      options.stderr(`farol: the local agent stopped: ${final}; not restarting it\n`);
      return;
    }
    options.stderr(`farol: the local agent ${description}\n`);
    scheduleRestart();
  }

  /** Starts again unless the agent already failed `maxRestarts` times within the window. */
  function scheduleRestart(): void {
    const now = options.now();
    while (restarts.length > 0 && restarts[0]! <= now - restartWindowMs) restarts.shift();
    if (restarts.length >= maxRestarts) {
      options.stderr(`farol: the local agent failed ${restarts.length + 1} times within a minute; not restarting it (the hub keeps running)\n`);
      return;
    }
    restarts.push(now);
    options.stderr('farol: restarting the local agent\n');
    void start();
  }

  void start();

  return {
    async stop() {
      isStopping = true;
      if (pendingTimer) clearTimeout(pendingTimer);
      const running = child;
      if (!running) return;
      running.kill('SIGTERM');
      const killTimer = setTimeout(() => running.kill('SIGKILL'), killTimeoutMs);
      await exited;
      clearTimeout(killTimer);
    },
    kill() {
      isStopping = true;
      if (pendingTimer) clearTimeout(pendingTimer);
      child?.kill('SIGKILL');
    },
  };
}

function prefixLines(stream: Readable | null, write: (text: string) => void, format: (line: string) => string): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => write(`[agent] ${format(line)}\n`));
}
