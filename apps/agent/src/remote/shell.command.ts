import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { MAX_OUTPUT_BYTES, type ShellCommand } from '@farol/protocol';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from './remote-command.js';

/** After SIGTERM, how long the process tree has before SIGKILL. */
export const KILL_GRACE_MS = 2_000;
/** After the main process exits, how long its pipes may stay open (a background child holding them). */
const PIPE_DRAIN_MS = 250;

/** Output kept up to MAX_OUTPUT_BYTES, cut on a character boundary. */
class CappedText {
  text = '';
  bytes = 0;
  truncated = false;
  /** Appends what fits; returns the part kept (to stream), '' once full. */
  append(chunk: string): string {
    if (this.truncated || chunk === '') return '';
    const size = Buffer.byteLength(chunk);
    if (this.bytes + size <= MAX_OUTPUT_BYTES) {
      this.text += chunk;
      this.bytes += size;
      return chunk;
    }
    let kept = Buffer.from(chunk).subarray(0, MAX_OUTPUT_BYTES - this.bytes).toString('utf8');
    while (Buffer.byteLength(kept) > MAX_OUTPUT_BYTES - this.bytes) kept = kept.slice(0, -1);
    this.text += kept;
    this.bytes += Buffer.byteLength(kept);
    this.truncated = true;
    return kept;
  }
}

/**
 * The environment of a remote command: the agent's, without its own FAROL_* settings (a join
 * token may be among them), plus the variables the command asks for.
 */
export function commandEnvironment(base: NodeJS.ProcessEnv, extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) if (!key.startsWith('FAROL_')) env[key] = value;
  return { ...env, ...extra };
}

/**
 * The program and arguments to start. An argv is passed to exec as is: no shell ever parses it,
 * so `;`, `$(...)`, backticks and newlines arrive as literal characters. A script goes to the
 * platform shell only because the operator asked for one (`shell: true`).
 */
export function spawnPlan(command: ShellCommand, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): { file: string; args: string[]; verbatim: boolean } {
  if ('script' in command) {
    if (platform === 'win32') return { file: env.ComSpec ?? 'cmd.exe', args: ['/d', '/s', '/c', `"${command.script}"`], verbatim: true };
    return { file: '/bin/sh', args: ['-c', command.script], verbatim: false };
  }
  const [file, ...args] = command.argv;
  return { file: file!, args, verbatim: false };
}

/** Signals the whole process tree: the process group on POSIX (it was spawned detached), taskkill /T on Windows. */
export function killTree(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): void {
  const pid = child.pid;
  if (pid === undefined) return;
  if (process.platform === 'win32') {
    spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on('error', () => child.kill(signal));
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: every process of the group has already exited, which is what we wanted.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Runs a `shell` command; never throws: every failure is an outcome. */
export function runShellCommand(command: ShellCommand, context: RemoteCommandContext, baseEnv: NodeJS.ProcessEnv = process.env): Promise<RemoteOutcome> {
  const startedAt = context.clock.now();
  const fail = (error: string): RemoteOutcome => plainOutcome({ state: 'failed', startedAt, endedAt: context.clock.now(), error });
  if (command.cwd !== undefined) {
    let isDirectory = false;
    try {
      isDirectory = statSync(command.cwd).isDirectory();
    } catch (error) {
      return Promise.resolve(fail(`the working directory ${command.cwd} cannot be used (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`));
    }
    if (!isDirectory) return Promise.resolve(fail(`the working directory ${command.cwd} is not a directory`));
  }
  const plan = spawnPlan(command);
  let child: ChildProcess;
  try {
    child = spawn(plan.file, plan.args, {
      cwd: command.cwd,
      // TRACEPARENT (the OpenTelemetry environment carrier): a traced program it starts joins the hub's trace.
      env: commandEnvironment(baseEnv, context.traceparent ? { TRACEPARENT: context.traceparent, ...command.env } : command.env),
      shell: false,
      // Its own process group, so a timeout or cancel reaches every process it started.
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      windowsVerbatimArguments: plan.verbatim,
    });
  } catch (error) {
    return Promise.resolve(fail(`cannot start ${plan.file}: ${(error as Error).message}`));
  }

  return new Promise<RemoteOutcome>((resolve) => {
    const out = { stdout: new CappedText(), stderr: new CappedText() };
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    let stoppedAs: 'timed_out' | 'cancelled' | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let spawnError: NodeJS.ErrnoException | null = null;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let settled = false;

    const take = (stream: 'stdout' | 'stderr', text: string): void => {
      const kept = out[stream].append(text);
      if (kept !== '') context.onOutput(stream, kept);
    };
    child.stdout!.on('data', (chunk: Buffer) => take('stdout', decoders.stdout.write(chunk)));
    child.stderr!.on('data', (chunk: Buffer) => take('stderr', decoders.stderr.write(chunk)));

    const stop = (as: 'timed_out' | 'cancelled'): void => {
      if (stoppedAs !== null || exit !== null) return;
      stoppedAs = as;
      context.logger.info({ commandId: context.commandId, pid: child.pid, as }, 'stopping a remote command and its process tree');
      killTree(child, 'SIGTERM');
      // Runs even after the main process exits: its children may ignore SIGTERM.
      killTimer = setTimeout(() => killTree(child, 'SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const timeout = setTimeout(() => stop('timed_out'), context.timeoutMs);
    const onAbort = (): void => stop('cancelled');
    context.signal.addEventListener('abort', onAbort, { once: true });
    if (context.signal.aborted) onAbort();

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      context.signal.removeEventListener('abort', onAbort);
      take('stdout', decoders.stdout.end());
      take('stderr', decoders.stderr.end());
      const endedAt = context.clock.now();
      const common = {
        stdout: out.stdout.text,
        stderr: out.stderr.text,
        stdoutTruncated: out.stdout.truncated,
        stderrTruncated: out.stderr.truncated,
        startedAt,
        endedAt,
      };
      if (spawnError) {
        const reason = spawnError.code === 'ENOENT' ? 'no such program' : spawnError.code === 'EACCES' ? 'permission denied' : spawnError.message;
        resolve(plainOutcome({ ...common, state: 'failed', error: `cannot run ${JSON.stringify(plan.file)}: ${reason}` }));
        return;
      }
      const code = exit?.code ?? null;
      const signal = exit?.signal ?? null;
      if (stoppedAs !== null) {
        const why = stoppedAs === 'timed_out' ? `timed out after ${context.timeoutMs} ms; its process tree was killed` : 'cancelled; its process tree was killed';
        resolve(plainOutcome({ ...common, state: stoppedAs, exitCode: code, signal, error: why }));
        return;
      }
      if (code === 0) resolve(plainOutcome({ ...common, state: 'succeeded', exitCode: 0 }));
      else resolve(plainOutcome({ ...common, state: 'failed', exitCode: code, signal, error: signal ? `killed by ${signal}` : `exited with code ${code}` }));
    };

    child.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
      finish();
    });
    child.once('spawn', () => {
      if (child.pid !== undefined) context.onSpawn?.(child.pid);
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // Normally 'close' follows at once; a background child that keeps the pipes open must not
      // hold the result until the timeout.
      const drain = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, PIPE_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(drain);
        finish();
      });
    });
  });
}
