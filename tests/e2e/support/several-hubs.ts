import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createTestDatabase, testPostgresUrl } from '../../../apps/hub/src/testing/postgres-test-db.js';
import { freePort, startHubProcess, tempDir, type Proc } from './processes.js';

/** The hubs' presence lease (infra/redis-presence-directory.ts HUB_LEASE_MS). */
export const HUB_LEASE_MS = 15_000;

/** Why several-hubs tests cannot run here, or null (they need this machine's PostgreSQL and Redis). */
export const severalHubsSkipReason: string | null =
  process.env.FAROL_TEST_DATABASE_URL && process.env.FAROL_TEST_REDIS_URL ? null : 'several hubs need FAROL_TEST_DATABASE_URL and FAROL_TEST_REDIS_URL (.ci/run sets both)';

/** One `farol hub` process of a fleet; `start` again gives it the same id, port and data directory. */
export interface FleetHub {
  name: string;
  id: string;
  dataDir: string;
  port: number;
  url: string;
  proc: Proc & { url: string };
  isAlive(): boolean;
}

export interface SeveralHubs {
  readonly runId: string;
  /** A temporary directory of the file's own (hub data directories live under it). */
  readonly dir: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** What every hub of the fleet gets: database, Redis, the shared identity, the file's settings. */
  readonly env: Record<string, string>;
  readonly hubs: FleetHub[];
  hub(name: string): FleetHub;
  /** Starts hub `name` (again, after a stop or a kill: same id, port and data directory). */
  start(name: string, env?: Record<string, string>): Promise<FleetHub>;
  /** Rows of a query on the fleet's database. */
  query<T extends object>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Stops every hub still running, drops the database, empties the Redis database, removes the directory. */
  close(): Promise<void>;
}

export interface SeveralHubsOptions {
  /** Names the database and the hub ids (`<idPrefix>-<hub name>-<run id>`). */
  idPrefix: string;
  /**
   * The file's own Redis database number on FAROL_TEST_REDIS_URL: the hubs' key and channel
   * prefix follows it (`farol:<db>:`, infra/redis.ts). Emptied before the hubs start, so every
   * run begins from a fresh prefix. Taken: 8 authorization, 9 fanout-kill, 10 the checks
   * several-hubs int test, 11 failover, 12 security, 13 leadership, 14 routing, 15 rebalance (outages runs a
   * redis-server of its own).
   */
  redisDb: number;
  /** Another Redis (a private redis-server), instead of FAROL_TEST_REDIS_URL. */
  redisBaseUrl?: string;
  /** Hubs to start at once (all together, as a deployment of replicas does). */
  start?: string[];
  env?: Record<string, string>;
  /** Several hubs starting together on a loaded 2-core machine may take a while. */
  readyTimeoutMs?: number;
  /** The database's server, e.g. a proxy in front of the machine's PostgreSQL (the database is created through the machine's). */
  databaseServerUrl?: (url: string) => string;
}

/**
 * Several real `farol hub` processes on one fresh PostgreSQL database and one fresh Redis key
 * prefix, sharing one hub identity (signing key and secret-sealing key handed out through
 * FAROL_HUB_KEY_FILE / FAROL_SECRET_KEY_FILE, as docs/scaling.md tells an operator to do).
 */
export async function startSeveralHubs(options: SeveralHubsOptions): Promise<SeveralHubs> {
  const runId = randomBytes(3).toString('hex');
  const dir = tempDir(options.idPrefix);
  const database = await createTestDatabase(`${options.idPrefix}:${runId}`, testPostgresUrl());
  const databaseUrl = options.databaseServerUrl ? options.databaseServerUrl(database.url) : database.url;
  const redisUrl = (() => {
    const url = new URL(options.redisBaseUrl ?? process.env.FAROL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    url.pathname = `/${options.redisDb}`;
    return url.toString();
  })();
  await flushRedis(redisUrl);
  const hubKeyFile = path.join(dir.path, 'hub-key.json');
  writeFileSync(hubKeyFile, JSON.stringify(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })), { mode: 0o600 });
  const secretKeyFile = path.join(dir.path, 'secret.key');
  writeFileSync(secretKeyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const env = {
    FAROL_DATABASE_URL: databaseUrl,
    FAROL_REDIS_URL: redisUrl,
    FAROL_HUB_KEY_FILE: hubKeyFile,
    FAROL_SECRET_KEY_FILE: secretKeyFile,
    FAROL_LOG_LEVEL: 'warn',
    ...options.env,
    // Debugging a failure: FAROL_TEST_HUB_LOG_LEVEL=info FAROL_TEST_HUB_LOGS=/tmp/dir keeps every hub's output.
    ...(process.env.FAROL_TEST_HUB_LOG_LEVEL ? { FAROL_LOG_LEVEL: process.env.FAROL_TEST_HUB_LOG_LEVEL } : {}),
  };
  const keptLogs = process.env.FAROL_TEST_HUB_LOGS;
  const hubs: FleetHub[] = [];

  const fleet: SeveralHubs = {
    runId,
    dir: dir.path,
    databaseUrl: database.url,
    redisUrl,
    env,
    hubs,
    hub(name) {
      const found = hubs.find((hub) => hub.name === name);
      if (!found) throw new Error(`no hub ${name} in this fleet`);
      return found;
    },
    async start(name, extra = {}) {
      const known = hubs.find((hub) => hub.name === name);
      if (known?.isAlive()) throw new Error(`hub ${name} is already running`);
      const spec = known ?? { name, id: `${options.idPrefix}-${name}-${runId}`, dataDir: path.join(dir.path, `hub-${name}`), port: await freePort() };
      const proc = await startHubProcess(spec.dataDir, spec.port, { ...env, FAROL_HUB_ID: spec.id, ...extra }, { readyTimeoutMs: options.readyTimeoutMs ?? 90_000 });
      if (keptLogs) {
        mkdirSync(keptLogs, { recursive: true });
        const file = path.join(keptLogs, `${spec.id}.${Date.now()}.log`);
        void proc.exited.then(() => writeFileSync(file, proc.output()));
      }
      const hub: FleetHub = {
        name: spec.name,
        id: spec.id,
        dataDir: spec.dataDir,
        port: spec.port,
        url: proc.url,
        proc,
        isAlive: () => proc.child.exitCode === null && proc.child.signalCode === null,
      };
      const index = hubs.findIndex((other) => other.name === name);
      if (index === -1) hubs.push(hub);
      else hubs[index] = hub;
      return hub;
    },
    async query<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        return (await client.query<T>(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    async close() {
      for (const hub of hubs) await hub.proc.stop();
      await database.drop();
      await flushRedis(redisUrl).catch((error: unknown) => console.warn(`several hubs: could not empty ${redisUrl}: ${(error as Error).message}`));
      dir.remove();
    },
  };
  try {
    await Promise.all((options.start ?? []).map((name) => fleet.start(name)));
  } catch (error) {
    await fleet.close();
    throw error;
  }
  return fleet;
}

/** Empties one Redis database (the file's own number), so no key of an earlier run is seen. */
async function flushRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}
