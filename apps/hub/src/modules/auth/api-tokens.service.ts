import { createHash } from 'node:crypto';
import { FarolError, type ApiToken, type ApiTokenCreated, type Permission, type Principal } from '@farol/protocol';
import { randomId } from '../../infra/ids.js';
import type { AccountsDeps, AuthContext } from './accounts.service.js';
import type { ApiTokenRecord, UserRecord } from './accounts.repository.js';
import type { AccountUsers } from './account-users.service.js';
import { managesEveryonesTokens } from './object-scope.js';

const DEFAULT_TOKEN_TTL_MS = 90 * 86_400_000;
const MAX_TOKEN_TTL_MS = 365 * 86_400_000;
const TOKEN_PREFIX = 'fat_';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function tokenState(token: ApiTokenRecord, now: number): ApiToken['state'] {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && now >= token.expiresAt) return 'expired';
  return 'active';
}

function tokenView(token: ApiTokenRecord, now: number): ApiToken {
  return {
    id: token.id,
    name: token.name,
    userId: token.userId,
    permissions: token.permissions,
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
    revokedAt: token.revokedAt,
    lastUsedAt: token.lastUsedAt,
    state: tokenState(token, now),
  };
}

/**
 * API tokens: stored as sha256 of 256-bit random values, a subset of the owner's permissions.
 * Creating and revoking them is an account-security change (issue #11, M3): a browser session
 * or an unrestricted token (the CLI), never a token limited to some permissions, which may only
 * revoke itself; and a fresh proof: a password sign-in or second factor within the step-up
 * window, or the owner's password sent with the request; with a second factor on, it must be fresh.
 */
export function createApiTokens({ accounts, audit, clock, settings, random }: AccountsDeps, users: AccountUsers) {
  function requireTokenManagement(context: AuthContext, what: string, passwordConfirmed: boolean): void {
    if (context.sessionId === null && context.tokenRestricted) {
      throw new FarolError('forbidden', `${what} needs a signed-in session or an unrestricted API token; this token is limited to some permissions`);
    }
    const { mfaEnabled, mfaAt } = context.principal;
    const now = clock.now();
    if (mfaEnabled && (mfaAt === null || now - mfaAt > settings.mfaMaxAgeMs)) {
      throw new FarolError('mfa_required', `${what} needs a fresh second factor: confirm with your authenticator code first (POST /api/auth/step-up, or X-Farol-OTP)`);
    }
    // A stolen token or an unattended browser must not mint itself a longer life (issue #11):
    // a password sign-in or second factor within the step-up window, or the password now.
    const proof = Math.max(context.signedInAt ?? 0, mfaAt ?? 0);
    if (!passwordConfirmed && now - proof > settings.mfaMaxAgeMs) {
      throw new FarolError(
        'reauth_required',
        context.sessionId === null
          ? `${what} needs your password: send it in X-Farol-Password (the CLI reads FAROL_PASSWORD)`
          : `${what} needs a fresh sign-in: sign out and in again (this session proved who you are more than ${Math.round(settings.mfaMaxAgeMs / 60_000)} min ago)`,
      );
    }
  }

  /** A new token of `user` (also the sign-in with issue=token); the secret is returned once. */
  async function issue(user: UserRecord, input: { name: string; permissions?: Permission[] | undefined; ttlMs?: number | undefined }, actor: string): Promise<{ created: ApiTokenCreated; record: ApiTokenRecord }> {
    const now = clock.now();
    const ttl = input.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
    if (ttl > MAX_TOKEN_TTL_MS) throw new FarolError('validation_failed', 'an API token lives at most 365d');
    const own = users.roleOf(user.role)?.permissions ?? [];
    const extra = (input.permissions ?? []).filter((p) => !own.includes(p));
    if (extra.length > 0) throw new FarolError('forbidden', `a token cannot hold permissions its owner lacks: ${extra.join(', ')}`);
    const secret = `${TOKEN_PREFIX}${random(32).toString('base64url')}`;
    const record: ApiTokenRecord = {
      id: randomId('tok', 16, random),
      userId: user.id,
      name: input.name,
      secretHash: sha256(secret),
      permissions: input.permissions ? [...new Set(input.permissions)] : null,
      createdAt: now,
      expiresAt: now + ttl,
      revokedAt: null,
      lastUsedAt: null,
      mfaAt: null,
    };
    await audit.transaction(async (repos, log) => {
      await repos.accounts.insertToken(record);
      log({ actor, action: 'token.create', details: { tokenId: record.id, name: record.name, owner: user.username, permissions: input.permissions ?? 'all', expiresAt: record.expiresAt } });
    });
    return { created: { ...tokenView(record, now), token: secret }, record };
  }

  return {
    issue,

    /** `passwordConfirmed`: the caller proved the owner's password with this request (X-Farol-Password). */
    async createToken(context: AuthContext, input: { name: string; permissions?: Permission[] | undefined; ttl?: number | undefined }, passwordConfirmed = false): Promise<ApiTokenCreated> {
      requireTokenManagement(context, 'creating an API token', passwordConfirmed);
      const { principal } = context;
      const user = await users.activeUser(principal.id);
      // A token made with a narrower token cannot widen it.
      const extra = (input.permissions ?? principal.permissions).filter((p) => !principal.permissions.includes(p));
      if (extra.length > 0) throw new FarolError('forbidden', `you do not hold ${extra.join(', ')}`);
      const { created } = await issue(user, { name: input.name, permissions: input.permissions ?? (principal.tokenId ? principal.permissions : undefined), ttlMs: input.ttl }, principal.name);
      return created;
    },

    /** Your tokens; with `users:manage`, everyone's when `all`. */
    async listTokens(principal: Principal, all: boolean): Promise<ApiToken[]> {
      const tokens = await accounts.listTokens(all && managesEveryonesTokens(principal) ? undefined : principal.id);
      const now = clock.now();
      return tokens.map((token) => tokenView(token, now));
    },

    /** Revoking: a session or an unrestricted token; a restricted token may revoke only itself. */
    async revokeToken(context: AuthContext, tokenId: string, passwordConfirmed = false): Promise<ApiToken> {
      const { principal } = context;
      if (context.sessionId === null && context.tokenRestricted && tokenId !== principal.tokenId) {
        throw new FarolError('forbidden', 'a token limited to some permissions may revoke only itself; use the dashboard or an unrestricted token');
      }
      const token = await accounts.findToken(tokenId);
      if (!token || (token.userId !== principal.id && !managesEveryonesTokens(principal))) throw new FarolError('not_found', `no API token ${tokenId}`);
      // Giving up the credential in hand needs no proof; revoking any other one does.
      if (tokenId !== principal.tokenId) requireTokenManagement(context, 'revoking an API token', passwordConfirmed);
      const now = clock.now();
      if (token.revokedAt === null) {
        await audit.transaction(async (repos, log) => {
          await repos.accounts.updateToken(token.id, { revokedAt: now });
          log({ actor: principal.name, action: 'token.revoke', details: { tokenId: token.id, name: token.name } });
        });
        users.changed(token.userId, 'token revoked', token.id);
      }
      return tokenView({ ...token, revokedAt: token.revokedAt ?? now }, now);
    },
  };
}
export type ApiTokens = ReturnType<typeof createApiTokens>;
