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
    async closeOrphans(closedAt: number): Promise<number> {
      const result = await db
        .updateTable('terminal_sessions')
        .set({ closed_at: closedAt, close_reason: 'hub_shutdown' })
        .where('closed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async findById(id: string): Promise<TerminalSessionRecord | undefined> {
      const row = await db.selectFrom('terminal_sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : undefined;
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
