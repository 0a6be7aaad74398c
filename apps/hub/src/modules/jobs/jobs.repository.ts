import type { Selectable } from 'kysely';
import { CommandDataSchema, CommandSchema, type Command, type CommandData, type JobState, type JobTarget, type JobTargets, type TargetCounts, type TargetState } from '@farol/protocol';
import { insertRows, updateRowsByKey } from '../../infra/bulk-sql.js';
import type { Db, JobsTable, JobTargetsTable } from '../../infra/database.js';

/** A job as stored. */
export interface JobRecord {
  seq: number;
  id: string;
  command: Command;
  targetsSpec: JobTargets;
  state: JobState;
  ttlMs: number;
  timeoutMs: number;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  cancelledAt: number | null;
  finishedAt: number | null;
  total: number;
}

/** One target as stored: the protocol's JobTarget plus its job and when the agent's own result came in. */
export type TargetRecord = JobTarget & { jobId: string; resultAt: number | null };

const nullableNumber = (value: number | null): number | null => (value === null ? null : Number(value));

/** A stored string that fails its schema, made harmless: name characters only, never empty. */
function sanitizedText(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63) || 'invalid';
}

/**
 * A stored command as the API may show it (#11). Commands are validated before they are stored,
 * but rows written before a rule existed (an agent-reported container name once became a
 * `docker_logs` job) must not make every job list fail to serialise: each string that breaks
 * the schema is shown sanitised, and a command that is still not valid is shown as
 * `unreadable stored command`. Only the view degrades; the row is left as it was.
 */
export function readableCommand(stored: unknown): Command {
  const parsed = CommandSchema.safeParse(stored);
  // As stored, not as parsed: the view is exactly what was written whenever it is valid.
  if (parsed.success) return stored as Command;
  const copy = JSON.parse(JSON.stringify(stored ?? null)) as unknown;
  for (const issue of parsed.error.issues) {
    const parentPath = issue.path.slice(0, -1);
    const key = issue.path.at(-1);
    let parent: unknown = copy;
    for (const step of parentPath) parent = parent !== null && typeof parent === 'object' ? (parent as Record<PropertyKey, unknown>)[step as PropertyKey] : undefined;
    if (key !== undefined && parent !== null && typeof parent === 'object') {
      const value = (parent as Record<PropertyKey, unknown>)[key as PropertyKey];
      if (typeof value === 'string') (parent as Record<PropertyKey, unknown>)[key as PropertyKey] = sanitizedText(value);
    }
  }
  const repaired = CommandSchema.safeParse(copy);
  return repaired.success ? repaired.data : { kind: 'shell', argv: ['unreadable stored command'] };
}

function toJob(row: Selectable<JobsTable>): JobRecord {
  return {
    seq: row.seq,
    id: row.id,
    command: readableCommand(JSON.parse(row.command)),
    targetsSpec: JSON.parse(row.targets_spec) as JobTargets,
    state: row.state === 'done' ? 'done' : 'running',
    ttlMs: row.ttl_ms,
    timeoutMs: row.timeout_ms,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    cancelledAt: nullableNumber(row.cancelled_at),
    finishedAt: nullableNumber(row.finished_at),
    total: row.total,
  };
}

/** A target's stored result data, or null when it no longer passes its schema (#11: one row never breaks a list). */
function readableData(stored: string): CommandData | null {
  const data = JSON.parse(stored) as CommandData;
  return CommandDataSchema.safeParse(data).success ? data : null;
}

function toTarget(row: Selectable<JobTargetsTable>): TargetRecord {
  return {
    commandId: row.command_id,
    jobId: row.job_id,
    agentId: row.agent_id,
    agentName: row.agent_name,
    state: row.state as TargetState,
    exitCode: row.exit_code,
    signal: row.signal,
    stdout: row.stdout,
    stderr: row.stderr,
    stdoutTruncated: row.stdout_truncated === 1,
    stderrTruncated: row.stderr_truncated === 1,
    data: row.data === null ? null : readableData(row.data),
    sentAt: nullableNumber(row.sent_at),
    startedAt: nullableNumber(row.started_at),
    endedAt: nullableNumber(row.ended_at),
    error: row.error,
    resultAt: nullableNumber(row.result_at),
  };
}

