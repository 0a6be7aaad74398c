import type { Db } from '../infra/database.js';
import type { Leadership } from '../infra/leadership.js';
import { createAlertsRepository } from './alerts/alerts.repository.js';
import { createNotifyRepository } from './notify/notify.repository.js';
import { createAccountsRepository } from './auth/accounts.repository.js';
import { createAgentsRepository } from './agents/agents.repository.js';
import { createAuditRepository } from './audit/audit.repository.js';
import { createJoinTokensRepository } from './enrollment/join-tokens.repository.js';
import { createJobsRepository } from './jobs/jobs.repository.js';
import { createSecretsRepository } from './secrets/secrets.repository.js';
import { createTelemetryRepository } from './telemetry/telemetry.repository.js';
import { createTerminalRepository } from './terminal/terminal.repository.js';

/**
 * Every module's repository, bound to one connection or transaction. The composition lives
 * here, beside the modules, so infra (database, leadership) depends on no module.
 */
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

/** A unit of work that commits only while this hub's term holds the lease (fenced writes). */
export function createFencedUnitOfWork(db: Db, leadership: Pick<Leadership, 'fence'>): UnitOfWork {
  return (work) =>
    db.transaction().execute(async (trx) => {
      await leadership.fence(trx);
      return work(createRepositories(trx));
    });
}
