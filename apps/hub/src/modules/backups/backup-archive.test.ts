import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackupArchiveError, encryptBackup, writeBackupFile, type BackupManifest } from './backup-archive.js';
import { restoreBackup } from './backup-restore.js';
import { backupFileName, backupsToPrune, nextBackupDelay } from './backups.service.js';

const dir = mkdtempSync(path.join(tmpdir(), 'farol-backup-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PASSPHRASE = 'correct horse battery staple';
const manifest: BackupManifest = { format: 1, createdAt: '2026-12-06T06:30:00.000Z', farolVersion: 'test', files: ['farol.db', 'hub-key.json'], notes: [] };

async function makeBackup(name: string): Promise<string> {
  const source = path.join(dir, `${name}-src`);
  mkdirSync(source);
  writeFileSync(path.join(source, 'db'), Buffer.alloc(3_000_000, 7));
  writeFileSync(path.join(source, 'key'), '{"kty":"OKP"}\n');
  const file = path.join(dir, `${name}.fbk`);
  await writeBackupFile(file, encryptBackup(manifest, [{ name: 'farol.db', path: path.join(source, 'db') }, { name: 'hub-key.json', path: path.join(source, 'key') }], PASSPHRASE));
  return file;
}

describe('backup files (#15)', () => {
  it('restores every file byte for byte with the right passphrase, and nothing is readable without it', async () => {
    const file = await makeBackup('roundtrip');
    expect(readFileSync(file).includes(Buffer.from('{"kty":"OKP"}'))).toBe(false);
    const target = path.join(dir, 'restored');
    const { manifest: read } = await restoreBackup({ file, passphrase: PASSPHRASE, dataDir: target });
    expect(read.files).toEqual(['farol.db', 'hub-key.json']);
    expect(readdirSync(target).sort()).toEqual(['farol.db', 'hub-key.json']);
    expect(readFileSync(path.join(target, 'farol.db')).equals(Buffer.alloc(3_000_000, 7))).toBe(true);
    expect(readFileSync(path.join(target, 'hub-key.json'), 'utf8')).toBe('{"kty":"OKP"}\n');
  });

  it('says "wrong passphrase" for a wrong passphrase and leaves no directory behind', async () => {
    const file = await makeBackup('wrong');
    const target = path.join(dir, 'wrong-target');
    const failure = await restoreBackup({ file, passphrase: 'not the passphrase at all', dataDir: target }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BackupArchiveError);
    expect((failure as BackupArchiveError).reason).toBe('wrong_passphrase');
    expect((failure as Error).message).toMatch(/^wrong passphrase/);
    expect(readdirSync(dir)).not.toContain('wrong-target');
  });

  it('refuses a changed backup file as damaged', async () => {
    const file = await makeBackup('tampered');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1_000] = bytes[bytes.length - 1_000]! ^ 0x01;
    writeFileSync(file, bytes);
    const failure = await restoreBackup({ file, passphrase: PASSPHRASE, dataDir: path.join(dir, 'tampered-target') }).catch((error: unknown) => error);
    expect((failure as BackupArchiveError).reason).toBe('damaged');
    expect(readdirSync(dir)).not.toContain('tampered-target');
  });

  it('refuses to restore into a data directory that has files, and leaves them alone', async () => {
    const file = await makeBackup('busy');
    const target = path.join(dir, 'busy-target');
    mkdirSync(target);
    writeFileSync(path.join(target, 'farol.db'), 'live data');
    await expect(restoreBackup({ file, passphrase: PASSPHRASE, dataDir: target })).rejects.toThrow(/is not empty/);
    expect(readFileSync(path.join(target, 'farol.db'), 'utf8')).toBe('live data');
  });
});

describe('scheduled backups (#15)', () => {
  it('keeps the newest FAROL_BACKUP_KEEP backups and never touches other files', () => {
    const names = ['farol-backup-20261201T000000Z.fbk', 'farol-backup-20261203T000000Z.fbk', 'farol-backup-20261202T000000Z.fbk', 'notes.txt', 'farol-backup-20261204T000000Z.fbk.part'];
    expect(backupsToPrune(names, 2)).toEqual(['farol-backup-20261201T000000Z.fbk']);
    expect(backupsToPrune(names, 7)).toEqual([]);
  });

  it('continues the schedule from the newest backup after a restart instead of starting over', () => {
    const hour = 3_600_000;
    expect(nextBackupDelay(null, 24 * hour, 100 * hour)).toBe(0);
    expect(nextBackupDelay(90 * hour, 24 * hour, 100 * hour)).toBe(14 * hour);
    expect(nextBackupDelay(50 * hour, 24 * hour, 100 * hour)).toBe(0);
  });

  it('names backups so that they sort by time', () => {
    expect(backupFileName(Date.UTC(2026, 11, 6, 6, 30, 5))).toBe('farol-backup-20261206T063005Z.fbk');
  });
});
