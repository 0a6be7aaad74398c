import { createServer, connect, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepositories, createUnitOfWork } from '../modules/repositories.js';
import { openPostgresDatabase } from './postgres.js';
import { DatabaseStartError, type Db } from './database.js';
import { migrations } from './migrations.js';
import { insertRows, updateRowsByKey } from './bulk-sql.js';
import { createTestDatabase, testPostgresUrl } from '../testing/postgres-test-db.js';
import { startHubFixture, waitFor } from '../testing/hub-fixture.js';
import { createAuditService } from '../modules/audit/audit.service.js';
import { connectPeer, emitAck, enrollPeer, hello, sample } from '../testing/protocol-peer.js';
import { createLogger } from './logger.js';

/** A loopback TCP relay to the test PostgreSQL that a test can cut and restore, as a database going away. */
function databaseRelay(target: URL, fixedPort = 0) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = fixedPort;
  return {
    async start(): Promise<number> {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          // A cut relay resets both ends; the hub sees a lost connection, which is the point.
          socket.on('error', () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
      return port;
    },
    async stop(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = null;
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function viaPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}

describe('PostgreSQL (#13)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    ({ db } = await openPostgresDatabase({ url: database.url, poolSize: 10 }));
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('migrates a fresh PostgreSQL database, with the audit log append-only there too', async () => {
    const tables = (await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public'`.execute(db)).rows.map((r) => r.table_name);
    expect(tables).toEqual(expect.arrayContaining(['agents', 'audit_log', 'job_targets', 'metrics_raw', 'kysely_migration']));
    await sql`insert into audit_log (seq, at, actor, action, details, prev_hash, hash) values (1000000, 1, 'x', 'y', '{}', 'a', 'b')`.execute(db);
    await expect(sql`update audit_log set actor = 'z' where seq = 1000000`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log where seq = 1000000`.execute(db)).rejects.toThrow(/append-only/);
  });

  it('keeps a chain that verifies with 8 concurrent writers on a pool (#13)', async () => {
    const fresh = await createTestDatabase();
    const opened = await openPostgresDatabase({ url: fresh.url, poolSize: 10 });
    try {
      const repos = createRepositories(opened.db);
      const audit = createAuditService({ audit: repos.audit, unitOfWork: createUnitOfWork(opened.db), clock: { now: () => Date.now() }, logger: createLogger('silent') });
      await Promise.all(
        Array.from({ length: 8 }, (_, writer) =>
          (async () => {
            for (let i = 0; i < 25; i++) await audit.record({ actor: `writer-${writer}`, action: 'agent.enroll', details: { i } });
          })(),
        ),
      );
      expect(await audit.verify()).toMatchObject({ ok: true, entries: 200 });
    } finally {
      await opened.db.destroy();
      await fresh.drop();
    }
  });

  it('writes and updates a 2,500-machine fan-out in bulk statements, values typed by their columns (#13)', async () => {
    await db
      .insertInto('jobs')
      .values({ id: 'job_bulk', command: '{}', targets_spec: '{}', state: 'running', ttl_ms: 60_000, timeout_ms: 60_000, created_by: 'admin', created_at: 1, expires_at: 2, cancelled_at: null, finished_at: null, total: 2_500 })
      .execute();
    const ids = Array.from({ length: 2_500 }, (_, i) => `cmd_${String(i).padStart(5, '0')}`);
    await insertRows(db, 'job_targets', ['command_id', 'job_id', 'agent_id', 'agent_name', 'state', 'stdout', 'stderr'], ids.map((id, i) => [id, 'job_bulk', `ag_${i}`, `m-${i}`, 'pending', '', '']), 1_000);
    await updateRowsByKey(db, 'job_targets', 'command_id', ['state', 'exit_code', 'stdout', 'ended_at', 'data'], ids.map((id, i) => [id, 'succeeded', i % 3, `out ${i} 'quoted' \\ \u00e9`, 1_796_538_980_038 + i, null]), 1_000);
    const rows = await db.selectFrom('job_targets').select(['command_id', 'state', 'exit_code', 'stdout', 'ended_at', 'data']).where('job_id', '=', 'job_bulk').orderBy('command_id').execute();
    expect(rows).toHaveLength(2_500);
    expect(rows[2_499]).toEqual({ command_id: 'cmd_02499', state: 'succeeded', exit_code: 2_499 % 3, stdout: `out 2499 'quoted' \\ \u00e9`, ended_at: 1_796_538_980_038 + 2_499, data: null });
  });

  it('migrates once when two hubs start on the same empty database together', async () => {
    const fresh = await createTestDatabase();
    try {
      const both = await Promise.all([openPostgresDatabase({ url: fresh.url, poolSize: 2 }), openPostgresDatabase({ url: fresh.url, poolSize: 2 })]);
      const applied = (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(both[0].db)).rows.map((r) => r.name);
      expect(applied).toEqual(Object.keys(migrations).sort());
      for (const { db: each } of both) await each.destroy();
    } finally {
      await fresh.drop();
    }
  });

  it('waits for a database that is down at start, saying so in the log, and starts when it comes (#13)', async () => {
    const port = await freePort();
    const relay = databaseRelay(new URL(database.url), port);
    const lines = new PassThrough();
    const seen: string[] = [];
    lines.on('data', (chunk: Buffer) => seen.push(...chunk.toString().trim().split('\n')));
    const opening = openPostgresDatabase({ url: viaPort(database.url, port), poolSize: 2 }, { logger: createLogger('info', { destination: lines }) });
    await waitFor(() => seen.filter((line) => line.includes('database not reachable')).length >= 2, 20_000, 'two retry log lines');
    expect(seen.join('\n')).not.toMatch(/password/);
    // The database appears on the port the hub keeps retrying.
    await relay.start();
    try {
      const opened = await opening;
      expect((await sql<{ one: number }>`select 1 as one`.execute(opened.db)).rows[0]?.one).toBe(1);
      expect(seen.some((line) => line.includes('database reachable'))).toBe(true);
      await opened.db.destroy();
    } finally {
      await relay.stop();
    }
  });

  it('refuses at once a database that does not exist, naming what to check', async () => {
    const missing = new URL(testPostgresUrl());
    missing.pathname = '/farol_no_such_database';
    const started = Date.now();
    const error = await openPostgresDatabase({ url: missing.toString(), poolSize: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseStartError);
    expect((error as Error).message).toMatch(/check the user, password and database name in FAROL_DATABASE_URL/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports writes failing while the database is gone and working once it is back, naming the server and what to check (#13)', async () => {
    const relay = databaseRelay(new URL(database.url));
    const port = await relay.start();
    const target = await createTestDatabase();
    const opened = await openPostgresDatabase({ url: viaPort(target.url, port), poolSize: 2 });
    try {
      await opened.db.insertInto('kv').values({ key: 'before', value: '1' }).execute();
      expect(opened.storage.status()).toMatchObject({ writes: 'ok' });
      await relay.stop();
      await expect(opened.db.insertInto('kv').values({ key: 'during', value: '1' }).execute()).rejects.toThrow();
      const failing = opened.storage.status();
      expect(failing.writes).toBe('failing');
      expect(failing.detail).toContain(`check that the PostgreSQL server postgresql://127.0.0.1:${port}/${target.name} is running`);
      expect(failing.detail).not.toContain('df -h');
      await relay.start();
      await waitFor(async () => {
        try {
          await opened.db.insertInto('kv').values({ key: 'after', value: '1' }).execute();
          return true;
        } catch {
          return false; // the pool may still hand out a connection that died with the relay
        }
      }, 20_000, 'a write after the database came back');
      expect(opened.storage.status()).toMatchObject({ writes: 'ok' });
    } finally {
      await opened.db.destroy();
      await relay.stop();
      await target.drop();
    }
  });

  it('reports the database in /ready while it is gone, keeps agents connected and acknowledges nothing it could not store (#13)', async () => {
    const relay = databaseRelay(new URL(database.url));
    const port = await relay.start();
    const hubDatabase = await createTestDatabase();
    const hub = await startHubFixture({}, { databaseUrl: viaPort(hubDatabase.url, port) });
    try {
      expect((await hub.api('GET', '/ready', undefined, null)).status).toBe(200);
      const peer = await enrollPeer(hub.url, await hub.createJoinToken(), 'through-outage');
      const { socket } = await connectPeer(hub.url, peer);
      expect(await hello(socket!, 10_000, 'through-outage')).toMatchObject({ ok: true });
      await relay.stop();
      const down = await hub.api('GET', '/ready', undefined, null);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: 'not_ready', database: 'error', databaseName: `postgresql://127.0.0.1:${port}/${hubDatabase.name}` });
      // A sample sent while the database is gone is not acknowledged, so the agent keeps it; the agent stays connected.
      const during = Date.now() - 2_000;
      expect(await emitAck(socket!, 'metrics:report', { samples: [sample(during, 77)] })).toMatchObject({ ok: false });
      expect(socket!.connected).toBe(true);
      await relay.start();
      await waitFor(async () => (await hub.api('GET', '/ready', undefined, null)).status === 200, 20_000, 'ready again');
      expect((await hub.api('GET', '/ready', undefined, null)).body).toMatchObject({ writes: 'ok', databaseName: `postgresql://127.0.0.1:${port}/${hubDatabase.name}` });
      expect(await emitAck(socket!, 'metrics:report', { samples: [sample(during, 77)] })).toMatchObject({ ok: true });
      const history = (await hub.api('GET', `/api/agents/${peer.agentId}/metrics?resolution=raw`)).body as { points: Array<{ values: { cpu: { avg: number } } }> };
      expect(history.points.map((p) => p.values.cpu.avg)).toEqual([77]);
      socket!.close();
    } finally {
      await hub.stop();
      await relay.stop();
      await hubDatabase.drop();
    }
  });
});
