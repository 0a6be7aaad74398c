import type { Db } from './database.js';
import { createAlertsRepository } from '../modules/alerts/alerts.repository.js';
import { createNotifyRepository } from '../modules/notify/notify.repository.js';
import { createAccountsRepository } from '../modules/auth/accounts.repository.js';
import { createAgentsRepository } from '../modules/agents/agents.repository.js';
import { createAuditRepository } from '../modules/audit/audit.repository.js';
import { createJoinTokensRepository } from '../modules/enrollment/join-tokens.repository.js';
import { createJobsRepository } from '../modules/jobs/jobs.repository.js';
import { createSecretsRepository } from '../modules/secrets/secrets.repository.js';
import { createTelemetryRepository } from '../modules/telemetry/telemetry.repository.js';
import { createTerminalRepository } from '../modules/terminal/terminal.repository.js';

/** Every repository, bound to one connection or transaction. */
export function createRepositories(db: Db) {
  return {
    agents: createAgentsRepository(db),
    joinTokens: createJoinTokensRepository(db),
    telemetry: createTelemetryRepository(db),
    jobs: createJobsRepository(db),
    audit: createAuditRepository(db),
    accounts: createAccountsRepository(db),
    secrets: createSecretsRepository(db),
    alerts: createAlertsRepository(db),
    notify: createNotifyRepository(db),
    terminalSessions: createTerminalRepository(db),
  };
}
export type Repositories = ReturnType<typeof createRepositories>;

/**
 * Runs `work` in one transaction with repositories bound to it, so a service can make several
 * changes atomically without seeing SQL.
 */
export type UnitOfWork = <T>(work: (repos: Repositories) => Promise<T>) => Promise<T>;

export function createUnitOfWork(db: Db): UnitOfWork {
  return (work) => db.transaction().execute((trx) => work(createRepositories(trx)));
}
