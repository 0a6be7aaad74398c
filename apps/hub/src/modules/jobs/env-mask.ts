import type { AuditEntry, Command, Principal } from '@farol/protocol';

/** What a masked `env` value reads as: the variable's name stays, its value does not. */
export const MASKED_ENV_VALUE = '•••';

/**
 * Issue #11 (L4): a command's `env` values are for those who could have run it. Jobs a reader
 * sees are already within their scope (jobs routes, `job:watch`, audit scope), so what remains
 * is the permission to run commands. No principal: the hub itself, or a test without accounts.
 */
export function canReadCommandEnv(principal: Pick<Principal, 'permissions'> | undefined): boolean {
  return principal === undefined || principal.permissions.includes('commands:exec');
}

/** `command` with each `env` value replaced by `•••` (names kept); the same object when there is none. */
export function maskCommandEnv<T>(command: T): T {
  if (command === null || typeof command !== 'object' || !('env' in command)) return command;
  const env = (command as { env?: unknown }).env;
  if (env === null || typeof env !== 'object' || Object.keys(env).length === 0) return command;
  return { ...command, env: Object.fromEntries(Object.keys(env).map((name) => [name, MASKED_ENV_VALUE])) };
}

/** A job (or summary) as `principal` may read it. */
export function jobForReader<T extends { command: Command }>(job: T, principal: Pick<Principal, 'permissions'> | undefined): T {
  return canReadCommandEnv(principal) ? job : { ...job, command: maskCommandEnv(job.command) };
}

/** A page of jobs as `principal` may read it. */
export function jobListForReader<T extends { jobs: Array<{ command: Command }> }>(list: T, principal: Pick<Principal, 'permissions'> | undefined): T {
  return canReadCommandEnv(principal) ? list : { ...list, jobs: list.jobs.map((job) => jobForReader(job, principal)) };
}

/** An audit entry as `principal` may read it: `details.command.env` masked like a job's. */
export function auditEntryForReader(entry: AuditEntry, principal: Pick<Principal, 'permissions'> | undefined): AuditEntry {
  if (canReadCommandEnv(principal) || !('command' in entry.details)) return entry;
  return { ...entry, details: { ...entry.details, command: maskCommandEnv(entry.details.command) } };
}
