import path from 'node:path';
import { afterAll, vi } from 'vitest';
import type { HubOverrides } from '../config.js';
import type * as HubMain from '../main.js';
import { createTestDatabase } from './postgres-test-db.js';

/**
 * Setup of the `int-pg` test project (issue #13): every hub a test starts in-process runs on
 * PostgreSQL, in a database of its own keyed by the hub's data directory (so a hub restarted on
 * the same directory finds its data, and files run in parallel). Dropped after the file.
 */
const created = new Map<string, Awaited<ReturnType<typeof createTestDatabase>>>();

vi.mock('../main.js', async (importOriginal) => {
  const original = await importOriginal<typeof HubMain>();
  const startHub: typeof original.startHub = async (overrides: HubOverrides = {}, env: NodeJS.ProcessEnv = process.env, seams = {}) => {
    if (overrides.databaseUrl !== undefined || env.FAROL_DATABASE_URL !== undefined) return original.startHub(overrides, env, seams);
    const dataDir = path.resolve(overrides.dataDir ?? env.FAROL_DATA_DIR ?? './data');
    let database = created.get(dataDir);
    if (!database) {
      database = await createTestDatabase(dataDir);
      created.set(dataDir, database);
    }
    return original.startHub({ ...overrides, databaseUrl: database.url }, env, seams);
  };
  return { ...original, startHub };
});

afterAll(async () => {
  for (const database of created.values()) await database.drop();
  created.clear();
});
