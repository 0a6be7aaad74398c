import { connectUi, FarolApiError, onUiEvent, watchJob, type FarolClient, type UiSocket } from '@farol/client';
import {
  describeCommand,
  isFinalTargetState,
  parseDuration,
  parseLabelSelector,
  type Command as RemoteCommand,
  type Job,
  type JobTarget,
  type JobTargets,
} from '@farol/protocol';
import { Command, InvalidArgumentError } from 'commander';
import { CliError, ExitRequest, UsageError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, plural } from '../output/format.js';
import { allSucceeded, describeOutcome, formatCounts } from '../output/jobs.js';
import { collect, connectionOptionsOf, withConnectionOptions } from '../options.js';

/** How often the job is read back while waiting (events may be missed across a reconnect). */
const POLL_MS = 2_000;
/**
 * Exit code of `farol exec` when the hub went away mid-job (issue #12): 255, as ssh does for
 * its own failures, so scripts can tell "the hub died" from "the command failed" (a remote
 * command that itself exits 255 on one machine looks the same; the message on stderr differs).
 */
export const EXIT_HUB_GONE = 255;
/** How long a hub that stopped answering mid-job gets to come back (a restart) before exec gives up. */
export const HUB_GONE_GRACE_MS = 15_000;
const SOCKET_CONNECT_TIMEOUT_MS = 5_000;

/** `web-1`, `web-1,web-2`, `role=gpu,env!=dev` or `all`, as the job's targets. */
export function parseSelector(text: string): JobTargets {
  const trimmed = text.trim();
  if (trimmed === 'all') return { all: true };
  if (trimmed.includes('=')) {
    try {
      parseLabelSelector(trimmed);
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
    return { selector: trimmed };
  }
  const names = trimmed.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('give the machines: a name, names separated by commas, a label selector such as role=gpu, or all');
  return { agents: [...new Set(names)] };
}

/** Commander parser for `30s`, `5m`, `1h`. */
export function parseDurationOption(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    // parseDuration's message names the text only; this one says what would work.
    throw new InvalidArgumentError(`"${text}" is not a duration: use 500ms, 30s, 5m or 1h`);
  }
}

interface ExecOptions {
  shell?: string;
  cwd?: string;
  env?: string[];
  timeout?: number;
  ttl?: number;
  secret?: string[];
}

function buildCommand(args: string[], options: ExecOptions): RemoteCommand {
  const env = options.env?.length
    ? Object.fromEntries(
        options.env.map((assignment) => {
          const at = assignment.indexOf('=');
          if (at <= 0) throw new UsageError(`--env ${assignment}: use NAME=value`);
          return [assignment.slice(0, at), assignment.slice(at + 1)];
        }),
      )
    : undefined;
  for (const name of options.secret ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) throw new UsageError(`--secret ${name}: give a secret's name (see farol secrets ls)`);
  }
  const secrets = options.secret?.length ? [...new Set(options.secret)] : undefined;
  const common = { ...(options.cwd ? { cwd: options.cwd } : {}), ...(env ? { env } : {}), ...(secrets ? { secrets } : {}) };
  if (options.shell !== undefined) {
    if (args.length > 0) throw new UsageError('give either --shell SCRIPT or -- COMMAND ARGS, not both');
    return { kind: 'shell', shell: true, script: options.shell, ...common };
  }
  if (args.length === 0) throw new UsageError('nothing to run: farol exec SELECTOR -- COMMAND ARGS... (or --shell SCRIPT)');
  return { kind: 'shell', argv: args, ...common };
}

/** Streams one job's output to the terminal, each line prefixed with its machine's name. */
class JobPrinter {
  private readonly targets = new Map<string, { name: string; done: boolean; lastSeq: number; printed: Record<'stdout' | 'stderr', number>; partial: Record<'stdout' | 'stderr', string> }>();
  private readonly width: number;
  finished = 0;

  constructor(
    private readonly context: CliContext,
    job: Job,
  ) {
    this.width = Math.max(...job.targets.map((t) => t.agentName.length));
    for (const t of job.targets) {
      this.targets.set(t.commandId, { name: t.agentName, done: false, lastSeq: -1, printed: { stdout: 0, stderr: 0 }, partial: { stdout: '', stderr: '' } });
    }
  }

  get total(): number {
    return this.targets.size;
  }

  /** Output as it streams; chunks at or below a target's last seen seq are duplicates. */
  chunk(commandId: string, stream: 'stdout' | 'stderr', data: string, seq: number): void {
    const target = this.targets.get(commandId);
    if (!target || target.done || seq <= target.lastSeq) return;
    target.lastSeq = seq;
    this.write(commandId, stream, data);
  }

  /** Output already in a snapshot (the watch answer). */
  snapshot(target: JobTarget, seq: number | undefined): void {
    const entry = this.targets.get(target.commandId);
    if (!entry) return;
    if (isFinalTargetState(target.state)) {
      this.finish(target);
      return;
    }
    if (seq !== undefined) entry.lastSeq = seq;
    this.write(target.commandId, 'stdout', target.stdout.slice(entry.printed.stdout));
    this.write(target.commandId, 'stderr', target.stderr.slice(entry.printed.stderr));
  }

