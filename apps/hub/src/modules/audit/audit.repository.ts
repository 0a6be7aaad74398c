import type { Selectable } from 'kysely';
import type { AuditAction, AuditEntry } from '@farol/protocol';
import { insertRows } from '../../infra/bulk-sql.js';
import type { AuditLogTable, Db } from '../../infra/database.js';

/** Filters of an audit listing, already resolved (agent names to ids). */
export interface AuditFilter {
  actor?: string | undefined;
  action?: AuditAction | undefined;
  agentId?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  /** Only entries with seq below this (the next page). */
  beforeSeq?: number | undefined;
  limit: number;
}

function toEntry(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    seq: row.seq,
    at: Number(row.at),
    actor: row.actor,
    action: row.action as AuditAction,
    agentId: row.agent_id,
    jobId: row.job_id,
    details: JSON.parse(row.details) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

const AUDIT_COLUMNS = ['seq', 'at', 'actor', 'action', 'agent_id', 'job_id', 'details', 'prev_hash', 'hash'] as const;

/** A row as stored, before JSON is parsed: verification hashes exactly what is in the file. */
export type StoredAuditRow = Selectable<AuditLogTable>;

export type AuditRepository = ReturnType<typeof createAuditRepository>;

/** SQL for the audit log. Only inserts: the table has triggers that refuse updates and deletes. */
export function createAuditRepository(db: Db) {
  return {
    async head(): Promise<{ seq: number; hash: string } | undefined> {
      return db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    },

    async insert(rows: AuditLogTable[]): Promise<void> {
      // 9 parameters per row; SQLite allows 32,766 per statement.
      await insertRows(db, 'audit_log', AUDIT_COLUMNS, rows.map((row) => AUDIT_COLUMNS.map((column) => row[column])), 1_000);
    },

    async list(filter: AuditFilter): Promise<AuditEntry[]> {
      let query = db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(filter.limit);
      if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
      if (filter.action !== undefined) query = query.where('action', '=', filter.action);
      if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId);
      if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
      if (filter.to !== undefined) query = query.where('at', '<=', filter.to);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      return (await query.execute()).map(toEntry);
    },

    /** Stored rows in chain order, `limit` after `afterSeq`. */
    async page(afterSeq: number, limit: number): Promise<StoredAuditRow[]> {
      return db.selectFrom('audit_log').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
    },
  };
}
