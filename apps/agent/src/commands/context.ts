import { createLogger, type LogLevel, type Logger, type LogSink } from '../logging/logger.js';
import type { FetchFunction } from '../identity/enroll.client.js';
import { mathRandom, systemClock, type Clock, type RandomSource } from '../runtime/clock.js';

/** What a command needs from the outside world; tests pass their own. */
export interface CommandContext {
  env: NodeJS.ProcessEnv;
  /** Log lines. */
  stdout: LogSink & { isTTY?: boolean };
  /** The one-line errors and the simulator summary. */
  stderr: LogSink;
  clock: Clock;
  random: RandomSource;
  fetch?: FetchFunction;
  /** Stops a running command (tests); the CLI also wires SIGINT and SIGTERM to it. */
  signal?: AbortSignal;
}

/** The real process: env, stdout, stderr, clock and randomness. */
export function defaultCommandContext(): CommandContext {
  return { env: process.env, stdout: process.stdout, stderr: process.stderr, clock: systemClock, random: mathRandom };
}

/** pino JSON lines, or readable lines when a person watches a terminal. */
export function createCommandLogger(context: CommandContext, level: LogLevel): Logger {
  return createLogger({ level, sink: context.stdout, format: context.stdout.isTTY ? 'pretty' : 'json', now: () => context.clock.now() });
}

/**
 * An AbortSignal that fires on SIGINT/SIGTERM or when the context's signal aborts; `dispose`
 * removes the process handlers again.
 */
export function shutdownSignal(context: CommandContext): { signal: AbortSignal; dispose: () => void; received: () => string | null } {
  const controller = new AbortController();
  let received: string | null = null;
  const onSignal = (name: NodeJS.Signals): void => {
    received = name;
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const onAbort = (): void => controller.abort();
  context.signal?.addEventListener('abort', onAbort, { once: true });
  if (context.signal?.aborted) controller.abort();
  return {
    signal: controller.signal,
    received: () => received,
    dispose: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      context.signal?.removeEventListener('abort', onAbort);
    },
  };
}
