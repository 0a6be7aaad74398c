import type { JobRecord, TargetRecord } from './jobs.repository.js';

export type { JobRecord, TargetRecord } from './jobs.repository.js';

/**
 * What other modules may read about jobs and the commands they sent (the secrets fetch checks a
 * command against its job): the jobs module's read port, so they do not depend on its
 * repository. `main.ts` gives them the repository, which provides it.
 */
export interface JobLookup {
  /** The job's target that a command id names (one command per machine of a job). */
  findTarget(commandId: string): Promise<TargetRecord | undefined>;
  findJob(id: string): Promise<JobRecord | undefined>;
}
