/** Process exit codes of `farol-agent`; scripts and service managers branch on them. */
export const EXIT_CODES = {
  ok: 0,
  /** Something failed that a retry or a fix on the hub side may cure (enrollment refused, hub unreachable). */
  failure: 1,
  /** The command line or environment is wrong. */
  usage: 2,
  /** The hub refused this agent for good (deleted, key revoked, protocol version unsupported). */
  refusedByHub: 3,
  /** Stopped by a remote `stop` command: a service manager should leave it stopped (systemd: RestartPreventExitStatus=4). */
  stopRequested: 4,
  /** Exited for a remote `restart` under a service manager, which starts it again (EX_TEMPFAIL). */
  restartRequested: 75,
} as const;

/**
 * An error whose message is the one line the operator sees, telling them what to do. Thrown
 * by commands, printed by `runAgentCommand` without a stack trace.
 */
export class AgentExitError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentExitError';
    this.exitCode = exitCode;
  }
}
