import { sql, type Selectable } from 'kysely';
import type { AgentStatus, Labels, SystemInfo } from '@farol/protocol';
import type { AgentRecord, MachineLookup } from './machines.js';
import { updateRowsByKey } from '../../infra/bulk-sql.js';
import type { AgentsTable, Db } from '../../infra/database.js';
import { dialectOf } from '../../infra/dialect.js';

export type { AgentRecord } from './machines.js';

export type NewAgent = Omit<AgentRecord, 'seq' | 'status' | 'lastSeen' | 'heartbeatIntervalMs'> & { joinTokenId: string };

function toRecord(row: Selectable<AgentsTable>): AgentRecord {
  return {
    seq: row.seq,
    id: row.id,
    name: row.name,
    hostname: row.hostname,
    publicKey: row.public_key,
    keyFingerprint: row.key_fingerprint,
    labels: JSON.parse(row.labels) as Labels,
    system: row.system === null ? null : (JSON.parse(row.system) as SystemInfo),
    heartbeatIntervalMs: row.heartbeat_interval_ms,
    status: row.status === 'online' ? 'online' : 'offline',
    createdAt: Number(row.created_at),
    lastSeen: row.last_seen === null ? null : Number(row.last_seen),
  };
}

export type AgentsRepository = ReturnType<typeof createAgentsRepository>;

