import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AgentExitError, EXIT_CODES } from './exit-error.js';

export const LOCK_FILE_NAME = 'agent.lock';

/** Held while an agent runs on a state dir. */
export interface StateLock {
  release(): void;
}

function isAgentProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but someone else's; ESRCH: gone.
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
 * Takes `<state>/agent.lock`, so two agents (a service and a manual run, say) never share one
 * identity and one buffer: they would fight over the hub connection and interleave the buffer
 * files. A lock left by a dead process is taken over.
 */
export function acquireStateLock(stateDir: string): StateLock {
  const lockPath = path.join(stateDir, LOCK_FILE_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && isAgentProcess(holder)) {
        throw new AgentExitError(
          `another farol-agent (pid ${holder}) is already running with ${stateDir}: stop it first (e.g. systemctl stop farol-agent), or pass another --state`,
          EXIT_CODES.failure,
        );
      }
      rmSync(lockPath, { force: true }); // stale: its process is gone
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return {
      release() {
        try {
          if (readFileSync(lockPath, 'utf8').trim() === String(process.pid)) rmSync(lockPath, { force: true });
        } catch (error) {
          // Already removed (state dir deleted while running): nothing left to release.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      },
    };
  }
  throw new AgentExitError(`cannot take the lock ${lockPath}: remove it if no agent is running`, EXIT_CODES.failure);
}
