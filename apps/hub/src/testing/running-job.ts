import type { JobRecord } from '../modules/jobs/jobs.repository.js';

/** A running job record as the jobs module's unit tests need it: created `createdAt`, a 10-minute TTL, a 1-minute timeout. */
export function runningJob(createdAt: number, fields: Pick<JobRecord, 'id' | 'command' | 'targetsSpec' | 'total'>): JobRecord {
  return {
    seq: 1,
    state: 'running',
    ttlMs: 600_000,
    timeoutMs: 60_000,
    createdBy: 'admin',
    createdAt,
    expiresAt: createdAt + 600_000,
    cancelledAt: null,
    finishedAt: null,
    ...fields,
  };
}