/** SQL for agents and revoked keys; nothing else knows these tables. */
export function createAgentsRepository(db: Db) {
  const repository = {
    async insert(agent: NewAgent): Promise<AgentRecord> {
      const row = await db
        .insertInto('agents')
        .values({
          id: agent.id,
          name: agent.name,
          hostname: agent.hostname,
          public_key: agent.publicKey,
          key_fingerprint: agent.keyFingerprint,
          labels: JSON.stringify(agent.labels),
          system: agent.system === null ? null : JSON.stringify(agent.system),
          status: 'offline',
          created_at: agent.createdAt,
          join_token_id: agent.joinTokenId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },

    async findById(id: string): Promise<AgentRecord | undefined> {
      const row = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },

    async findByIdOrName(ref: string): Promise<AgentRecord | undefined> {
      const row = await db
        .selectFrom('agents')
        .selectAll()
        .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
        .executeTakeFirst();
      return row && toRecord(row);
    },

    async list(status?: AgentStatus): Promise<AgentRecord[]> {
      let query = db.selectFrom('agents').selectAll().orderBy('name');
      if (status) query = query.where('status', '=', status);
      return (await query.execute()).map(toRecord);
    },

    /** Every agent's id, name and stored presence, without parsing labels and system facts (metrics scrapes). */
    async listBrief(): Promise<Array<Pick<AgentRecord, 'seq' | 'id' | 'name' | 'status' | 'lastSeen'>>> {
      const rows = await db.selectFrom('agents').select(['seq', 'id', 'name', 'status', 'last_seen']).orderBy('name').execute();
      return rows.map((row) => ({ seq: row.seq, id: row.id, name: row.name, status: row.status === 'online' ? 'online' : 'offline', lastSeen: row.last_seen === null ? null : Number(row.last_seen) }));
    },

    async namesStartingWith(prefix: string): Promise<Set<string>> {
      const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
      const rows = await db
        .selectFrom('agents')
        .select('name')
        .where((eb) => eb.or([eb('name', '=', prefix), eb('name', 'like', `${escaped}-%`)]))
        .execute();
      return new Set(rows.map((r) => r.name));
    },

    async nameTakenByOther(name: string, id: string): Promise<boolean> {
      const row = await db.selectFrom('agents').select('id').where('name', '=', name).where('id', '!=', id).executeTakeFirst();
      return row !== undefined;
    },

    async update(id: string, patch: { name?: string | undefined; labels?: Labels | undefined }): Promise<void> {
      await db
        .updateTable('agents')
        .set({
          ...(patch.name === undefined ? {} : { name: patch.name }),
          ...(patch.labels === undefined ? {} : { labels: JSON.stringify(patch.labels) }),
        })
        .where('id', '=', id)
        .execute();
    },

    async setStatus(seq: number, status: AgentStatus, lastSeen: number | null): Promise<void> {
      await db
        .updateTable('agents')
        .set({ status, ...(lastSeen === null ? {} : { last_seen: lastSeen }) })
        .where('seq', '=', seq)
        .execute();
    },

    /**
     * Stores several agents' status and last-seen time in one statement per 500 (presence batches
     * the status changes of a reconnect storm: thousands at once, one commit).
     */
    async setStatuses(rows: ReadonlyArray<{ seq: number; status: AgentStatus; lastSeen: number }>): Promise<void> {
      if (rows.length === 0) return;
      await updateRowsByKey(db, 'agents', 'seq', ['status', 'last_seen'], rows.map((row) => [row.seq, row.status, row.lastSeen]), 500);
    },

    /**
     * Records when connected agents were last heard from: one statement per 500 (10,000 agents
     * were 10,000 statements holding one pooled connection for seconds every minute).
     */
    async touchLastSeen(entries: Array<{ seq: number; lastSeen: number }>): Promise<void> {
      if (entries.length === 0) return;
      await updateRowsByKey(db, 'agents', 'seq', ['last_seen'], entries.map((entry) => [entry.seq, entry.lastSeen]), 500);
    },

    /**
     * Stores what the agent said in its hello and returns the agent as stored now (undefined when
     * it was removed meanwhile): one round trip, where an update and a read were two (issue #14).
     */
    async recordHello(seq: number, system: SystemInfo, heartbeatIntervalMs: number): Promise<AgentRecord | undefined> {
      const row = await db
        .updateTable('agents')
        .set({ system: JSON.stringify(system), hostname: system.hostname, heartbeat_interval_ms: heartbeatIntervalMs })
        .where('seq', '=', seq)
        .returningAll()
        .executeTakeFirst();
      return row && toRecord(row);
    },

    async setSystem(seq: number, system: SystemInfo, heartbeatIntervalMs: number | null): Promise<void> {
      await db
        .updateTable('agents')
        .set({
          system: JSON.stringify(system),
          hostname: system.hostname,
          ...(heartbeatIntervalMs === null ? {} : { heartbeat_interval_ms: heartbeatIntervalMs }),
        })
        .where('seq', '=', seq)
        .execute();
    },

    /** At start no agent is connected to this hub yet. */
    async markAllOffline(): Promise<number> {
      const result = await db.updateTable('agents').set({ status: 'offline' }).where('status', '=', 'online').executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Like markAllOffline, except the agents in `keep` (held by other live hubs, issue #14). */
    async markOfflineExcept(keep: ReadonlySet<string>): Promise<number> {
      const online = await db.selectFrom('agents').select(['seq', 'id']).where('status', '=', 'online').execute();
      const seqs = online.filter((row) => !keep.has(row.id)).map((row) => row.seq);
      for (let i = 0; i < seqs.length; i += 1_000) {
        await db.updateTable('agents').set({ status: 'offline' }).where('seq', 'in', seqs.slice(i, i + 1_000)).where('status', '=', 'online').execute();
      }
      return seqs.length;
    },

    /** Removes the agent and its history and remembers its key so it cannot come back. */
    async deleteAndRevoke(agent: AgentRecord, at: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('revoked_keys')
          .values({ key_fingerprint: agent.keyFingerprint, agent_id: agent.id, revoked_at: at })
          .onConflict((oc) => oc.doNothing())
          .execute();
        await trx.deleteFrom('metrics_raw').where('agent_seq', '=', agent.seq).execute();
        // PostgreSQL keeps closed hours packed (ADR 0007); SQLite has no such table.
        if (dialectOf(trx) === 'postgres') await sql`delete from metrics_packed where agent_seq = ${agent.seq}`.execute(trx);
        await trx.deleteFrom('metrics_1m').where('agent_seq', '=', agent.seq).execute();
        await trx.deleteFrom('metrics_1h').where('agent_seq', '=', agent.seq).execute();
        await trx.deleteFrom('agent_latest').where('agent_seq', '=', agent.seq).execute();
        await trx.deleteFrom('agents').where('seq', '=', agent.seq).execute();
      });
    },

    async isKeyRevoked(fingerprint: string): Promise<boolean> {
      const row = await db.selectFrom('revoked_keys').select('agent_id').where('key_fingerprint', '=', fingerprint).executeTakeFirst();
      return row !== undefined;
    },

    async wasDeleted(agentId: string): Promise<boolean> {
      const row = await db.selectFrom('revoked_keys').select('agent_id').where('agent_id', '=', agentId).executeTakeFirst();
      return row !== undefined;
    },
  };
  // The read port other modules get (machines.ts) is part of what this repository provides.
  return repository satisfies MachineLookup;
}
