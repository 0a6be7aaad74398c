import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { IdentityFileSchema, type IdentityFile } from './identity.schema.js';

/** The identity file inside the state dir. */
export const IDENTITY_FILE_NAME = 'identity.json';

/** Reads and writes `<state>/identity.json`. */
export interface IdentityRepository {
  readonly filePath: string;
  /** The identity, or null when this state dir was never enrolled. Throws on a corrupt file. */
  load(): IdentityFile | null;
  save(identity: IdentityFile): void;
}

/** Creates the state dir (mode 0700) when missing; leaves an existing dir's mode alone. */
export function ensureStateDir(stateDir: string): void {
  const created = mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask; the state dir holds a private key, so set it exactly.
  if (created !== undefined) chmodSync(stateDir, 0o700);
}

/**
 * Writes a file readable only by its owner, atomically: a crash mid-write leaves the previous
 * version, never half a key.
 */
export function writePrivateFileAtomic(filePath: string, content: string): void {
  const temporary = `${filePath}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, filePath);
}

/** The identity.json of `stateDir`. */
export function createIdentityRepository(stateDir: string): IdentityRepository {
  const filePath = path.join(stateDir, IDENTITY_FILE_NAME);
  return {
    filePath,
    load() {
      if (!existsSync(filePath)) return null;
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(filePath, 'utf8'));
      } catch (error) {
        throw new Error(`${filePath} is not valid JSON: restore it or delete it and enroll again`, { cause: error });
      }
      const parsed = IdentityFileSchema.safeParse(raw);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
        throw new Error(`${filePath} is damaged (${problems.join('; ')}): restore it or delete it and enroll again`);
      }
      return parsed.data;
    },
    save(identity) {
      ensureStateDir(stateDir);
      writePrivateFileAtomic(filePath, `${JSON.stringify(IdentityFileSchema.parse(identity), null, 2)}\n`);
    },
  };
}
