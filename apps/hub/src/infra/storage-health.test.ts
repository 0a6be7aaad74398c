import { describe, expect, it } from 'vitest';
import { createStorageHealth } from './storage-health.js';

const PG = 'postgresql://127.0.0.1:5432/farol';

describe('storage health', () => {
  it('says the pool is exhausted when pg-pool times out waiting for a connection, and names the setting', () => {
    const health = createStorageHealth(PG);
    health.writeFailed(new Error('timeout exceeded when trying to connect'), 1_000);
    expect(health.status()).toMatchObject({ writes: 'failing', detail: expect.stringContaining('FAROL_DATABASE_POOL_SIZE') });
  });

  it('points at the PostgreSQL server for other failures without a code, and never calls them SQLite errors', () => {
    const logged: Array<{ code: string }> = [];
    const logger = { error: (fields: { code: string }) => logged.push(fields), info: () => {} } as unknown as Parameters<typeof createStorageHealth>[1];
    const health = createStorageHealth(PG, logger);
    health.writeFailed(new Error('Connection terminated unexpectedly'), 1_000);
    expect(logged.map((entry) => entry.code)).toEqual(['POSTGRES_ERROR']);
    expect(health.status().detail).toContain(`check that the PostgreSQL server ${PG} is running`);
  });

  it('keeps the driver\'s own code, and SQLITE_ERROR for a SQLite failure without one', () => {
    const logged: Array<{ code: string }> = [];
    const logger = { error: (fields: { code: string }) => logged.push(fields), info: () => {} } as unknown as Parameters<typeof createStorageHealth>[1];
    const health = createStorageHealth('/var/lib/farol/farol.db', logger);
    health.writeFailed(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), 1_000);
    health.writeSucceeded();
    health.writeFailed(new Error('something odd'), 2_000);
    expect(logged.map((entry) => entry.code)).toEqual(['SQLITE_FULL', 'SQLITE_ERROR']);
  });
});
