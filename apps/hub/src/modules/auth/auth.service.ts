import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { readOrCreateSecretFile } from '../../infra/secrets-files.js';

/**
 * The admin token of the foundation issue: FAROL_ADMIN_TOKEN when set, otherwise the one stored
 * in the data directory (created with mode 0600 on first start, and reported as `created` so it
 * is printed once). Since issue #6 it is an ordinary API token of the `admin` user
 * (`accounts.bootstrap`), revocable like any other.
 */
export function resolveAdminToken(dataDir: string, fromEnv: string | undefined): { value: string; created: boolean; file: string | null } {
  if (fromEnv) return { value: fromEnv, created: false, file: null };
  const file = path.join(dataDir, 'admin-token');
  const { value, created } = readOrCreateSecretFile(file, () => `fat_${randomBytes(32).toString('base64url')}`);
  return { value, created, file };
}