function targetColumns(target: TargetRecord): Omit<JobTargetsTable, 'command_id' | 'job_id' | 'agent_id' | 'agent_name'> {
  return {
    state: target.state,
    exit_code: target.exitCode,
    signal: target.signal,
    stdout: target.stdout,
    stderr: target.stderr,
    stdout_truncated: target.stdoutTruncated ? 1 : 0,
    stderr_truncated: target.stderrTruncated ? 1 : 0,
    data: target.data === null ? null : JSON.stringify(target.data),
    sent_at: target.sentAt,
    started_at: target.startedAt,
    ended_at: target.endedAt,
    error: target.error,
    result_at: target.resultAt,
  };
}

/** What targetColumns returns, in its order. */
const TARGET_STATE_COLUMNS = ['state', 'exit_code', 'signal', 'stdout', 'stderr', 'stdout_truncated', 'stderr_truncated', 'data', 'sent_at', 'started_at', 'ended_at', 'error', 'result_at'] as const;
const TARGET_INSERT_COLUMNS = ['command_id', 'job_id', 'agent_id', 'agent_name', ...TARGET_STATE_COLUMNS];

function targetValues(target: TargetRecord): unknown[] {
  const columns = targetColumns(target);
  return TARGET_STATE_COLUMNS.map((column) => columns[column]);
}

/** 17 parameters per target row; SQLite allows 32,766 per statement. */
const INSERT_CHUNK = 1_000;
/** 14 parameters per updated row. */
const UPDATE_CHUNK = 1_000;
/** Bound parameters in an `in (...)` list. */
const IN_CHUNK = 5_000;

export type JobsRepository = ReturnType<typeof createJobsRepository>;

