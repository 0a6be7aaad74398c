import type { Selectable } from 'kysely';
import type { AuditAction, AuditEntry } from '@farol/protocol';
import { insertRows } from '../../infra/bulk-sql.js';
import type { AuditLogTable, Db } from '../../infra/database.js';
import { serializeWriters } from '../../infra/dialect.js';

/** Filters of an audit listing, already resolved (agent names to ids). */
export interface AuditFilter {
  actor?: string | undefined;
  action?: AuditAction | undefined;
  agentId?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  /** Only entries with seq below this (the next page). */
  beforeSeq?: number | undefined;
  /**
   * Issue #11, for a role limited to a label scope: only entries about one of these machines, or
   * about a job whose every target is one of them. Undefined: every entry.
   */
  visibleAgents?: readonly string[] | undefined;
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

/**
 * An entry as stored, before its details are parsed: verification hashes exactly what is in the
 * file, so `detailsJson` is the stored text and a corrupt one is reported, not thrown.
 */
export interface StoredAuditRecord {
  seq: number;
  at: number;
  actor: string;
  action: string;
  agentId: string | null;
  jobId: string | null;
  detailsJson: string;
  prevHash: string;
  hash: string;
}

function toStoredRecord(row: Selectable<AuditLogTable>): StoredAuditRecord {
  return {
    seq: row.seq,
    at: Number(row.at),
    actor: row.actor,
    action: row.action,
    agentId: row.agent_id,
    jobId: row.job_id,
    detailsJson: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;

/** SQL for the audit log. Only inserts: the table has triggers that refuse updates and deletes. */
export function createAuditRepository(db: Db) {
  return {
    async head(): Promise<{ seq: number; hash: string } | undefined> {
      return db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    },

    /**
     * The head, held until the calling transaction ends: appenders on a connection pool would
     * otherwise read the same head and fork the chain (issue #13).
     */
    async headForAppend(): Promise<{ seq: number; hash: string } | undefined> {
      await serializeWriters(db, 'farol:audit_log');
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
      if (filter.visibleAgents !== undefined) {
        const ids = [...filter.visibleAgents];
        if (ids.length === 0) return [];
        query = query.where((eb) =>
          eb.or([
            eb('agent_id', 'in', ids),
            eb.and([
              eb('agent_id', 'is', null),
              eb('job_id', 'is not', null),
              eb.not(eb.exists(eb.selectFrom('job_targets').select('job_targets.job_id').whereRef('job_targets.job_id', '=', 'audit_log.job_id').where('job_targets.agent_id', 'not in', ids))),
            ]),
          ]),
        );
      }
      return (await query.execute()).map(toEntry);
    },

    /** Stored rows in chain order, `limit` after `afterSeq`. */
    async page(afterSeq: number, limit: number): Promise<StoredAuditRecord[]> {
      return (await db.selectFrom('audit_log').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute()).map(toStoredRecord);
    },
  };
}
