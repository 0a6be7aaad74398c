import type { Kysely } from 'kysely';
import type { AgentUpdateCommand, RolloutTarget } from '@farol/protocol';
import type { Database } from '../../infra/database.js';

/** The tables of migration 0155_agent_rollouts (typed here: only this module reads them). */
type RolloutTables = {
  agent_rollouts: {
    id: string;
    version: string;
    state: string;
    wave: number;
    waves: number;
    started_wave: number;
    command: string;
    created_by: string;
    created_at: number;
    finished_at: number | null;
    error: string | null;
  };
  agent_rollout_targets: {
    rollout_id: string;
    agent_id: string;
    agent_name: string;
    wave: number;
    state: string;
    from_version: string | null;
    job_id: string | null;
    error: string | null;
    updated_at: number;
  };
};

export interface RolloutRecord {
  id: string;
  version: string;
  state: 'running' | 'succeeded' | 'failed';
  wave: number;
  waves: number;
  /** The highest wave whose job was created (-1: none yet); claimed by one hub with a conditional update. */
  startedWave: number;
  command: AgentUpdateCommand;
  createdBy: string;
  createdAt: number;
  finishedAt: number | null;
  error: string | null;
}

export type RolloutTargetRecord = RolloutTarget;

export function createUpdatesRepository(database: Kysely<Database>) {
  const db = database.withTables<RolloutTables>();
  const toRollout = (row: RolloutTables['agent_rollouts']): RolloutRecord => ({
    id: row.id,
    version: row.version,
    state: row.state as RolloutRecord['state'],
    wave: Number(row.wave),
    waves: Number(row.waves),
    startedWave: Number(row.started_wave),
    command: JSON.parse(row.command) as AgentUpdateCommand,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    error: row.error,
  });
  const toTarget = (row: RolloutTables['agent_rollout_targets']): RolloutTargetRecord => ({
    agentId: row.agent_id,
    agentName: row.agent_name,
    wave: Number(row.wave),
    state: row.state as RolloutTarget['state'],
    fromVersion: row.from_version,
    jobId: row.job_id as RolloutTarget['jobId'],
    error: row.error,
    updatedAt: Number(row.updated_at),
  });

  return {
    async insert(rollout: RolloutRecord, targets: RolloutTargetRecord[]): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('agent_rollouts')
          .values({
            id: rollout.id,
            version: rollout.version,
            state: rollout.state,
            wave: rollout.wave,
            waves: rollout.waves,
            started_wave: rollout.startedWave,
            command: JSON.stringify(rollout.command),
            created_by: rollout.createdBy,
            created_at: rollout.createdAt,
            finished_at: rollout.finishedAt,
            error: rollout.error,
          })
          .execute();
        if (targets.length === 0) return;
        await trx
          .insertInto('agent_rollout_targets')
          .values(targets.map((t) => ({ rollout_id: rollout.id, agent_id: t.agentId, agent_name: t.agentName, wave: t.wave, state: t.state, from_version: t.fromVersion, job_id: t.jobId, error: t.error, updated_at: t.updatedAt })))
          .execute();
      });
    },
    async find(id: string): Promise<RolloutRecord | undefined> {
      const row = await db.selectFrom('agent_rollouts').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRollout(row) : undefined;
    },
    async list(limit: number): Promise<RolloutRecord[]> {
      return (await db.selectFrom('agent_rollouts').selectAll().orderBy('created_at', 'desc').limit(limit).execute()).map(toRollout);
    },
    async running(): Promise<RolloutRecord[]> {
      return (await db.selectFrom('agent_rollouts').selectAll().where('state', '=', 'running').execute()).map(toRollout);
    },
    async targets(id: string): Promise<RolloutTargetRecord[]> {
      return (await db.selectFrom('agent_rollout_targets').selectAll().where('rollout_id', '=', id).orderBy('wave').orderBy('agent_name').execute()).map(toTarget);
    },
    /** True for the one caller that moved `startedWave` up to `wave` (several hubs tick the same rollout). */
    async claimWave(id: string, wave: number): Promise<boolean> {
      const result = await db.updateTable('agent_rollouts').set({ started_wave: wave, wave }).where('id', '=', id).where('started_wave', '<', wave).where('state', '=', 'running').executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setTarget(id: string, agentId: string, patch: { state: RolloutTarget['state']; jobId?: string; error?: string | null; at: number }, onlyFrom?: RolloutTarget['state'][]): Promise<boolean> {
      let query = db
        .updateTable('agent_rollout_targets')
        .set({ state: patch.state, updated_at: patch.at, ...(patch.jobId ? { job_id: patch.jobId } : {}), ...(patch.error !== undefined ? { error: patch.error } : {}) })
        .where('rollout_id', '=', id)
        .where('agent_id', '=', agentId);
      if (onlyFrom) query = query.where('state', 'in', onlyFrom);
      return Number((await query.executeTakeFirst()).numUpdatedRows) === 1;
    },
    /** Machines that failed an update to `version` (automatic updates do not try them again). */
    async failedFor(version: string): Promise<Set<string>> {
      const rows = await db
        .selectFrom('agent_rollout_targets')
        .innerJoin('agent_rollouts', 'agent_rollouts.id', 'agent_rollout_targets.rollout_id')
        .select('agent_rollout_targets.agent_id')
        .where('agent_rollouts.version', '=', version)
        .where('agent_rollout_targets.state', '=', 'failed')
        .execute();
      return new Set(rows.map((row) => row.agent_id));
    },
    async skipPending(id: string, at: number): Promise<void> {
      await db.updateTable('agent_rollout_targets').set({ state: 'skipped', updated_at: at }).where('rollout_id', '=', id).where('state', '=', 'pending').execute();
    },
    /** True for the one caller that finished it. */
    async finish(id: string, state: 'succeeded' | 'failed', at: number, error: string | null): Promise<boolean> {
      const result = await db.updateTable('agent_rollouts').set({ state, finished_at: at, error }).where('id', '=', id).where('state', '=', 'running').executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
export type UpdatesRepository = ReturnType<typeof createUpdatesRepository>;
