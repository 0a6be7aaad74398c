import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BackupArchiveError, decryptBackup, extractEntry, readPayloadIndex, type BackupManifest } from './backup-archive.js';
import { BACKUP_KEY_FILES } from './backups.service.js';

const RESTORABLE = new Set<string>(['farol.db', ...BACKUP_KEY_FILES]);

/** Restore refused before anything was written (the target directory is in use). */
export class RestoreTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreTargetError';
  }
}

/**
 * `farol backup restore`: decrypts `file` into a new, empty data directory. Nothing is left
 * behind on failure; an existing data directory with files is never touched.
 */
export async function restoreBackup({ file, passphrase, dataDir }: { file: string; passphrase: string; dataDir: string }): Promise<{ manifest: BackupManifest; dataDir: string }> {
  const target = path.resolve(dataDir);
  if (!existsSync(file)) throw new RestoreTargetError(`no backup file ${file}`);
  const existed = existsSync(target);
  if (existed && readdirSync(target).length > 0) {
    throw new RestoreTargetError(`${target} is not empty: restore into a new or empty directory, then point the hub at it (--data / FAROL_DATA_DIR)`);
  }
  mkdirSync(target, { recursive: true, mode: 0o700 });
  const payload = path.join(target, '.restore-payload');
  try {
    await decryptBackup(file, passphrase, payload);
    const { manifest, entries } = readPayloadIndex(payload);
    for (const entry of entries) {
      if (!RESTORABLE.has(entry.name)) throw new BackupArchiveError(`the backup holds an unexpected file "${entry.name}"`, 'damaged');
      await extractEntry(payload, entry, path.join(target, entry.name));
    }
    rmSync(payload, { force: true });
    return { manifest, dataDir: target };
  } catch (error) {
    // The directory was empty (or absent) before: everything in it now is ours to remove.
    if (existed) for (const name of readdirSync(target)) rmSync(path.join(target, name), { recursive: true, force: true });
    else rmSync(target, { recursive: true, force: true });
    throw error;
  }
}
