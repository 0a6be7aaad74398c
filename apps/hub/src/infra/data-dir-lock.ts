import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

export const DATA_DIR_LOCK_FILE = 'hub.lock';

/** Held while a hub runs on a data directory. */
export interface DataDirLock {
  file: string;
  release(): void;
}

/** Another live hub holds the data directory: start refused before anything was written. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `another Farol hub (pid ${holderPid}) is already running with the data directory ${dataDir}: ` +
        'stop it first (e.g. systemctl stop farol-hub), or give this hub its own --data',
    );
    this.name = 'DataDirLockedError';
  }
}

/** Lock files this process holds: its own pid in a lock file is a leftover only if not listed here. */
const heldHere = new Set<string>();

function isLiveHub(pid: number, lockFile: string): boolean {
  // A container restarts the hub with the same pid (often 1): the lock of its previous life is stale.
  if (pid === process.pid) return heldHere.has(lockFile);
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but another user's; ESRCH: gone.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  // After a reboot the pid may belong to an unrelated process: only a node process counts.
  try {
    return /node|farol/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
  } catch (error) {
    // The process exited between the two checks.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Takes `<data>/hub.lock` (O_EXCL, with the pid) before anything in the directory is opened or
 * written (issue #12): a second hub on the same SQLite file would mark the first one's agents
 * offline and raise false alerts. A lock left by a dead process is taken over.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATA_DIR_LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (readError) {
        // Released between our open and read: try again.
        if ((readError as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw readError;
      }
      const holder = Number(text.trim());
      // An empty file: another hub is between its open and its write, unless it died there long ago.
      const starting = text.trim() === '' && Date.now() - statSync(file).mtimeMs < 10_000;
      if (starting || (Number.isInteger(holder) && holder > 0 && isLiveHub(holder, file))) {
        throw new DataDirLockedError(dataDir, holder || 0);
      }
      rmSync(file, { force: true }); // stale: its process is gone
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    heldHere.add(file);
    return {
      file,
      release() {
        heldHere.delete(file);
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
        } catch (error) {
          // Already removed with the directory: nothing left to release.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      },
    };
  }
  throw new Error(`cannot take the lock ${file}: remove it if no hub is running`);
}
