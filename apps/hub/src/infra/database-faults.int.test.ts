import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningHub } from '../main.js';
import { startHub } from '../testing/start-test-hub.js';
import { connectPeer, emitAck, enrollPeer, hello, sample } from '../testing/protocol-peer.js';
import { DatabaseStartError, openSqliteDatabase } from './database.js';
import { migrations } from './migrations.js';
import { isPostgresRun } from '../testing/postgres-test-db.js';
/** These tests open, damage or copy the SQLite file itself (or test a SQLite-only feature): not on the int-pg run (#13). */
const onPostgres = isPostgresRun();

/*
 * Fault injection against real SQLite files (issue #12). Full disks are real: a tmpfs of a few
 * hundred KiB mounted for the test (needs root, as in the fault-injection pass and in CI's
 * container).
 */

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'farol-faults-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A tmpfs of `size` at a fresh directory, unmounted after the test. */
function smallDisk(size: string): { dir: string; resize(size: string): void } {
  const dir = tempDir();
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  cleanups.push(() => {
    execFileSync('umount', ['-l', dir]);
  });
  return { dir, resize: (bigger) => execFileSync('mount', ['-o', `remount,size=${bigger}`, dir]) };
}

/** Fills the file system holding `dir` to the last byte; returns the filler's path. */
function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (let i = 0; i < 100_000; i++) writeSync(fd, chunk);
    throw new Error('the disk never filled up');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return filler;
}

function appliedMigrations(file: string): string[] {
  const sqlite = new SQLite(file, { readonly: true });
  try {
    return (sqlite.prepare('select name from kysely_migration order by name').all() as { name: string }[]).map((row) => row.name);
  } finally {
    sqlite.close();
  }
}

async function startOn(dataDir: string, logs?: string[]): Promise<RunningHub> {
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs?.push(chunk.toString());
      done();
    },
  });
  const hub = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: logs ? 'warn' : 'silent' }, { FAROL_ROLLUP_INTERVAL: '1h' }, { logDestination });
  cleanups.push(() => hub.close());
  return hub;
}

describe('a migration cut short (#12)', () => {
  it('leaves nothing behind on a full disk, says why, and the next start on a bigger disk succeeds (#12)', async () => {
    const disk = smallDisk('320k');
    const first = await openSqliteDatabase(disk.dir).then(
      () => null,
      (error: unknown) => error,
    );
    expect(first).toBeInstanceOf(DatabaseStartError);
    // The real cause and what to do, not just "migration 0020_alerts failed".
    expect((first as Error).message).toMatch(/database migration \d{4}_\w+ failed on .*farol\.db: database or disk is full; nothing of it was kept; free space/);
    const failed = /migration (\d{4}_\w+) failed/.exec((first as Error).message)![1]!;
    expect(appliedMigrations(path.join(disk.dir, 'farol.db'))).not.toContain(failed);

    disk.resize('16m');
    const { db, storage } = await openSqliteDatabase(disk.dir);
    cleanups.push(() => db.destroy());
    expect(appliedMigrations(path.join(disk.dir, 'farol.db'))).toEqual(Object.keys(migrations).sort());
    expect(storage.status()).toEqual({ writes: 'ok', integrity: 'ok' });
  });
});

