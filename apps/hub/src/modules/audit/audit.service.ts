import { createHash } from 'node:crypto';
import { canonicalJson, type AuditAction, type AuditEntry, type AuditList, type AuditQuery, type AuditVerify } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { AuditLogTable } from '../../infra/database.js';
import type { Logger } from '../../infra/logger.js';
import type { Repositories, UnitOfWork } from '../repositories.js';
import type { AuditRepository, StoredAuditRecord } from './audit.repository.js';

/** What a caller records; the service adds the position, time and hashes. */
export interface AuditInput {
  actor: string;
  action: AuditAction;
  agentId?: string | null;
  jobId?: string | null;
  details: Record<string, unknown>;
  /** Default now. */
  at?: number;
}

/** The hash before the first entry. */
export const GENESIS_HASH = '0'.repeat(64);
const VERIFY_PAGE = 2_000;

/** The hashed content of an entry: everything but the hashes themselves, in canonical JSON. */
export function entryHash(prevHash: string, entry: Pick<AuditEntry, 'seq' | 'at' | 'actor' | 'action' | 'agentId' | 'jobId' | 'details'>): string {
  const content = canonicalJson({
    seq: entry.seq,
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    agentId: entry.agentId,
    jobId: entry.jobId,
    details: entry.details,
  });
  return createHash('sha256').update(prevHash).update(content).digest('hex');
}

/**
 * Checks a chain of stored rows: positions without gaps from 1, each `prev_hash` equal to the
 * previous entry's hash, each hash equal to the recomputed one. Returns the first failure.
 */
export function verifyChain(rows: Iterable<StoredAuditRecord>, previous: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH }): { seq: number; reason: string } | { last: { seq: number; hash: string } } {
  let expectSeq = previous.seq + 1;
  let prevHash = previous.hash;
  for (const row of rows) {
    if (row.seq !== expectSeq) return { seq: expectSeq, reason: `entry ${expectSeq} is missing (next is ${row.seq})` };
    if (row.prevHash !== prevHash) return { seq: row.seq, reason: 'its link to the previous entry does not match (an entry before it was changed or removed)' };
    let details: Record<string, unknown>;
    try {
      details = JSON.parse(row.detailsJson) as Record<string, unknown>;
    } catch (error) {
      return { seq: row.seq, reason: `its details are not JSON (${(error as Error).message})` };
    }
    const recomputed = entryHash(prevHash, {
      seq: row.seq,
      at: row.at,
      actor: row.actor,
      action: row.action as AuditAction,
      agentId: row.agentId,
      jobId: row.jobId,
      details,
    });
    if (recomputed !== row.hash) return { seq: row.seq, reason: 'its content does not match its hash (the entry was changed)' };
    prevHash = row.hash;
    expectSeq++;
  }
  return { last: { seq: expectSeq - 1, hash: prevHash } };
}

/**
 * The audit log: who did what to which machines, and what came of it. Append-only and
 * hash-chained: each entry stores sha256(previous hash + its canonical JSON), so changing or
 * removing an entry in the database file breaks every link after it, and `verify` says where.
 */
export function createAuditService({
  audit,
  unitOfWork,
  clock,
  logger,
  viaFor = () => null,
  clientFor = () => null,
}: {
  audit: AuditRepository;
  unitOfWork: UnitOfWork;
  clock: Clock;
  logger: Logger;
  /** The credential (`session`, `tok_…`) through which `actor` acts in the current request; it goes into `details.via` (issue #11). */
  viaFor?: (actor: string) => string | null;
  /** The kind of client (`mcp`) the current request of `actor` came through; it goes into `details.client` (issue #20). */
  clientFor?: (actor: string) => string | null;
}) {
  const withVia = (entry: AuditInput): AuditInput => {
    const via = 'via' in entry.details ? null : viaFor(entry.actor);
    const client = 'client' in entry.details ? null : clientFor(entry.actor);
    if (via === null && client === null) return entry;
    return { ...entry, details: { ...entry.details, ...(via === null ? {} : { via }), ...(client === null ? {} : { client }) } };
  };
  return {
    /**
     * Runs `work` in one transaction and appends, in that same transaction, every entry it
     * logs: the change and its audit record are committed together or not at all. The head is
     * read under a lock held to the commit, so concurrent appenders on a pool queue up.
     */
    async transaction<T>(work: (repos: Repositories, log: (entry: AuditInput) => void) => Promise<T>): Promise<T> {
      return unitOfWork(async (repos) => {
        const entries: AuditInput[] = [];
        const result = await work(repos, (entry) => entries.push(withVia(entry)));
        if (entries.length === 0) return result;
        const head = (await repos.audit.headForAppend()) ?? { seq: 0, hash: GENESIS_HASH };
        let { seq, hash } = head;
        const now = clock.now();
        const rows: AuditLogTable[] = entries.map((input) => {
          seq++;
          const entry = {
            seq,
            at: input.at ?? now,
            actor: input.actor,
            action: input.action,
            agentId: input.agentId ?? null,
            jobId: input.jobId ?? null,
            // Round-tripped so the hash covers exactly what a reader will parse back.
            details: JSON.parse(JSON.stringify(input.details)) as Record<string, unknown>,
          };
          const prevHash = hash;
          hash = entryHash(prevHash, entry);
          return {
            seq,
            at: entry.at,
            actor: entry.actor,
            action: entry.action,
            agent_id: entry.agentId,
            job_id: entry.jobId,
            details: JSON.stringify(entry.details),
            prev_hash: prevHash,
            hash,
          };
        });
        await repos.audit.insert(rows);
        return result;
      });
    },

    /** Appends entries on their own. */
    async record(...entries: AuditInput[]): Promise<void> {
      await this.transaction(async (_repos, log) => entries.forEach(log));
    },

    async list(query: Omit<AuditQuery, 'agent'> & { agentId?: string | undefined; visibleAgents?: readonly string[] | undefined }): Promise<AuditList> {
      const limit = Number(query.limit ?? 100);
      const entries = await audit.list({
        actor: query.actor,
        action: query.action,
        agentId: query.agentId,
        from: query.from === undefined ? undefined : Number(query.from),
        to: query.to === undefined ? undefined : Number(query.to),
        beforeSeq: query.cursor === undefined ? undefined : Number(query.cursor),
        visibleAgents: query.visibleAgents,
        limit,
      });
      return { entries, nextCursor: entries.length === limit ? String(entries.at(-1)!.seq) : null };
    },

    /** Walks the whole chain, a page at a time. */
    async verify(): Promise<AuditVerify> {
      let previous = { seq: 0, hash: GENESIS_HASH };
      for (;;) {
        const rows = await audit.page(previous.seq, VERIFY_PAGE);
        if (rows.length === 0) return { ok: true, entries: previous.seq, firstBad: null };
        const outcome = verifyChain(rows, previous);
        if ('reason' in outcome) {
          logger.error({ seq: outcome.seq, reason: outcome.reason }, 'audit chain verification failed');
          return { ok: false, entries: outcome.seq - 1, firstBad: outcome };
        }
        previous = outcome.last;
      }
    },
  };
}
export type AuditService = ReturnType<typeof createAuditService>;
