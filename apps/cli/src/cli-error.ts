import { FarolApiError } from '@farol/client';
import { CommanderError } from 'commander';
import type { CliContext } from './context.js';

/** Exit code of `farol` when something failed (hub unreachable, token refused, ...). */
export const EXIT_FAILURE = 1;
/** Exit code of `farol` when the command line was wrong. */
export const EXIT_USAGE = 2;

/** A failure whose message is the one line the operator sees, saying what to do. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, options?: { exitCode?: number; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'CliError';
    this.exitCode = options?.exitCode ?? EXIT_FAILURE;
  }
}

/** A wrong command line that commander could not catch (bad `k=v`, bad URL ...). */
export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { exitCode: EXIT_USAGE, cause: options?.cause });
    this.name = 'UsageError';
  }
}

/** Ends the command with a code and no message (a delegated command already reported). */
export class ExitRequest extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitRequest';
    this.exitCode = exitCode;
  }
}

/** Words shared by every message that tells the operator how to log in. */
export function loginHint(context: CliContext, hubUrl: string): string {
  return `${context.commandName} login --hub ${hubUrl} --token T`;
}

/**
 * The one line for a failed hub call that no command explained more precisely. Commands catch
 * what they can say better (a 404 for an agent name, say) and rethrow a {@link CliError}.
 */
export function explainApiError(error: FarolApiError, context: CliContext): string {
  if (error.isNetworkFailure) {
    return `cannot reach the hub at ${error.hubUrl} (${error.detail ?? 'network error'}); is it running? set --hub or FAROL_HUB_URL`;
  }
  if (error.isAuthFailure) {
    return `the hub refused the token (${error.code}); run ${loginHint(context, error.hubUrl)}`;
  }
  const detail = error.detail ? `: ${error.detail}` : '';
  if (error.status === 403) return `the hub does not allow this (${error.code})${detail}`;
  if (error.code === 'validation_failed' && error.issues?.length) {
    const issues = error.issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message));
    return `the hub rejected the request: ${issues.join('; ')}`;
  }
  if (error.code === 'name_taken' || error.code === 'conflict') return `${error.detail ?? 'that conflicts with something on the hub'}`;
  if (error.status >= 500) return `the hub failed (${error.code})${detail}; see the hub's log`;
  return `the hub answered ${error.status} (${error.code})${detail}`;
}

/**
 * Prints one line for any error that reached `main` and returns the exit code. Stacks only with
 * FAROL_DEBUG=1: operators get what to do, developers can still ask for the rest.
 */
export function reportError(error: unknown, context: CliContext): number {
  if (error instanceof ExitRequest) return error.exitCode;
  if (error instanceof CommanderError) {
    // Commander has already printed help, the version or its own one-line complaint.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : EXIT_USAGE;
  }
  const debug = context.env.FAROL_DEBUG === '1';
  if (error instanceof CliError) {
    context.stderr(`farol: ${error.message}\n`);
    if (debug && error.cause) context.stderr(`${describeCause(error.cause)}\n`);
    return error.exitCode;
  }
  if (error instanceof FarolApiError) {
    context.stderr(`farol: ${explainApiError(error, context)}\n`);
    if (debug) context.stderr(`${error.stack ?? ''}\n`);
    return EXIT_FAILURE;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') {
    context.stderr('farol: the port is already in use; is another hub running? choose another with --port\n');
    return EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  context.stderr(`farol: unexpected error: ${message}${debug ? '' : ' (set FAROL_DEBUG=1 for details)'}\n`);
  if (debug) context.stderr(`${describeCause(error)}\n`);
  return EXIT_FAILURE;
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
}