  /** A target is final: print what streaming missed, the last partial line, and its outcome. */
  finish(target: JobTarget): void {
    const entry = this.targets.get(target.commandId);
    if (!entry || entry.done) return;
    this.write(target.commandId, 'stdout', target.stdout.slice(entry.printed.stdout));
    this.write(target.commandId, 'stderr', target.stderr.slice(entry.printed.stderr));
    for (const stream of ['stdout', 'stderr'] as const) {
      if (entry.partial[stream] !== '') this.line(entry.name, stream, entry.partial[stream]);
      entry.partial[stream] = '';
    }
    if (target.stdoutTruncated || target.stderrTruncated) this.line(entry.name, 'stderr', '[output cut at 64 KiB]');
    if (target.data) this.line(entry.name, 'stdout', JSON.stringify(target.data));
    entry.done = true;
    this.finished++;
    this.context.stderr(`[${this.finished}/${this.total} done] ${entry.name}: ${describeOutcome(target)}\n`);
  }

  private write(commandId: string, stream: 'stdout' | 'stderr', text: string): void {
    const entry = this.targets.get(commandId)!;
    if (text === '') return;
    entry.printed[stream] += text.length;
    const lines = (entry.partial[stream] + text).split('\n');
    entry.partial[stream] = lines.pop()!;
    for (const line of lines) this.line(entry.name, stream, line);
  }

  private line(name: string, stream: 'stdout' | 'stderr', text: string): void {
    const prefixed = `${name.padEnd(this.width)} | ${text}\n`;
    if (stream === 'stdout') this.context.stdout(prefixed);
    else this.context.stderr(prefixed);
  }
}

function waitConnected(socket: UiSocket): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), SOCKET_CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('connect_error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Follows a job until every target is final; returns the final job. */
async function follow(context: CliContext, client: FarolClient, job: Job, printer: JobPrinter | null, socket: UiSocket | null, stopped: () => boolean): Promise<Job> {
  let current = job;
  const unsubscribe: Array<() => void> = [];
  // Woken early when the events say every target is final; the poll confirms it.
  let wake: (() => void) | null = null;
  const finished = (): void => {
    if (printer && printer.finished === printer.total) wake?.();
  };
  if (printer && socket) {
    // Events that arrive before the watch answer are applied after it (duplicates are skipped by seq).
    let ready = false;
    const early: Array<() => void> = [];
    const whenReady = (apply: () => void): void => (ready ? apply() : void early.push(apply));
    const onInvalid = (event: string, error: Error): void => context.stderr(`farol: ignoring an invalid ${event} event (${error.message})\n`);
    unsubscribe.push(
      onUiEvent(socket, 'job:output', (event) => event.jobId === job.id && whenReady(() => printer.chunk(event.commandId, event.stream, event.data, event.seq)), onInvalid),
      onUiEvent(
        socket,
        'job:target',
        (event) =>
          event.jobId === job.id &&
          isFinalTargetState(event.target.state) &&
          whenReady(() => {
            printer.finish(event.target);
            finished();
          }),
        onInvalid,
      ),
    );
    try {
      const snapshot = await watchJob(socket, job.id);
      for (const target of snapshot.job.targets) printer.snapshot(target, snapshot.outputSeq[target.commandId]);
    } catch (error) {
      // Live output is a convenience; results still come from the polls below.
      context.stderr(`farol: live output unavailable (${(error as Error).message}); showing each machine's output when it finishes\n`);
    }
    ready = true;
    for (const apply of early.splice(0)) apply();
  }
  try {
    while (current.state !== 'done' && !stopped()) {
      const allFinal = printer !== null && printer.finished === printer.total;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, allFinal ? 100 : printer && socket ? POLL_MS : 500);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      current = await pollJob(context, client, job.id);
      if (printer) for (const target of current.targets) if (isFinalTargetState(target.state)) printer.finish(target);
    }
  } finally {
    unsubscribe.forEach((off) => off());
  }
  return current;
}

/**
 * One poll of the job. A hub that stops answering (down, restarting, a proxy's 502-504) is
 * tried again every second for HUB_GONE_GRACE_MS, then exec ends with EXIT_HUB_GONE.
 */
