import type { Kysely } from 'kysely';
import type { ContainerRollout, ContainerRolloutTarget, ContainerUpdateRule, QuietHours } from '@farol/protocol';
import type { Database } from '../../infra/database.js';

/** The tables of migrations 0195_container_auto_update and 0205_container_registry_logins (typed here: only this module reads them). */
type AutoUpdateTables = {
  container_update_rules: {
    id: string;
    selector: string;
    containers: string;
    window: string | null;
    channels: string;
    registry: string | null;
    registry_secret: string | null;
    created_by: string;
    created_at: number;
  };
  container_rollouts: {
    id: string;
    container: string;
    image: string;
    digest: string;
    state: string;
    rule_id: string | null;
    targets: string;
    created_at: number;
    finished_at: number | null;
    error: string | null;
  };
};

export function createAutoUpdateRepository(database: Kysely<Database>) {
  const db = database.withTables<AutoUpdateTables>();
  const toRule = (row: AutoUpdateTables['container_update_rules']): ContainerUpdateRule => ({
    id: row.id,
    selector: row.selector,
    containers: JSON.parse(row.containers) as string[],
    window: row.window === null ? null : (JSON.parse(row.window) as QuietHours),
    channels: JSON.parse(row.channels) as string[],
    registry: row.registry,
    registrySecret: row.registry_secret,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
  });
  const toRollout = (row: AutoUpdateTables['container_rollouts']): ContainerRollout => ({
    id: row.id,
    container: row.container,
    image: row.image,
    digest: row.digest,
    state: row.state as ContainerRollout['state'],
    ruleId: row.rule_id,
    targets: JSON.parse(row.targets) as ContainerRolloutTarget[],
    createdAt: Number(row.created_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    error: row.error,
  });

  return {
    async listRules(): Promise<ContainerUpdateRule[]> {
      return (await db.selectFrom('container_update_rules').selectAll().orderBy('created_at').orderBy('id').execute()).map(toRule);
    },
    async findRule(id: string): Promise<ContainerUpdateRule | null> {
      const row = await db.selectFrom('container_update_rules').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRule(row) : null;
    },
    async insertRule(rule: ContainerUpdateRule): Promise<void> {
      await db
        .insertInto('container_update_rules')
        .values({
          id: rule.id,
          selector: rule.selector,
          containers: JSON.stringify(rule.containers),
          window: rule.window ? JSON.stringify(rule.window) : null,
          channels: JSON.stringify(rule.channels),
          registry: rule.registry ?? null,
          registry_secret: rule.registrySecret ?? null,
          created_by: rule.createdBy,
          created_at: rule.createdAt,
        })
        .execute();
    },
    async deleteRule(id: string): Promise<boolean> {
      const result = await db.deleteFrom('container_update_rules').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async running(): Promise<ContainerRollout[]> {
      return (await db.selectFrom('container_rollouts').selectAll().where('state', '=', 'running').orderBy('created_at').execute()).map(toRollout);
    },
    async recent(limit: number): Promise<ContainerRollout[]> {
      return (await db.selectFrom('container_rollouts').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()).map(toRollout);
    },
    /** True when a rollout of this container to this digest was ever started (a failed digest is not tried again). */
    async exists(container: string, digest: string): Promise<boolean> {
      return (await db.selectFrom('container_rollouts').select('id').where('container', '=', container).where('digest', '=', digest).executeTakeFirst()) !== undefined;
    },
    async insert(rollout: ContainerRollout): Promise<void> {
      await db
        .insertInto('container_rollouts')
        .values({
          id: rollout.id,
          container: rollout.container,
          image: rollout.image,
          digest: rollout.digest,
          state: rollout.state,
          rule_id: rollout.ruleId,
          targets: JSON.stringify(rollout.targets),
          created_at: rollout.createdAt,
          finished_at: rollout.finishedAt,
          error: rollout.error,
        })
        .execute();
    },
    async save(rollout: ContainerRollout): Promise<void> {
      await db
        .updateTable('container_rollouts')
        .set({ state: rollout.state, targets: JSON.stringify(rollout.targets), finished_at: rollout.finishedAt, error: rollout.error })
        .where('id', '=', rollout.id)
        .execute();
    },
  };
}
export type AutoUpdateRepository = ReturnType<typeof createAutoUpdateRepository>;
