import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../cli-error.js';
import { readBackupPassphrase } from './backup-create.js';

const dir = mkdtempSync(path.join(tmpdir(), 'farol-backup-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the backup passphrase (#15)', () => {
  it('comes from --passphrase-file without its final newline, before FAROL_BACKUP_PASSPHRASE', () => {
    writeFileSync(path.join(dir, 'pass'), 'from the file, twelve+\n');
    expect(readBackupPassphrase({ cwd: dir, env: { FAROL_BACKUP_PASSPHRASE: 'from the environment' } }, 'pass')).toBe('from the file, twelve+');
    expect(readBackupPassphrase({ cwd: dir, env: { FAROL_BACKUP_PASSPHRASE: 'from the environment' } }, undefined)).toBe('from the environment');
  });

  it('without one, says in one line how to give it (never as a flag value)', () => {
    const failure = (() => {
      try {
        return readBackupPassphrase({ cwd: dir, env: {} }, undefined);
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toBe('no backup passphrase: pass --passphrase-file FILE or set FAROL_BACKUP_PASSPHRASE');
  });

  it('refuses an empty or missing passphrase file', () => {
    writeFileSync(path.join(dir, 'empty'), '\n');
    expect(() => readBackupPassphrase({ cwd: dir, env: {} }, 'empty')).toThrow(/is empty/);
    expect(() => readBackupPassphrase({ cwd: dir, env: {} }, 'missing')).toThrow(/no passphrase file/);
  });
});