async function pollJob(context: CliContext, client: FarolClient, jobId: string): Promise<Job> {
  const deadline = Date.now() + HUB_GONE_GRACE_MS;
  let told = false;
  for (;;) {
    try {
      return await client.getJob(jobId);
    } catch (error) {
      const gone = error instanceof FarolApiError && (error.isNetworkFailure || [502, 503, 504].includes(error.status));
      if (!gone) throw error;
      if (Date.now() >= deadline) {
        throw new CliError(
          `the hub went away while job ${jobId} was running (${error.detail ?? error.message}); the machines may still finish it: see \`farol jobs show ${jobId}\` once the hub is back`,
          { exitCode: EXIT_HUB_GONE, cause: error },
        );
      }
      if (!told) context.stderr(`farol: lost the hub (${error.detail ?? error.message}); waiting up to ${HUB_GONE_GRACE_MS / 1000} s for it to come back\n`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/**
 * The exit code of `farol exec` (#21), as its help and the README say: 0 when every machine
 * succeeded; on ONE machine, the remote command's own exit code when it ran and exited non-zero
 * (1 when it never got to exit: timed out, refused, cancelled, expired); on several machines, 1
 * when any of them did not succeed (their outcomes are in the output and in farol jobs show).
 * 2 is a wrong command line and 130 a second Ctrl-C, as for every farol command.
 */
export function execExitCode(job: Pick<Job, 'total' | 'counts' | 'targets'>): number {
  if (allSucceeded(job)) return 0;
  const only = job.targets.length === 1 ? job.targets[0]! : null;
  if (only?.state === 'failed' && only.exitCode !== null && only.exitCode > 0 && only.exitCode < 256) return only.exitCode;
  return 1;
}

/** `farol exec SELECTOR -- CMD ARGS...`: runs a command on many machines and streams their output. */
export function createExecCommand(context: CliContext): Command {
  const command = new Command('exec')
    .description('run a command on machines and stream their output, each line prefixed with the machine name')
    .argument('<selector>', 'a name, names separated by commas, a label selector (role=gpu,env!=dev), or all')
    .argument('[command...]', 'the program and its arguments, after --; passed as is, never through a shell')
    .option('--shell <script>', 'run SCRIPT with the machine\'s shell (/bin/sh -c, cmd.exe /c) instead')
    .option('--cwd <dir>', 'working directory on the machines')
    .option('--env <NAME=value>', 'an environment variable for the command (repeat)', collect)
    .option('--secret <NAME>', 'pass the hub secret NAME as the environment variable NAME (repeat); it must be scoped to every machine', collect)
    .option('--timeout <duration>', 'per machine, e.g. 30s (default 60s)', parseDurationOption)
    .option('--ttl <duration>', 'offline machines may still run it when they return within this, e.g. 5m (default 5m)', parseDurationOption)
    .usage('[options] <selector> -- <command> [args...]')
    .addHelpText(
      'after',
      '\nExit code: 0 when every machine succeeded. On one machine, the remote command\'s own exit code\n' +
        '(1 if it never exited: timed out, refused, cancelled, expired). On several machines, 1 if any\n' +
        'did not succeed. 2: a wrong command line; 130: stopped waiting with a second Ctrl-C;\n' +
        '255: the hub went away mid-job (the machines may still finish it: farol jobs show ID).',
    );
  withConnectionOptions(command).action(async (selector: string, args: string[], options: ExecOptions) => {
    await runJobStreaming(command, context, parseSelector(selector), buildCommand(args, options), options);
  });
  return command;
}

/**
 * Creates a job and follows it as `farol exec` does: output streamed line by line with the
 * machine's name, a summary, and exec's exit codes. Also used by the container and image
 * commands (#18), whose progress streams the same way.
 */
export async function runJobStreaming(command: Command, context: CliContext, targets: JobTargets, remote: RemoteCommand, options: { ttl?: number | undefined; timeout?: number | undefined }): Promise<void> {
  const connection = connectionOptionsOf(command);
  const { client, hubUrl, token } = await connect(connection, context);

  let socket: UiSocket | null = null;
  if (!connection.json) {
    socket = connectUi({ baseUrl: hubUrl, token, socketOptions: { transports: ['websocket'] } });
    if (!(await waitConnected(socket))) {
      context.stderr('farol: live output unavailable; showing each machine\'s output when it finishes\n');
      socket.close();
      socket = null;
    }
  }
  let job: Job;
  try {
    job = await client.createJob({ command: remote, targets, ...(options.ttl ? { ttlMs: options.ttl } : {}), ...(options.timeout ? { timeoutMs: options.timeout } : {}) });
  } catch (error) {
    socket?.close();
    throw error;
  }
  const printer = connection.json ? null : new JobPrinter(context, job);
  if (printer) {
    context.stderr(`job ${job.id}: ${describeCommand(remote)} on ${plural(job.total, 'machine')}\n`);
    const waiting = job.targets.filter((t) => t.state === 'queued').map((t) => t.agentName);
    if (waiting.length > 0) context.stderr(`offline, will run if back within the TTL: ${waiting.join(', ')}\n`);
  }

  let interrupts = 0;
  const offSignal = context.onShutdownSignal(() => {
    interrupts++;
    if (interrupts === 1) {
      context.stderr(`farol: cancelling ${job.id} (Ctrl-C again to stop waiting)\n`);
      client.cancelJob(job.id).catch((error: unknown) => context.stderr(`farol: could not cancel: ${(error as Error).message}\n`));
    }
  });
  let final: Job;
  try {
    final = await follow(context, client, job, printer, socket, () => interrupts > 1);
  } finally {
    offSignal();
    socket?.close();
  }
  if (connection.json) context.stdout(formatJson(final));
  else context.stderr(`${printer!.finished}/${final.total} done: ${formatCounts(final.counts)}\n`);
  if (interrupts > 1) throw new ExitRequest(130);
  const code = final.state === 'done' ? execExitCode(final) : 1;
  if (code !== 0) throw new ExitRequest(code);
}
