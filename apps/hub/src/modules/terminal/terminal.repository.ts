import type { TerminalCloseReason, TerminalSession } from '@farol/protocol';
import type { Db, TerminalSessionsTable } from '../../infra/database.js';

/** A stored session, as the service reads it back. */
export interface TerminalSessionRecord extends TerminalSession {
  /** File name of the recording under the recordings directory, when one was made. */
  recordingFile: string | null;
}

function toRecord(row: TerminalSessionsTable): TerminalSessionRecord {
  return {
    id: row.id,
    agentId: row.agent_id,
    agentName: row.agent_name,
    actor: row.actor,
    cols: row.cols,
    rows: row.rows,
    openedAt: Number(row.opened_at),
    closedAt: row.closed_at === null ? null : Number(row.closed_at),
    closeReason: row.close_reason as TerminalCloseReason | null,
    exitCode: row.exit_code,
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
    recorded: row.recording_file !== null,
    recordingFile: row.recording_file,
  };
}

/** Rows of a stored recording are at most this big: no single value near a driver's limits. */
const RECORDING_CHUNK_BYTES = 256 * 1024;

/** Terminal sessions: one row when a session opens, completed when it ends. SQL only. */
export function createTerminalRepository(db: Db) {
  return {
    async insert(session: { id: string; agentId: string; agentName: string; actor: string; cols: number; rows: number; openedAt: number; recordingFile: string | null }): Promise<void> {
      await db
        .insertInto('terminal_sessions')
        .values({
          id: session.id,
          agent_id: session.agentId,
          agent_name: session.agentName,
          actor: session.actor,
          cols: session.cols,
          rows: session.rows,
          opened_at: session.openedAt,
          closed_at: null,
          close_reason: null,
          exit_code: null,
          bytes_in: 0,
          bytes_out: 0,
          recording_file: session.recordingFile,
        })
        .execute();
    },

    async finish(id: string, end: { closedAt: number; reason: TerminalCloseReason; exitCode: number | null; bytesIn: number; bytesOut: number; cols: number; rows: number }): Promise<void> {
      await db
        .updateTable('terminal_sessions')
        .set({ closed_at: end.closedAt, close_reason: end.reason, exit_code: end.exitCode, bytes_in: end.bytesIn, bytes_out: end.bytesOut, cols: end.cols, rows: end.rows })
        .where('id', '=', id)
        .execute();
    },

    /** Sessions a previous run of the hub left open (it stopped without ending them). */
    /** Ends the sessions left open; `isOrphan` (several hubs, issue #14) spares those another live hub still holds. */
    async closeOrphans(closedAt: number, isOrphan?: (id: string) => Promise<boolean>): Promise<number> {
      if (isOrphan) {
        const open = await db.selectFrom('terminal_sessions').select('id').where('closed_at', 'is', null).execute();
        const orphans: string[] = [];
        for (const { id } of open) if (await isOrphan(id)) orphans.push(id);
        if (orphans.length === 0) return 0;
        await db.updateTable('terminal_sessions').set({ closed_at: closedAt, close_reason: 'hub_shutdown' }).where('id', 'in', orphans).where('closed_at', 'is', null).execute();
        return orphans.length;
      }
      const result = await db
        .updateTable('terminal_sessions')
        .set({ closed_at: closedAt, close_reason: 'hub_shutdown' })
        .where('closed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Machines with a terminal session open, on any hub. */
    async openAgentIds(): Promise<Set<string>> {
      const rows = await db.selectFrom('terminal_sessions').select('agent_id').distinct().where('closed_at', 'is', null).execute();
      return new Set(rows.map((row) => row.agent_id));
    },

    async findById(id: string): Promise<TerminalSessionRecord | undefined> {
      const row = await db.selectFrom('terminal_sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    },

    /**
     * Stores a finished session's recording (issue #14: in the database, so every hub serves
     * it), in rows of at most RECORDING_CHUNK_BYTES. Storing it again replaces it.
     */
    async storeRecording(sessionId: string, data: Buffer): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('terminal_recordings').where('session_id', '=', sessionId).execute();
        for (let seq = 0, start = 0; start < data.byteLength || seq === 0; seq++, start += RECORDING_CHUNK_BYTES) {
          await trx.insertInto('terminal_recordings').values({ session_id: sessionId, seq, data: data.subarray(start, start + RECORDING_CHUNK_BYTES) }).execute();
        }
      });
    },

    async hasRecording(sessionId: string): Promise<boolean> {
      return (await db.selectFrom('terminal_recordings').select('seq').where('session_id', '=', sessionId).limit(1).executeTakeFirst()) !== undefined;
    },

    /** A stored recording's bytes in order, a row at a time. */
    async *recordingChunks(sessionId: string): AsyncGenerator<Buffer> {
      const rows = await db.selectFrom('terminal_recordings').select('seq').where('session_id', '=', sessionId).orderBy('seq').execute();
      for (const { seq } of rows) {
        const row = await db.selectFrom('terminal_recordings').select('data').where('session_id', '=', sessionId).where('seq', '=', seq).executeTakeFirst();
        if (row) yield Buffer.from(row.data);
      }
    },

    /** Newest first. */
    async list(query: { agentId?: string | undefined; limit: number }): Promise<TerminalSessionRecord[]> {
      let select = db.selectFrom('terminal_sessions').selectAll();
      if (query.agentId !== undefined) select = select.where('agent_id', '=', query.agentId);
      const rows = await select.orderBy('opened_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
      return rows.map(toRecord);
    },
  };
}
export type TerminalRepository = ReturnType<typeof createTerminalRepository>;