describe('database files (#12, #11)', () => {
  it('creates farol.db, -wal and -shm readable by the hub user only (#11)', async () => {
    const dir = tempDir();
    const { db } = await openSqliteDatabase(dir);
    cleanups.push(() => db.destroy());
    for (const name of ['farol.db', 'farol.db-wal', 'farol.db-shm']) {
      expect((statSync(path.join(dir, name)).mode & 0o777).toString(8), name).toBe('600');
    }
  });

  it('names the file and the fix when the database cannot be opened (#12)', async () => {
    const dir = tempDir();
    const blocked = path.join(dir, 'not-a-dir');
    closeSync(openSync(blocked, 'w'));
    await expect(openSqliteDatabase(blocked)).rejects.toThrow(new RegExp(`cannot open the database ${blocked}/farol\\.db: .*; check that ${blocked} exists and is writable`));
  });

  it.skipIf(onPostgres)('reports a database damaged in the middle in /ready and /metrics (#12)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'farol.db');
    {
      const { db } = await openSqliteDatabase(dir);
      await db.destroy();
    }
    // Padding so the damage lands in a b-tree page, not in the header.
    const sqlite = new SQLite(file);
    sqlite.exec('create table padding (id integer primary key, body text); ');
    const insert = sqlite.prepare('insert into padding (body) values (?)');
    for (let i = 0; i < 400; i++) insert.run('x'.repeat(900));
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    sqlite.close();
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    const pages = bytes.length / pageSize;
    const fd = openSync(file, 'r+');
    // Garbage over a page in the middle of the padding table.
    writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, Math.floor(pages * 0.8) * pageSize);
    closeSync(fd);

    const hub = await startOn(dir);
    const ready = await fetch(`${hub.url}/ready`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { integrity: string; detail: string };
    expect(body.integrity).toBe('failed');
    expect(body.detail).toMatch(/farol db check/);
    const metrics = await (await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
    expect(metrics).toMatch(/^farol_db_integrity_ok\{hub="[^"]+"\} 0$/m);
  });
});

describe('a full disk at run time (#12)', () => {
  it.skipIf(onPostgres)('makes the hub not ready with the cause, keeps reads and agents, and recovers without a restart (#12)', async () => {
    const disk = smallDisk('6m');
    const logs: string[] = [];
    const hub = await startOn(disk.dir, logs);
    const api = (route: string): Promise<Response> => fetch(`${hub.url}${route}`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
    const joined = await fetch(`${hub.url}/api/join-tokens`, { method: 'POST', headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' }, body: '{}' });
    const peer = await enrollPeer(hub.url, ((await joined.json()) as { token: string }).token, 'full-disk');
    const first = await connectPeer(hub.url, peer);
    cleanups.push(() => void first.socket?.close());
    expect((await hello(first.socket!)).ok).toBe(true);
    expect((await readyOf(hub)).status).toBe(200);

    const filler = fillDisk(disk.dir);
    // The WAL reuses its pages after a checkpoint: a few batches are needed before a write needs new space.
    let ts = Date.now() - 1_000_000;
    let refused: { ok: boolean; error?: { code: string } } | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const samples = Array.from({ length: 500 }, () => sample((ts += 1000)));
      const ack = await emitAck<{ stored: number }>(first.socket!, 'metrics:report', { samples });
      if (!ack.ok) refused = ack;
    }
    // Not "stored": the agent keeps the samples in its buffer and sends them again.
    expect(refused).toMatchObject({ ok: false, error: { code: 'unavailable' } });

    const notReady = await readyOf(hub);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ status: 'not_ready', writes: 'failing' });
    expect(notReady.body.detail).toMatch(/database or disk is full; free space on the disk holding .*farol\.db/);
    // The log says it once, with the real error, not "cannot rollback - no transaction is active".
    expect(logs.join('')).toMatch(/database writes failing \(database or disk is full\)/);
    expect(logs.join('')).not.toMatch(/cannot rollback/);
    // Reads keep working.
    expect((await api('/api/agents')).status).toBe(200);
    // A reconnecting agent is let in while nothing can be written.
    first.socket!.close();
    const again = await connectPeer(hub.url, peer);
    cleanups.push(() => void again.socket?.close());
    expect((await hello(again.socket!)).ok).toBe(true);

    rmSync(filler);
    const stored = await emitAck<{ stored: number }>(again.socket!, 'metrics:report', { samples: [sample((ts += 1000))] });
    expect(stored).toMatchObject({ ok: true, data: { stored: 1 } });
    expect(await readyOf(hub)).toMatchObject({ status: 200, body: { status: 'ready', writes: 'ok' } });
  });
});

async function readyOf(hub: RunningHub): Promise<{ status: number; body: { status: string; writes?: string; detail?: string } }> {
  const response = await fetch(`${hub.url}/ready`);
  return { status: response.status, body: (await response.json()) as { status: string; writes?: string; detail?: string } };
}
