import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteDatabase, type Db } from '../infra/database.js';
import { openPostgresDatabase } from '../infra/postgres.js';
import { createTestDatabase, isPostgresRun } from './postgres-test-db.js';

/**
 * A fresh, migrated database for a repository test: PostgreSQL on the int-pg run (a database of
 * its own, dropped at `close`), else SQLite in a temporary folder (removed at `close`).
 */
export async function openTestDatabase(prefix: string): Promise<{ db: Db; close: () => Promise<void> }> {
  if (isPostgresRun()) {
    const database = await createTestDatabase();
    const { db } = await openPostgresDatabase({ url: database.url, poolSize: 4 });
    return {
      db,
      close: async () => {
        await db.destroy();
        await database.drop();
      },
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), `farol-${prefix}-`));
  const { db } = await openSqliteDatabase(dir);
  return {
    db,
    close: async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
