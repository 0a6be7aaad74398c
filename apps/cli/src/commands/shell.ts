import { connectUi, openTerminal, readConnectError, TerminalError, type TerminalSession, type UiSocket } from '@farol/client';
import type { TerminalClosed } from '@farol/protocol';
import { Command } from 'commander';
import { CliError, ExitRequest, UsageError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

const CONNECT_TIMEOUT_MS = 10_000;

/** The process's terminal; a seam so the command can be driven without one. */
export interface ShellIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

function connected(socket: UiSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CliError('the hub did not accept a live connection within 10 s; is it reachable?')), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect_error', (error: Error & { data?: unknown }) => {
      const refusal = readConnectError(error);
      // Socket.IO retries network failures by itself: only a refusal by the hub is final.
      if (!refusal) return;
      clearTimeout(timer);
      reject(new CliError(`the hub refused the connection: ${refusal.message} (${refusal.code})`));
    });
  });
}

/** One line that says what happened and, where there is one, what to do. */
function refusalLine(agent: string, error: TerminalError): string {
  switch (error.code) {
    case 'not_found':
      return `no machine named ${agent}; see farol agents ls`;
    case 'agent_offline':
      return `${error.message}; try again when it is back online`;
    case 'command_refused':
      return `${agent}: ${error.message} (its administrator decides, in the agent's policy.json)`;
    default:
      return `${agent}: ${error.message}`;
  }
}

/** What the remote shell's end means for this process's exit code. */
export function exitCodeOf(closed: TerminalClosed): number {
  if (closed.reason === 'exited') return closed.exitCode ?? 1;
  return closed.reason === 'closed' ? 0 : 1;
}

function describeEnd(closed: TerminalClosed): string | null {
  switch (closed.reason) {
    case 'exited':
    case 'closed':
      return null;
    case 'idle_timeout':
      return `session closed: ${closed.message ?? 'idle for too long'}`;
    case 'agent_disconnected':
      return 'session closed: the machine disconnected from the hub';
    case 'operator_disconnected':
      return 'session closed: the connection to the hub was lost';
    case 'hub_shutdown':
      return 'session closed: the hub is shutting down';
    default:
      return `session closed: ${closed.message ?? closed.reason}`;
  }
}

/**
 * Runs an interactive shell on a machine: the local terminal in raw mode, every byte to the
 * remote PTY, its output to stdout (acknowledged once written, which paces the remote shell),
 * resizes on SIGWINCH. Resolves with the remote shell's exit code; the local terminal is
 * restored on every path out.
 */
export async function runShell(context: CliContext, agent: string, connection: { hub?: string; token?: string }, io: ShellIo): Promise<number> {
  const { hubUrl, token } = await connect(connection, context);
  const socket = connectUi({ baseUrl: hubUrl, token, socketOptions: { transports: ['websocket'], reconnection: false } });
  const isTty = io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';
  let rawMode = false;
  const restore = (): void => {
    if (rawMode) {
      io.stdin.setRawMode(false);
      rawMode = false;
    }
  };
  // A crash or process.exit elsewhere must not leave the operator's terminal in raw mode.
  process.once('exit', restore);
  let session: TerminalSession | null = null;
  let offSignal: (() => void) | null = null;
  const onInput = (chunk: Buffer): void => session?.write(chunk);
  const onResize = (): void => session?.resize(io.stdout.columns || 80, io.stdout.rows || 24);
  try {
    await connected(socket);
    let onClosed!: (closed: TerminalClosed) => void;
    const ended = new Promise<TerminalClosed>((resolve) => (onClosed = resolve));
    // The local terminal is left alone until the machine has started the shell (or refused).
    session = await openTerminal(socket, {
      agent,
      cols: io.stdout.columns || 80,
      rows: io.stdout.rows || 24,
      onOutput: (data, done) => {
        io.stdout.write(data, () => done());
      },
      onClosed,
    });
    if (isTty) {
      io.stdin.setRawMode(true);
      rawMode = true;
    }
    io.stdin.on('data', onInput);
    io.stdin.resume();
    io.stdout.on('resize', onResize);
    offSignal = context.onShutdownSignal(() => {
      void session?.close().catch(() => undefined);
    });
    const closed = await ended;
    restore();
    const line = describeEnd(closed);
    if (line) context.stderr(`\r\nfarol: ${line}\n`);
    return exitCodeOf(closed);
  } catch (error) {
    restore();
    if (error instanceof TerminalError) throw new CliError(refusalLine(agent, error), { cause: error });
    throw error;
  } finally {
    restore();
    process.off('exit', restore);
    offSignal?.();
    io.stdin.off('data', onInput);
    io.stdin.pause();
    io.stdout.off('resize', onResize);
    socket.close();
  }
}

/** `farol shell AGENT`: an interactive terminal on a machine. */
export function createShellCommand(context: CliContext, io: ShellIo = { stdin: process.stdin, stdout: process.stdout }): Command {
  const command = new Command('shell')
    .description('an interactive terminal on a machine (its login shell); exits with the remote shell\'s exit code')
    .argument('<agent>', 'machine name or id');
  withConnectionOptions(command, { json: false }).action(async (agent: string) => {
    // Without a terminal there is nothing to type into the remote shell and no way to end it
    // (stdin from a file or /dev/null used to hang forever, #21): say what works instead.
    if (io.stdin.isTTY !== true) {
      throw new UsageError(`a shell needs a terminal, and stdin is not one; to run a command without one, use ${context.commandName} exec ${agent} -- COMMAND`);
    }
    const code = await runShell(context, agent, connectionOptionsOf(command), io);
    if (code !== 0) throw new ExitRequest(code);
  });
  return command;
}
