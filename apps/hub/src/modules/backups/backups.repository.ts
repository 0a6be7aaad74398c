import { sql, type Kysely } from 'kysely';
import type { Database } from '../../infra/database.js';

/** The database side of backups: one consistent copy of the SQLite file. */
export interface BackupsRepository {
  /**
   * `VACUUM INTO file`: one read transaction, so the copy is the database as of one instant
   * while writers go on (WAL); the copy has no -wal file to go with it (docs/adr/0008-backups.md).
   */
  snapshotTo(file: string): Promise<void>;
}

export function createBackupsRepository(db: Kysely<Database>): BackupsRepository {
  return {
    async snapshotTo(file) {
      await sql`VACUUM INTO ${file}`.execute(db);
    },
  };
}