/** SQL for jobs and their targets. */
export function createJobsRepository(db: Db) {
  return {
    async insertJob(job: Omit<JobRecord, 'seq'>, targets: TargetRecord[]): Promise<JobRecord> {
      const row = await db
        .insertInto('jobs')
        .values({
          id: job.id,
          command: JSON.stringify(job.command),
          targets_spec: JSON.stringify(job.targetsSpec),
          state: job.state,
          ttl_ms: job.ttlMs,
          timeout_ms: job.timeoutMs,
          created_by: job.createdBy,
          created_at: job.createdAt,
          expires_at: job.expiresAt,
          cancelled_at: job.cancelledAt,
          finished_at: job.finishedAt,
          total: job.total,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await insertRows(db, 'job_targets', TARGET_INSERT_COLUMNS, targets.map((t) => [t.commandId, t.jobId, t.agentId, t.agentName, ...targetValues(t)]), INSERT_CHUNK);
      return toJob(row);
    },

    /**
     * Writes the current state of targets (everything but their identity): one
     * `update ... from (values ...)` per thousand rows (SQLite 3.33+, PostgreSQL alike), since a
     * fan-out stores thousands of results at once.
     */
    async saveTargets(targets: TargetRecord[]): Promise<void> {
      // A state the hub decided (expired, timed out: no result) never replaces an agent's result
      // another hub stored meanwhile (issue #14: the owner of a job may not have seen it).
      const decided = targets.filter((t) => t.resultAt === null).map((t) => t.commandId);
      const withResult = new Set<string>();
      for (let i = 0; i < decided.length; i += UPDATE_CHUNK) {
        const rows = await db.selectFrom('job_targets').select('command_id').where('command_id', 'in', decided.slice(i, i + UPDATE_CHUNK)).where('result_at', 'is not', null).execute();
        for (const row of rows) withResult.add(row.command_id);
      }
      const rows = withResult.size === 0 ? targets : targets.filter((t) => !withResult.has(t.commandId));
      await updateRowsByKey(db, 'job_targets', 'command_id', TARGET_STATE_COLUMNS, rows.map((t) => [t.commandId, ...targetValues(t)]), UPDATE_CHUNK);
    },

    async updateJob(id: string, patch: { state?: JobState; cancelledAt?: number; finishedAt?: number }): Promise<void> {
      await db
        .updateTable('jobs')
        .set({
          ...(patch.state === undefined ? {} : { state: patch.state }),
          ...(patch.cancelledAt === undefined ? {} : { cancelled_at: patch.cancelledAt }),
          ...(patch.finishedAt === undefined ? {} : { finished_at: patch.finishedAt }),
        })
        .where('id', '=', id)
        .execute();
    },

    async findJob(id: string): Promise<JobRecord | undefined> {
      const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toJob(row);
    },

    async targetsOf(jobId: string): Promise<TargetRecord[]> {
      const rows = await db.selectFrom('job_targets').selectAll().where('job_id', '=', jobId).orderBy('agent_name').execute();
      return rows.map(toTarget);
    },

    /** The job of each of these commands that exists (one query per 1,000). */
    async jobIdsOf(commandIds: readonly string[]): Promise<Map<string, string>> {
      const jobIds = new Map<string, string>();
      for (let i = 0; i < commandIds.length; i += UPDATE_CHUNK) {
        const rows = await db.selectFrom('job_targets').select(['command_id', 'job_id']).where('command_id', 'in', commandIds.slice(i, i + UPDATE_CHUNK)).execute();
        for (const row of rows) jobIds.set(row.command_id, row.job_id);
      }
      return jobIds;
    },

    async findTarget(commandId: string): Promise<TargetRecord | undefined> {
      const row = await db.selectFrom('job_targets').selectAll().where('command_id', '=', commandId).executeTakeFirst();
      return row && toTarget(row);
    },

    /** Jobs not yet done, with their targets: what a restarted hub picks up again. */
    async activeJobs(): Promise<Array<{ job: JobRecord; targets: TargetRecord[] }>> {
      const jobs = (await db.selectFrom('jobs').selectAll().where('state', '=', 'running').orderBy('seq').execute()).map(toJob);
      const result = [];
      for (const job of jobs) result.push({ job, targets: await this.targetsOf(job.id) });
      return result;
    },

    /** Jobs not yet done, without their targets (several hubs look for jobs whose hub stopped, issue #14). */
    async runningJobs(): Promise<JobRecord[]> {
      return (await db.selectFrom('jobs').selectAll().where('state', '=', 'running').orderBy('seq').execute()).map(toJob);
    },

    /** Newest first; `beforeSeq` pages back. */
    async listJobs(filter: { state?: JobState | undefined; beforeSeq?: number | undefined; limit: number }): Promise<JobRecord[]> {
      let query = db.selectFrom('jobs').selectAll().orderBy('seq', 'desc').limit(filter.limit);
      if (filter.state !== undefined) query = query.where('state', '=', filter.state);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      return (await query.execute()).map(toJob);
    },

    /** Targets per state for each job. */
    async countsOf(jobIds: string[]): Promise<Map<string, Partial<TargetCounts>>> {
      const counts = new Map<string, Partial<TargetCounts>>();
      for (let i = 0; i < jobIds.length; i += IN_CHUNK) {
        const rows = await db
          .selectFrom('job_targets')
          .select(['job_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
          .where('job_id', 'in', jobIds.slice(i, i + IN_CHUNK))
          .groupBy(['job_id', 'state'])
          .execute();
        for (const row of rows) {
          const entry = counts.get(row.job_id) ?? {};
          entry[row.state as TargetState] = Number(row.n);
          counts.set(row.job_id, entry);
        }
      }
      return counts;
    },
  };
}
