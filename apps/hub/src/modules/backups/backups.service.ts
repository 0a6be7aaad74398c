import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { FarolError, FAROL_VERSION } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { AuditService } from '../audit/audit.service.js';
import { encryptBackup, writeBackupFile, type BackupManifest, type BackupSource } from './backup-archive.js';
import type { BackupsRepository } from './backups.repository.js';

/** Data-directory files a backup carries besides the database (docs/adr/0008-backups.md). */
export const BACKUP_KEY_FILES = ['hub-key.json', 'secret.key', 'admin-token'] as const;
export const BACKUP_FILE_PATTERN = /^farol-backup-\d{8}T\d{6}Z(-\d+)?\.fbk$/;

/** `farol-backup-20261206T063000Z.fbk`: names sort by time. */
export function backupFileName(at: number): string {
  return `farol-backup-${new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')}.fbk`;
}

/** The scheduled backups to delete so that the newest `keep` remain (names sort by time). */
export function backupsToPrune(names: readonly string[], keep: number): string[] {
  const backups = names.filter((name) => BACKUP_FILE_PATTERN.test(name)).sort();
  return backups.slice(0, Math.max(0, backups.length - keep));
}

/** How long until the next scheduled backup, given when the newest one was written (null: none yet). */
export function nextBackupDelay(newestAt: number | null, everyMs: number, now: number): number {
  if (newestAt === null) return 0;
  return Math.min(everyMs, Math.max(0, newestAt + everyMs - now));
}

export interface BackupSchedule {
  everyMs: number;
  keep: number;
  dir: string;
  passphrase: string;
}

export interface BackupsService {
  /** An encrypted backup as a stream of chunks; audited as `backup.create` before the copy is taken. */
  open(actor: string, passphrase: string, details?: Record<string, unknown>): Promise<{ fileName: string; chunks: AsyncGenerator<Buffer> }>;
  /** Writes one backup into `dir` (atomically: a .part file renamed) and prunes to `keep`. */
  writeScheduled(schedule: BackupSchedule): Promise<string>;
  /** Starts FAROL_BACKUP_EVERY's timer; returns its stop. */
  startSchedule(schedule: BackupSchedule): () => void;
}

export function createBackupsService({
  repo,
  dataDir,
  isSqlite,
  keysFromEnvironment,
  audit,
  clock,
  logger,
}: {
  repo: BackupsRepository;
  dataDir: string;
  /** PostgreSQL hubs are backed up with pg_dump (docs/operations.md). */
  isSqlite: boolean;
  /** Key files the hub takes from the environment instead (FAROL_SECRET_KEY, FAROL_ADMIN_TOKEN). */
  keysFromEnvironment: string[];
  audit: AuditService;
  clock: Clock;
  logger: Logger;
}): BackupsService {
  // Snapshots a crash left behind (the hub holds the data-directory lock, so none is in use).
  for (const stale of existsSync(dataDir) ? readdirSync(dataDir).filter((name) => /^\.backup-[0-9a-f]{12}\.db$/.test(name)) : []) {
    rmSync(path.join(dataDir, stale), { force: true });
    logger.warn({ file: stale }, 'removed the snapshot of an interrupted backup');
  }

  async function open(actor: string, passphrase: string, details: Record<string, unknown> = {}): Promise<{ fileName: string; chunks: AsyncGenerator<Buffer> }> {
    if (!isSqlite) {
      throw new FarolError('conflict', 'this hub stores its data in PostgreSQL: back it up with pg_dump plus the key files of the data directory (docs/operations.md, "Backups and restores")');
    }
    if (passphrase.length < 12) throw new FarolError('validation_failed', 'the backup passphrase needs at least 12 characters');
    const at = clock.now();
    const fileName = backupFileName(at);
    const keyFiles = BACKUP_KEY_FILES.filter((name) => existsSync(path.join(dataDir, name)));
    // Audited first, so the backup holds its own entry and a restored chain shows where it came from.
    await audit.record({ actor, action: 'backup.create', details: { file: fileName, files: ['farol.db', ...keyFiles], ...details } });
    const snapshot = path.join(dataDir, `.backup-${randomBytes(6).toString('hex')}.db`);
    try {
      await repo.snapshotTo(snapshot);
    } catch (error) {
      rmSync(snapshot, { force: true });
      throw error;
    }
    const sources: BackupSource[] = [{ name: 'farol.db', path: snapshot }, ...keyFiles.map((name) => ({ name, path: path.join(dataDir, name) }))];
    const manifest: BackupManifest = {
      format: 1,
      createdAt: new Date(at).toISOString(),
      farolVersion: FAROL_VERSION,
      files: sources.map((s) => s.name),
      notes: keysFromEnvironment.map((name) => `${name} is set in the hub's environment and is not in this backup: keep it with the backup`),
    };
    logger.info({ file: fileName, files: manifest.files, actor }, 'backup started');
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        yield* encryptBackup(manifest, sources, passphrase);
      } finally {
        rmSync(snapshot, { force: true });
      }
    }
    return { fileName, chunks: chunks() };
  }

  async function writeScheduled(schedule: BackupSchedule): Promise<string> {
    mkdirSync(schedule.dir, { recursive: true, mode: 0o700 });
    const { fileName, chunks } = await open('hub', schedule.passphrase, { scheduled: true });
    const target = path.join(schedule.dir, fileName);
    const part = `${target}.part`;
    try {
      await writeBackupFile(part, chunks);
      renameSync(part, target);
    } catch (error) {
      rmSync(part, { force: true });
      throw error;
    }
    for (const old of backupsToPrune(readdirSync(schedule.dir), schedule.keep)) {
      rmSync(path.join(schedule.dir, old), { force: true });
      logger.info({ file: old, keep: schedule.keep }, 'old backup removed (FAROL_BACKUP_KEEP)');
    }
    logger.info({ file: target, bytes: statSync(target).size }, 'scheduled backup written');
    return target;
  }

  function newestBackupAt(dir: string): number | null {
    if (!existsSync(dir)) return null;
    const names = readdirSync(dir).filter((name) => BACKUP_FILE_PATTERN.test(name));
    return names.length === 0 ? null : Math.max(...names.map((name) => statSync(path.join(dir, name)).mtimeMs));
  }

  function startSchedule(schedule: BackupSchedule): () => void {
    let timer: NodeJS.Timeout | null = null;
    let stopped = false;
    const arm = (delayMs: number): void => {
      if (stopped) return;
      timer = setTimeout(() => void tick(), delayMs);
      timer.unref();
    };
    const tick = async (): Promise<void> => {
      try {
        await writeScheduled(schedule);
      } catch (error) {
        // The next attempt comes at the next interval; the failure is in the log for the operator.
        logger.error({ err: error, dir: schedule.dir }, 'scheduled backup failed');
      }
      arm(schedule.everyMs);
    };
    // After a restart the schedule continues from the newest backup instead of starting over.
    arm(nextBackupDelay(newestBackupAt(schedule.dir), schedule.everyMs, clock.now()));
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }

  return { open, writeScheduled, startSchedule };
}
