import type { Logger } from './logger.js';

/** SQLite result codes that mean the storage itself failed, not the statement (issue #12). */
const STORAGE_CODES = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)/;

/**
 * PostgreSQL (issue #13): errors that say the database cannot take statements at all, whatever
 * they are: connection exceptions (08), no resources such as a full disk (53), a server
 * shutting down or restarting (57P; not 57014, a cancelled statement), I/O and internal errors
 * (58, XX), a read-only server (25006), and the client's errors for a connection that is
 * refused, reset or gone.
 */
const POSTGRES_UNAVAILABLE = /^(08|53|57P|58|XX|25006$)/;
const CONNECTION_ERRNO = /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/;
const CONNECTION_LOST = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed/i;

/**
 * True when `error` (or one of its causes) says the storage failed rather than the statement:
 * SQLite's disk is full, read-only, failing or corrupt, or PostgreSQL is unreachable or cannot
 * write. Callers keep agents connected and store later instead of failing the agent.
 */
export function isStorageFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (STORAGE_CODES.test(code) || POSTGRES_UNAVAILABLE.test(code) || CONNECTION_ERRNO.test(code))) return true;
    if (CONNECTION_LOST.test(current.message)) return true;
  }
  return false;
}

/** What to do about a storage error, in one sentence an operator can act on. */
export function storageRemedy(code: string, file: string, when: 'running' | 'starting' = 'running'): string {
  const then = when === 'running' ? 'the hub resumes writing by itself' : 'then start the hub again';
  // A PostgreSQL hub (issue #13) names its database postgresql://host:port/db; there is no local file to check.
  if (file.startsWith('postgresql://')) {
    // pg-pool's own timeout: every connection of this hub's pool was busy for the whole wait.
    if (code === 'POOL_TIMEOUT') return `every connection of this hub's pool to ${file} stayed busy: the server or the hub is overloaded; raise FAROL_DATABASE_POOL_SIZE if the server has room; ${then}`;
    return `check that the PostgreSQL server ${file} is running, reachable from the hub and not out of disk space; ${then}`;
  }
  if (code.startsWith('SQLITE_FULL')) return `free space on the disk holding ${file} (df -h "${file}"); ${then}`;
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) return `make ${file} and its directory writable by the hub's user; ${then}`;
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) return `run \`farol db check --data <dir>\` and restore ${file} from a backup (docs/operations.md)`;
  return `check the disk holding ${file} (dmesg, df -h); ${then}`;
}

/** The driver's error code, or one that says which database failed without one (a pool timeout has none). */
function storageErrorCode(error: unknown, file: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== undefined && code !== null) return String(code);
  if (!file.startsWith('postgresql://')) return 'SQLITE_ERROR';
  return /timeout exceeded when trying to connect/.test((error as Error | null)?.message ?? '') ? 'POOL_TIMEOUT' : 'POSTGRES_ERROR';
}

export interface IntegrityResult {
  ok: boolean;
  /** Up to 20 lines of `PRAGMA quick_check` output when not ok. */
  problems: string[];
  durationMs: number;
  checkedAt: number;
}

export interface StorageStatus {
  writes: 'ok' | 'failing';
  integrity: 'ok' | 'failed' | 'unchecked';
  /** One line saying what is wrong and what to do; absent when all is well. */
  detail?: string;
}

/**
 * Whether the database can take writes and passed its start-up check. Fed by the statement
 * wrapper in database.ts (every SQLite write outcome) and the pool in postgres.ts (PostgreSQL), read by `/ready` and `/metrics`. In memory on
 * purpose: it describes this process's view of its own disk.
 */
export function createStorageHealth(file: string, initialLogger?: Logger) {
  let logger = initialLogger;
  let writeError: { code: string; message: string; since: number } | null = null;
  let integrity: IntegrityResult | null = null;
  return {
    file,
    /** From here on, changes are logged (not during start-up: its failure is reported whole). */
    setLogger(next: Logger): void {
      logger = next;
    },
    writeFailed(error: unknown, now = Date.now()): void {
      const code = storageErrorCode(error, file);
      const message = (error as Error).message;
      if (writeError?.code === code) return;
      writeError = { code, message, since: now };
      // Once per change, not per failed write: a full disk fails thousands of writes a minute.
      logger?.error({ code, file, err: error }, `database writes failing (${message}): ${storageRemedy(code, file)}`);
    },
    writeSucceeded(): void {
      if (!writeError) return;
      logger?.info({ file, failingForMs: Date.now() - writeError.since }, 'database writes work again');
      writeError = null;
    },
    setIntegrity(result: IntegrityResult): void {
      integrity = result;
    },
    integrity(): IntegrityResult | null {
      return integrity;
    },
    status(): StorageStatus {
      const details: string[] = [];
      if (writeError) details.push(`database writes failing since ${new Date(writeError.since).toISOString()}: ${writeError.message}; ${storageRemedy(writeError.code, file)}`);
      if (integrity && !integrity.ok) {
        details.push(`integrity check of ${file} failed (${integrity.problems[0] ?? 'unknown'}); ${storageRemedy('SQLITE_CORRUPT', file)}`);
      }
      return {
        writes: writeError ? 'failing' : 'ok',
        integrity: integrity === null ? 'unchecked' : integrity.ok ? 'ok' : 'failed',
        ...(details.length > 0 ? { detail: details.join('; ') } : {}),
      };
    },
  };
}
export type StorageHealth = ReturnType<typeof createStorageHealth>;
