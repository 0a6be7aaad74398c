import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@farol/test-support';
import { startHub } from '../../testing/start-test-hub.js';
import { restoreBackup } from './backup-restore.js';
import { isPostgresRun } from '../../testing/postgres-test-db.js';
/** These tests open, damage or copy the SQLite file itself (or test a SQLite-only feature): not on the int-pg run (#13). */
const onPostgres = isPostgresRun();

const dir = mkdtempSync(path.join(tmpdir(), 'farol-backups-int-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PASSPHRASE = 'scheduled backup passphrase';

// SQLite only: the int-pg project leaves this file out (vitest.config.ts); PostgreSQL hubs answer 409.
describe.skipIf(onPostgres)('scheduled backups on a running hub (#15)', () => {
  it('writes a backup at start when the newest is older than FAROL_BACKUP_EVERY, keeps FAROL_BACKUP_KEEP of them, and it restores', async () => {
    const backupDir = path.join(dir, 'backups');
    mkdirSync(backupDir);
    const old = ['farol-backup-20261101T000000Z.fbk', 'farol-backup-20261102T000000Z.fbk', 'farol-backup-20261103T000000Z.fbk'];
    for (const name of old) {
      writeFileSync(path.join(backupDir, name), 'old');
      utimesSync(path.join(backupDir, name), new Date('2026-11-03'), new Date('2026-11-03'));
    }
    const passphraseFile = path.join(dir, 'passphrase');
    writeFileSync(passphraseFile, `${PASSPHRASE}\n`);
    const hub = await startHub(
      { port: 0, bind: '127.0.0.1', dataDir: path.join(dir, 'data'), logLevel: 'silent' },
      { FAROL_ROLLUP_INTERVAL: '1h', FAROL_BACKUP_EVERY: '24h', FAROL_BACKUP_KEEP: '2', FAROL_BACKUP_DIR: backupDir, FAROL_BACKUP_PASSPHRASE_FILE: passphraseFile },
    );
    try {
      const fresh = await waitFor(() => readdirSync(backupDir).find((name) => name.endsWith('.fbk') && !old.includes(name)), 20_000, 'a scheduled backup');
      await waitFor(() => (readdirSync(backupDir).length === 2 ? true : undefined), 5_000, 'old backups pruned');
      expect(readdirSync(backupDir).sort()).toEqual([old[2], fresh].sort());
      const { manifest } = await restoreBackup({ file: path.join(backupDir, fresh), passphrase: PASSPHRASE, dataDir: path.join(dir, 'restored') });
      expect(manifest.files).toEqual(['farol.db', 'hub-key.json', 'secret.key', 'admin-token']);
      const audit = await fetch(`${hub.url}/api/audit?action=backup.create`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
      expect(JSON.stringify(await audit.json())).toContain('"scheduled":true');
    } finally {
      await hub.close();
    }
  });

  it('refuses a passphrase shorter than 12 characters with a problem body, and leaves no snapshot behind', async () => {
    const dataDir = path.join(dir, 'short');
    const hub = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'silent' }, { FAROL_ROLLUP_INTERVAL: '1h' });
    try {
      const response = await fetch(`${hub.url}/api/backups`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ passphrase: 'short' }),
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe('validation_failed');
      const ok = await fetch(`${hub.url}/api/backups`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ passphrase: PASSPHRASE }),
      });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-disposition')).toMatch(/^attachment; filename="farol-backup-\d{8}T\d{6}Z\.fbk"$/);
      expect(Buffer.from(await ok.arrayBuffer()).subarray(0, 15).toString()).toBe('FAROL-BACKUP 1\n');
      expect(readdirSync(dataDir).filter((name) => name.startsWith('.backup-'))).toEqual([]);
    } finally {
      await hub.close();
    }
  });

  it('refuses FAROL_BACKUP_EVERY without a passphrase, naming both settings', async () => {
    await expect(startHub({ port: 0, bind: '127.0.0.1', dataDir: path.join(dir, 'nopass'), logLevel: 'silent' }, { FAROL_BACKUP_EVERY: '24h' })).rejects.toThrow(/FAROL_BACKUP_PASSPHRASE_FILE/);
  });
});
