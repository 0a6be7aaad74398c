import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL tests use: FAROL_TEST_DATABASE_URL (set by .ci/run), else this machine's. */
export function testPostgresUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.FAROL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** True when the suite runs against PostgreSQL (`FAROL_TEST_DB=postgres`, issue #13). */
export function isPostgresRun(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.FAROL_TEST_DB === 'postgres';
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function onAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A database of its own for one test or one hub, so test files run in parallel: created from
 * the test database's server, dropped (with any connection still on it) by `drop`. `key` makes
 * the name stable, so a hub restarted on the same data directory finds its data again.
 */
export async function createTestDatabase(key?: string, adminUrl = testPostgresUrl()): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const suffix = key ? createHash('sha256').update(key).digest('hex').slice(0, 20) : randomBytes(10).toString('hex');
  const name = `farol_t_${suffix}`;
  await onAdmin(adminUrl, async (client) => {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database ${name}`);
  });
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: () => onAdmin(adminUrl, async (client) => void (await client.query(`drop database if exists ${name} with (force)`))),
  };
}
