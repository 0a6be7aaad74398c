import type { CommandResult } from '@farol/protocol';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';

/** What a remote command handler gets for one run. */
export interface RemoteCommandContext {
  commandId: string;
  timeoutMs: number;
  /** Aborted when the hub cancels the command or the agent stops. */
  signal: AbortSignal;
  /** Streams output as it comes (already decoded, capped by the handler). */
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
  /** The process started (for the crash marker). */
  onSpawn?(pid: number): void;
  clock: Clock;
  logger: Logger;
  /** The hub's W3C trace context for this run (command:run `traceparent`), when it traces. */
  traceparent?: string;
}

/** How a command ended, before the executor adds its id (`startedAt` null when it never started). */
export type RemoteOutcome = Omit<CommandResult, 'commandId'>;

/** An outcome with no output, for commands that only return data or an error. */
export function plainOutcome(fields: Pick<RemoteOutcome, 'state' | 'startedAt' | 'endedAt'> & Partial<RemoteOutcome>): RemoteOutcome {
  return {
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    data: null,
    error: null,
    ...fields,
  };
}
