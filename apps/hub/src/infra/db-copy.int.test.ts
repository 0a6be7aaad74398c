import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseCopyError } from './db-copy.js';
// Through main.ts, as `farol db copy` calls it: main.ts wires the audit chain check.
import { copyDatabase, startHub } from '../main.js';
import { startHubFixture } from '../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, sample } from '../testing/protocol-peer.js';
import { createTestDatabase } from '../testing/postgres-test-db.js';

describe('farol db copy (#13)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('moves a SQLite hub to PostgreSQL: users, audit chain, history and agents that reconnect without enrolling again (#13)', async () => {
    const source = await startHubFixture();
    cleanup.push(async () => rmSync(source.dataDir, { recursive: true, force: true }));
    const peer = await enrollPeer(source.url, await source.createJoinToken(), 'moved-host');
    const link = await connectPeer(source.url, peer);
    expect(await hello(link.socket!, 10_000, 'moved-host')).toMatchObject({ ok: true });
    expect(await emitAck(link.socket!, 'metrics:report', { samples: [sample(Date.now() - 1_000, 42)] })).toMatchObject({ ok: true });
    link.socket!.close();
    expect((await source.api('POST', '/api/users', { username: 'carol', password: 'correct horse battery staple 9', role: 'viewer' })).status).toBe(201);
    await source.close();

    const target = await createTestDatabase();
    cleanup.push(() => target.drop());
    const report = await copyDatabase({ from: source.dataDir, to: { url: target.url, poolSize: 2 } });
    expect(report.audit.ok).toBe(true);
    expect(report.audit.entries).toBeGreaterThan(2);
    expect(report.tables.find((t) => t.table === 'agents')?.rows).toBe(1);
    expect(report.tables.find((t) => t.table === 'metrics_raw')?.rows).toBe(1);
    expect(report.tables.findIndex((t) => t.table === 'users')).toBeLessThan(report.tables.findIndex((t) => t.table === 'sessions'));

    const moved = await startHub({ port: 0, bind: '127.0.0.1', dataDir: source.dataDir, logLevel: 'silent', databaseUrl: target.url }, { FAROL_ROLLUP_INTERVAL: '1h' });
    try {
      const again = await connectPeer(moved.url, peer);
      expect(again.error).toBeUndefined();
      expect(await hello(again.socket!, 10_000, 'moved-host')).toMatchObject({ ok: true });
      again.socket!.close();
      const headers = { authorization: `Bearer ${moved.adminToken}` };
      const users = (await (await fetch(`${moved.url}/api/users`, { headers })).json()) as { items?: Array<{ username: string }> } | Array<{ username: string }>;
      expect(JSON.stringify(users)).toContain('"carol"');
      const verify = (await (await fetch(`${moved.url}/api/audit/verify`, { headers })).json()) as { ok: boolean; entries: number };
      expect(verify).toMatchObject({ ok: true });
      // New rows continue after the copied ids.
      expect((await fetch(`${moved.url}/api/join-tokens`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' })).status).toBe(201);
      const history = (await (await fetch(`${moved.url}/api/agents/${peer.agentId}/metrics?resolution=raw`, { headers })).json()) as { points: Array<{ values: { cpu: { avg: number } } }> };
      expect(history.points.map((p) => p.values.cpu.avg)).toEqual([42]);
    } finally {
      await moved.close();
    }
  });

  it('refuses a target that is not empty unless --force (#13)', async () => {
    const source = await startHubFixture();
    await source.close();
    cleanup.push(async () => rmSync(source.dataDir, { recursive: true, force: true }));
    const target = await createTestDatabase();
    cleanup.push(() => target.drop());
    await copyDatabase({ from: source.dataDir, to: { url: target.url, poolSize: 2 } });
    const refused = await copyDatabase({ from: source.dataDir, to: { url: target.url, poolSize: 2 } }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DatabaseCopyError);
    expect((refused as Error).message).toMatch(/not empty .*--force/);
    const forced = await copyDatabase({ from: source.dataDir, to: { url: target.url, poolSize: 2 }, force: true });
    expect(forced.audit.ok).toBe(true);
  });

  it('refuses to call a copy good when the copied audit chain does not verify (#13)', async () => {
    const source = await startHubFixture();
    await source.close();
    cleanup.push(async () => rmSync(source.dataDir, { recursive: true, force: true }));
    const file = new SQLite(path.join(source.dataDir, 'farol.db'));
    // Someone with the file can drop the trigger; the copy's chain check still gives them away.
    file.exec('drop trigger audit_log_no_update');
    const victim = file.prepare('select max(seq) as seq from audit_log').get() as { seq: number };
    file.prepare('update audit_log set actor = ? where seq = ?').run('someone-else', victim.seq);
    file.close();
    const target = await createTestDatabase();
    cleanup.push(() => target.drop());
    const refused = await copyDatabase({ from: source.dataDir, to: { url: target.url, poolSize: 2 } }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DatabaseCopyError);
    expect((refused as Error).message).toContain(`does not verify on the target (entry ${victim.seq}: its content does not match its hash`);
  });

  it('copies screenshots and terminal recordings byte for byte (#14)', async () => {
    const source = await startHubFixture();
    await source.close();
    cleanup.push(async () => rmSync(source.dataDir, { recursive: true, force: true }));
    const chunks = Array.from({ length: 20 }, () => randomBytes(512 * 1024));
    const file = new SQLite(path.join(source.dataDir, 'farol.db'));
    const insert = file.prepare('insert into terminal_recordings (session_id, seq, data) values (?, ?, ?)');
    chunks.forEach((chunk, seq) => insert.run('trm_copied', seq, chunk));
    file.prepare('insert into screenshot_chunks (command_id, byte_offset, bytes, data, created_at) values (?, 0, 3, ?, 1)').run('cmd_copied', Buffer.from([0, 1, 255]));
    file.close();
    const target = await createTestDatabase();
    cleanup.push(() => target.drop());
    const report = await copyDatabase({ from: source.dataDir, to: { url: target.url, poolSize: 2 } });
    expect(report.tables.find((t) => t.table === 'terminal_recordings')?.rows).toBe(20);
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      const copied = await client.query<{ data: Buffer }>('select data from terminal_recordings where session_id = $1 order by seq', ['trm_copied']);
      expect(Buffer.concat(copied.rows.map((r) => r.data)).equals(Buffer.concat(chunks))).toBe(true);
      const shot = await client.query<{ data: Buffer }>('select data from screenshot_chunks where command_id = $1', ['cmd_copied']);
      expect([...shot.rows[0]!.data]).toEqual([0, 1, 255]);
    } finally {
      await client.end();
    }
  });
});
