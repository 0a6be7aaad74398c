import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { FarolError, type Principal } from '@farol/protocol';
import { readOrCreateSecretFile } from '../../infra/secrets-files.js';

export type { Principal };

/**
 * The operator authentication seam. Today one admin API token; accounts, roles and scoped API
 * tokens replace the implementation behind the same `authenticate` call.
 */
export interface AuthService {
  /** Returns the principal for a bearer token, or throws FarolError('unauthorized'). */
  authenticate(bearer: string | undefined): Principal;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

export function createAuthService({ adminToken }: { adminToken: string }): AuthService {
  const expected = sha256(adminToken);
  return {
    authenticate(bearer) {
      if (!bearer) throw new FarolError('unauthorized', 'send Authorization: Bearer <token>');
      // Hashing first makes the comparison constant-time regardless of the token's length.
      if (!timingSafeEqual(sha256(bearer), expected)) throw new FarolError('unauthorized', 'the token is not valid');
      return { kind: 'admin', id: 'admin' };
    },
  };
}

/** `Authorization: Bearer x` → `x`. */
export function bearerFrom(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * The admin token: FAROL_ADMIN_TOKEN when set, otherwise the one stored in the data directory
 * (created with mode 0600 on first start, and reported as `created` so it is printed once).
 */
export function resolveAdminToken(dataDir: string, fromEnv: string | undefined): { value: string; created: boolean; file: string | null } {
  if (fromEnv) return { value: fromEnv, created: false, file: null };
  const file = path.join(dataDir, 'admin-token');
  const { value, created } = readOrCreateSecretFile(file, () => `fat_${randomBytes(32).toString('base64url')}`);
  return { value, created, file };
}
