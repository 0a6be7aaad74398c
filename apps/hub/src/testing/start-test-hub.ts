import path from 'node:path';
import type { HubOverrides } from '../config.js';
import { startHub as startRealHub, type HubSeams, type RunningHub } from '../main.js';
import { createTestDatabase, isPostgresRun } from './postgres-test-db.js';

/** The database of each data directory's hub, until the file ends. */
const created = new Map<string, Awaited<ReturnType<typeof createTestDatabase>>>();

/**
 * `startHub` for the hub's integration tests. In the `int-pg` project (`FAROL_TEST_DB=postgres`,
 * issue #13) every hub a test starts runs on PostgreSQL, in a database of its own keyed by the
 * hub's data directory (so a hub restarted on the same directory finds its data, and files run
 * in parallel); `dropTestDatabases` (postgres-setup.ts, after each file) drops them. A test that
 * names its own database, and every run on SQLite, starts the hub as given.
 */
export async function startHub(overrides: HubOverrides = {}, env: NodeJS.ProcessEnv = process.env, seams: HubSeams = {}): Promise<RunningHub> {
  if (!isPostgresRun() || overrides.databaseUrl !== undefined || env.FAROL_DATABASE_URL !== undefined) return startRealHub(overrides, env, seams);
  const dataDir = path.resolve(overrides.dataDir ?? env.FAROL_DATA_DIR ?? './data');
  let database = created.get(dataDir);
  if (!database) {
    database = await createTestDatabase(dataDir);
    created.set(dataDir, database);
  }
  return startRealHub({ ...overrides, databaseUrl: database.url }, env, seams);
}

/** Drops the databases the hubs of this test file ran on. */
export async function dropTestDatabases(): Promise<void> {
  const databases = [...created.values()];
  created.clear();
  for (const database of databases) await database.drop();
}
