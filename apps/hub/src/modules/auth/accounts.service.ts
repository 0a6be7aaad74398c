import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import {
  BUILTIN_ROLES,
  FarolError,
  parseLabelSelector,
  PERMISSIONS,
  type ApiToken,
  type ApiTokenCreated,
  type Permission,
  type Principal,
  type Role,
  type User,
  type UserCreate,
  type UserUpdate,
} from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AccountsRepository, ApiTokenRow, UserRow } from './accounts.repository.js';
import { newTotpSecret, otpauthUri, verifyTotp } from './totp.js';

/** Who is asking and through what: the principal plus what the transports need to keep checking it. */
export interface AuthContext {
  principal: Principal;
  sessionId: string | null;
  csrfToken: string | null;
  /** When this credential stops working regardless of activity (token expiry, session absolute limit). */
  expiresAt: number | null;
}

export interface AccountsSettings {
  sessionIdleMs: number;
  sessionMaxMs: number;
  /** How old the second factor may be for shell, terminal and secret reads. */
  mfaMaxAgeMs: number;
  /** Failed logins before the account is locked; each further failure doubles the lock. */
  lockoutThreshold: number;
  lockoutBaseMs: number;
  lockoutMaxMs: number;
  /** The issuer shown by authenticator apps. */
  issuer: string;
}

export const DEFAULT_ACCOUNTS_SETTINGS: AccountsSettings = {
  sessionIdleMs: 60 * 60_000,
  sessionMaxMs: 12 * 3_600_000,
  mfaMaxAgeMs: 10 * 60_000,
  lockoutThreshold: 5,
  lockoutBaseMs: 30_000,
  lockoutMaxMs: 3_600_000,
  issuer: 'Farol',
};

const DEFAULT_TOKEN_TTL_MS = 90 * 86_400_000;
const MAX_TOKEN_TTL_MS = 365 * 86_400_000;
/** The row id of the admin token of the foundation issue (FAROL_ADMIN_TOKEN / data/admin-token). */
export const ADMIN_TOKEN_ID = 'tok_admin';
const TOKEN_PREFIX = 'fat_';
/** Last-used is written at most this often per token (audit `token.use`: first use per day). */
const TOKEN_TOUCH_MS = 60_000;
const SESSION_TOUCH_MS = 30_000;
const RECOVERY_CODES = 10;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const sameText = (a: string, b: string): boolean => {
  const left = Buffer.from(sha256(a));
  const right = Buffer.from(sha256(b));
  return timingSafeEqual(left, right);
};
const dayOf = (ms: number): number => Math.floor(ms / 86_400_000);

function recoveryCode(random: (size: number) => Buffer): string {
  const raw = randomId('x', 10, random).slice(2);
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

export function tokenState(row: ApiTokenRow, now: number): ApiToken['state'] {
  if (row.revoked_at !== null) return 'revoked';
  if (row.expires_at !== null && now >= row.expires_at) return 'expired';
  return 'active';
}

function tokenView(row: ApiTokenRow, now: number): ApiToken {
  return {
    id: row.id,
    name: row.name,
    userId: row.user_id,
    permissions: row.permissions === null ? null : (JSON.parse(row.permissions) as Permission[]),
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    state: tokenState(row, now),
  };
}

function userView(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    scope: row.scope,
    disabled: row.disabled_at !== null,
    mfaEnabled: row.totp_secret !== null,
    createdAt: Number(row.created_at),
    lastLoginAt: row.last_login_at === null ? null : Number(row.last_login_at),
  };
}

/**
 * Users, roles, API tokens and browser sessions (issue #6): who is asking, and what they may do.
 * Passwords are argon2id; tokens, sessions and recovery codes are stored as sha256 of 256-bit
 * random values; TOTP seeds are sealed with the hub's secret key. Every change that narrows
 * someone's access publishes `auth.changed`, which closes their live sockets.
 */
export function createAccountsService({
  accounts,
  audit,
  bus,
  clock,
  logger,
  secretBox,
  settings = DEFAULT_ACCOUNTS_SETTINGS,
  random = randomBytes,
}: {
  accounts: AccountsRepository;
  audit: AuditService;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  secretBox: SecretBox;
  settings?: AccountsSettings;
  random?: (size: number) => Buffer;
}) {
  /** Custom roles, cached: every request needs its role's permissions. */
  let customRoles = new Map<string, Role>();
  /** Bumped by every change to users, roles or tokens; sockets re-check when it moves. */
  let generation = 0;
  /** A hash nobody's password matches, verified for unknown usernames so timing says nothing. */
  let dummyHash: Promise<string> | undefined;

  async function loadRoles(): Promise<void> {
    const rows = await accounts.listRoles();
    customRoles = new Map(rows.map((row) => [row.name, { name: row.name, permissions: JSON.parse(row.permissions) as Permission[], builtin: false, description: row.description }]));
  }

  function roleOf(name: string): Role | undefined {
    if (Object.hasOwn(BUILTIN_ROLES, name)) {
      return { name, permissions: [...BUILTIN_ROLES[name as keyof typeof BUILTIN_ROLES]], builtin: true, description: null };
    }
    return customRoles.get(name);
  }

  function changed(userId: string | null, reason: string, tokenId?: string): void {
    generation++;
    bus.publish('auth.changed', { userId, tokenId: tokenId ?? null, reason });
  }

  function principalOf(user: UserRow, via: 'token' | 'session', token: ApiTokenRow | null, mfaAt: number | null): Principal {
    const rolePermissions = roleOf(user.role)?.permissions ?? [];
    const tokenPermissions = token?.permissions ? (JSON.parse(token.permissions) as Permission[]) : null;
    // A token never holds more than its owner has now, even if the owner's role shrank later.
    const permissions = tokenPermissions ? rolePermissions.filter((p) => tokenPermissions.includes(p)) : rolePermissions;
    return {
      kind: 'user',
      id: user.id,
      name: user.username,
      role: user.role,
      permissions,
      scope: user.scope,
      via,
      tokenId: token?.id ?? null,
      mfaEnabled: user.totp_secret !== null,
      mfaAt,
    };
  }

  function openTotp(user: UserRow, column: 'totp_secret' | 'totp_pending'): string | null {
    const sealed = user[column];
    return sealed === null ? null : secretBox.open(sealed, `users.${column}:${user.id}`);
  }

  /** Checks a TOTP code (never the same time step twice) or spends a recovery code. */
  async function checkSecondFactor(user: UserRow, code: string): Promise<boolean> {
    const secret = openTotp(user, 'totp_secret');
    if (secret === null) return false;
    const step = verifyTotp(secret, code, clock.now());
    if (step !== null) {
      if (user.totp_last_step !== null && step <= user.totp_last_step) return false;
      await accounts.updateUser(user.id, { totp_last_step: step });
      return true;
    }
    const hashes = JSON.parse(user.recovery_codes) as string[];
    const index = hashes.indexOf(sha256(code));
    if (index < 0) return false;
    hashes.splice(index, 1);
    await accounts.updateUser(user.id, { recovery_codes: JSON.stringify(hashes) });
    return true;
  }

  async function activeUser(userId: string): Promise<UserRow> {
    const user = await accounts.findUserById(userId);
    if (!user || user.disabled_at !== null) throw new FarolError('unauthorized', 'this account is disabled');
    return user;
  }

  function validateScope(scope: string | null | undefined): void {
    if (scope === null || scope === undefined) return;
    try {
      parseLabelSelector(scope);
    } catch (error) {
      throw new FarolError('validation_failed', (error as Error).message, { cause: error });
    }
  }

  async function issueToken(user: UserRow, input: { name: string; permissions?: Permission[] | undefined; ttlMs?: number | undefined }, actor: string): Promise<ApiTokenCreated> {
    const now = clock.now();
    const ttl = input.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
    if (ttl > MAX_TOKEN_TTL_MS) throw new FarolError('validation_failed', 'an API token lives at most 365d');
    const own = roleOf(user.role)?.permissions ?? [];
    const extra = (input.permissions ?? []).filter((p) => !own.includes(p));
    if (extra.length > 0) throw new FarolError('forbidden', `a token cannot hold permissions its owner lacks: ${extra.join(', ')}`);
    const secret = `${TOKEN_PREFIX}${random(32).toString('base64url')}`;
    const row: ApiTokenRow = {
      id: randomId('tok', 16, random),
      user_id: user.id,
      name: input.name,
      secret_hash: sha256(secret),
      permissions: input.permissions ? JSON.stringify([...new Set(input.permissions)]) : null,
      created_at: now,
      expires_at: now + ttl,
      revoked_at: null,
      last_used_at: null,
      mfa_at: null,
    };
    await audit.transaction(async (repos, log) => {
      await repos.accounts.insertToken(row);
      log({ actor, action: 'token.create', details: { tokenId: row.id, name: row.name, owner: user.username, permissions: input.permissions ?? 'all', expiresAt: row.expires_at } });
    });
    return { ...tokenView(row, now), token: secret };
  }

  async function lockoutRemaining(user: UserRow): Promise<number> {
    const until = user.locked_until === null ? 0 : Number(user.locked_until);
    return Math.max(0, until - clock.now());
  }

  async function recordFailure(user: UserRow | undefined, username: string, ip: string, reason: string): Promise<never> {
    let lockedForMs = 0;
    if (user) {
      const failures = user.failed_logins + 1;
      const over = failures - settings.lockoutThreshold;
      lockedForMs = over >= 0 ? Math.min(settings.lockoutMaxMs, settings.lockoutBaseMs * 2 ** over) : 0;
      await accounts.updateUser(user.id, { failed_logins: failures, ...(lockedForMs > 0 ? { locked_until: clock.now() + lockedForMs } : {}) });
    }
    await audit.record({ actor: username.slice(0, 64), action: 'auth.login_failed', details: { ip, reason, ...(lockedForMs > 0 ? { lockedForMs } : {}) } });
    logger.warn({ username: username.slice(0, 64), ip, reason, lockedForMs }, 'login failed');
    throw new FarolError('unauthorized', 'wrong username or password');
  }

  async function createSession(user: UserRow, mfaAt: number | null): Promise<{ cookie: string; csrfToken: string; sessionId: string }> {
    const now = clock.now();
    const sessionId = randomId('ses', 16, random);
    const secret = random(32).toString('base64url');
    const csrfToken = random(24).toString('base64url');
    await accounts.insertSession({ id: sessionId, user_id: user.id, secret_hash: sha256(secret), csrf_token: csrfToken, created_at: now, last_seen_at: now, mfa_at: mfaAt });
    return { cookie: `${sessionId}.${secret}`, csrfToken, sessionId };
  }

  return {
    /**
     * First start: when no user exists, creates `admin` with a random password, returned once
     * for the banner (never a default credential). Every start: makes the configured admin
     * token an ordinary API token of that admin (a new value replaces the old one; a revoked
     * token stays revoked while its value is unchanged).
     */
    async bootstrap({ adminToken }: { adminToken: string }): Promise<{ adminPassword: string | null }> {
      await loadRoles();
      const now = clock.now();
      let adminPassword: string | null = null;
      if ((await accounts.countUsers()) === 0) {
        adminPassword = random(18).toString('base64url');
        await accounts.insertUser({
          id: randomId('usr', 16, random),
          username: 'admin',
          password_hash: await argon2Hash(adminPassword),
          role: 'admin',
          scope: null,
          recovery_codes: '[]',
          failed_logins: 0,
          created_at: now,
          updated_at: now,
        });
        await audit.record({ actor: 'hub', action: 'user.create', details: { username: 'admin', role: 'admin', reason: 'first start' } });
        logger.info('created the admin account; its password is printed once in the banner');
      }
      const owner = (await accounts.findUserByName('admin')) ?? (await accounts.listUsers()).find((u) => u.role === 'admin');
      if (!owner) throw new Error('no admin account to own the admin token; create one or remove FAROL_ADMIN_TOKEN');
      const hash = sha256(adminToken);
      const existing = await accounts.findToken(ADMIN_TOKEN_ID);
      if (!existing) {
        await accounts.insertToken({ id: ADMIN_TOKEN_ID, user_id: owner.id, name: 'admin token (FAROL_ADMIN_TOKEN or data/admin-token)', secret_hash: hash, permissions: null, created_at: now, expires_at: null, revoked_at: null, last_used_at: null, mfa_at: null });
      } else if (existing.secret_hash !== hash) {
        await accounts.updateToken(ADMIN_TOKEN_ID, { secret_hash: hash, revoked_at: null, user_id: existing.user_id });
      }
      return { adminPassword };
    },

    /** How many times access rules changed; sockets re-authenticate when it moves. */
    generation: () => generation,
    settings,

    /** `Authorization: Bearer <API token>` → who. Throws `unauthorized` / `token_expired` / `token_revoked`. */
    async authenticateToken(bearer: string | undefined): Promise<AuthContext> {
      if (!bearer) throw new FarolError('unauthorized', 'sign in, or send Authorization: Bearer <token>');
      const row = await accounts.findTokenByHash(sha256(bearer));
      if (!row) throw new FarolError('unauthorized', 'the token is not valid');
      const now = clock.now();
      const state = tokenState(row, now);
      if (state === 'revoked') throw new FarolError('token_revoked', 'the token was revoked');
      if (state === 'expired') throw new FarolError('token_expired', 'the token has expired; create a new one (farol tokens create)');
      const user = await activeUser(row.user_id);
      const last = row.last_used_at === null ? null : Number(row.last_used_at);
      if (last === null || now - last >= TOKEN_TOUCH_MS) {
        await accounts.updateToken(row.id, { last_used_at: now });
        if (last === null || dayOf(last) !== dayOf(now)) {
          await audit.record({ actor: user.username, action: 'token.use', details: { tokenId: row.id, name: row.name } });
        }
      }
      return { principal: principalOf(user, 'token', row, row.mfa_at === null ? null : Number(row.mfa_at)), sessionId: null, csrfToken: null, expiresAt: row.expires_at === null ? null : Number(row.expires_at) };
    },

    /** The session cookie's value → who, enforcing the idle and absolute timeouts. */
    async authenticateSession(cookie: string): Promise<AuthContext> {
      const [sessionId, secret] = cookie.split('.', 2);
      if (!sessionId || !secret) throw new FarolError('unauthorized', 'sign in again');
      const row = await accounts.findSession(sessionId);
      if (!row || !sameText(sha256(secret), row.secret_hash)) throw new FarolError('unauthorized', 'sign in again');
      const now = clock.now();
      if (now - Number(row.last_seen_at) >= settings.sessionIdleMs || now - Number(row.created_at) >= settings.sessionMaxMs) {
        await accounts.deleteSession(row.id);
        throw new FarolError('unauthorized', 'the session has expired; sign in again');
      }
      const user = await activeUser(row.user_id);
      if (now - Number(row.last_seen_at) >= SESSION_TOUCH_MS) await accounts.updateSession(row.id, { last_seen_at: now });
      return {
        principal: principalOf(user, 'session', null, row.mfa_at === null ? null : Number(row.mfa_at)),
        sessionId: row.id,
        csrfToken: row.csrf_token,
        expiresAt: Number(row.created_at) + settings.sessionMaxMs,
      };
    },

    /**
     * Username + password (+ second factor when enrolled). Failed attempts lock the account with
     * a delay that doubles after `lockoutThreshold` failures; a locked account refuses even the
     * right password until the delay has passed.
     */
    async login(
      input: { username: string; password: string; otp?: string | undefined; issue: 'session' | 'token'; tokenName?: string | undefined; tokenTtl?: number | undefined },
      { ip }: { ip: string },
    ): Promise<{ context: AuthContext; cookie: string | null; token: ApiTokenCreated | null }> {
      const user = await accounts.findUserByName(input.username);
      if (user) {
        const remaining = await lockoutRemaining(user);
        if (remaining > 0) {
          await audit.record({ actor: user.username, action: 'auth.login_failed', details: { ip, reason: 'locked', retryAfterMs: remaining } });
          throw new FarolError('rate_limited', `too many failed sign-ins; try again in ${Math.ceil(remaining / 1000)} s`);
        }
      }
      const passwordOk = user?.password_hash ? await argon2Verify(user.password_hash, input.password) : (await argon2Verify(await (dummyHash ??= argon2Hash(random(16).toString('hex'))), input.password), false);
      if (!user || !passwordOk) return recordFailure(user, input.username, ip, user ? 'wrong password' : 'unknown user');
      if (user.disabled_at !== null) return recordFailure(user, input.username, ip, 'disabled');
      let mfaAt: number | null = null;
      if (user.totp_secret !== null) {
        if (!input.otp) throw new FarolError('mfa_required', 'enter the code from your authenticator app');
        if (!(await checkSecondFactor(user, input.otp))) return recordFailure(user, input.username, ip, 'wrong second factor');
        mfaAt = clock.now();
      }
      const now = clock.now();
      await accounts.updateUser(user.id, { failed_logins: 0, locked_until: null, last_login_at: now });
      await audit.record({ actor: user.username, action: 'auth.login', details: { ip, issue: input.issue, mfa: mfaAt !== null } });
      if (input.issue === 'token') {
        const token = await issueToken(user, { name: input.tokenName ?? `login from ${ip}`, ttlMs: input.tokenTtl }, user.username);
        const row = (await accounts.findToken(token.id))!;
        return { context: { principal: principalOf(user, 'token', row, null), sessionId: null, csrfToken: null, expiresAt: token.expiresAt }, cookie: null, token };
      }
      const session = await createSession(user, mfaAt);
      return {
        context: { principal: principalOf(user, 'session', null, mfaAt), sessionId: session.sessionId, csrfToken: session.csrfToken, expiresAt: now + settings.sessionMaxMs },
        cookie: session.cookie,
        token: null,
      };
    },

    async logout(context: AuthContext): Promise<void> {
      if (context.sessionId === null) return;
      await accounts.deleteSession(context.sessionId);
      await audit.record({ actor: context.principal.name, action: 'auth.logout', details: {} });
    },

    /** Step-up: a fresh second factor for this session (or this request, for API tokens). */
    async stepUp(context: AuthContext, otp: string): Promise<Principal> {
      const user = await activeUser(context.principal.id);
      if (user.totp_secret === null) return context.principal;
      if (!(await checkSecondFactor(user, otp))) {
        await audit.record({ actor: user.username, action: 'auth.mfa_failed', details: {} });
        throw new FarolError('unauthorized', 'the code is not valid');
      }
      const now = clock.now();
      // Remembered on the session, or on the token (the dashboard signs in with one), for FAROL_MFA_MAX_AGE.
      if (context.sessionId !== null) await accounts.updateSession(context.sessionId, { mfa_at: now });
      else if (context.principal.tokenId !== null) await accounts.updateToken(context.principal.tokenId, { mfa_at: now });
      // Open /ui sockets hold the principal from their connect: moving the generation (without
      // auth.changed, which would close them) makes their next event re-read mfaAt, so a
      // terminal opened right after a step-up in the dashboard is allowed.
      generation++;
      return { ...context.principal, mfaAt: now };
    },

    /**
     * A user changes their own password (the current one proves it is them). Other browser
     * sessions end; API tokens stay (revoke them separately).
     */
    async changeOwnPassword(context: AuthContext, currentPassword: string, newPassword: string): Promise<void> {
      const user = await activeUser(context.principal.id);
      // validation_failed, not unauthorized: the caller is signed in; only this input is wrong.
      if (!user.password_hash || !(await argon2Verify(user.password_hash, currentPassword))) throw new FarolError('validation_failed', 'the current password is not right');
      const passwordHash = await argon2Hash(newPassword);
      await audit.transaction(async (repos, log) => {
        await repos.accounts.updateUser(user.id, { password_hash: passwordHash, failed_logins: 0, locked_until: null, updated_at: clock.now() });
        await repos.accounts.deleteSessionsOf(user.id, context.sessionId);
        log({ actor: user.username, action: 'user.update', details: { userId: user.id, username: user.username, password: 'changed by the user' } });
      });
    },

    /** Starts TOTP enrolment: a new secret that counts only after `confirmTotp`. */
    async enrolTotp(principal: Principal): Promise<{ secret: string; uri: string }> {
      const user = await activeUser(principal.id);
      if (user.totp_secret !== null) throw new FarolError('conflict', 'two-factor sign-in is already on; turn it off first');
      const secret = newTotpSecret(random);
      await accounts.updateUser(user.id, { totp_pending: secretBox.seal(secret, `users.totp_pending:${user.id}`), updated_at: clock.now() });
      return { secret, uri: otpauthUri(settings.issuer, user.username, secret) };
    },

    async confirmTotp(principal: Principal, otp: string): Promise<{ recoveryCodes: string[] }> {
      const user = await activeUser(principal.id);
      const pending = openTotp(user, 'totp_pending');
      if (pending === null) throw new FarolError('conflict', 'start the enrolment first (POST /api/me/totp)');
      const step = verifyTotp(pending, otp, clock.now());
      if (step === null) throw new FarolError('validation_failed', 'the code does not match; check the authenticator app\'s clock');
      const codes = Array.from({ length: RECOVERY_CODES }, () => recoveryCode(random));
      await audit.transaction(async (repos, log) => {
        await repos.accounts.updateUser(user.id, {
          totp_secret: secretBox.seal(pending, `users.totp_secret:${user.id}`),
          totp_pending: null,
          totp_last_step: step,
          recovery_codes: JSON.stringify(codes.map(sha256)),
          updated_at: clock.now(),
        });
        log({ actor: user.username, action: 'auth.mfa_enabled', details: {} });
      });
      changed(user.id, 'second factor enabled');
      return { recoveryCodes: codes };
    },

    async disableTotp(principal: Principal, otp: string): Promise<void> {
      const user = await activeUser(principal.id);
      if (user.totp_secret === null) return;
      if (!(await checkSecondFactor(user, otp))) throw new FarolError('unauthorized', 'the code is not valid');
      await audit.transaction(async (repos, log) => {
        await repos.accounts.updateUser(user.id, { totp_secret: null, totp_pending: null, totp_last_step: null, recovery_codes: '[]', updated_at: clock.now() });
        log({ actor: user.username, action: 'auth.mfa_disabled', details: {} });
      });
      changed(user.id, 'second factor disabled');
    },

    // ---- API tokens ------------------------------------------------------------------------

    async createToken(principal: Principal, input: { name: string; permissions?: Permission[] | undefined; ttl?: number | undefined }): Promise<ApiTokenCreated> {
      const user = await activeUser(principal.id);
      // A token made with a narrower token cannot widen it.
      const extra = (input.permissions ?? principal.permissions).filter((p) => !principal.permissions.includes(p));
      if (extra.length > 0) throw new FarolError('forbidden', `you do not hold ${extra.join(', ')}`);
      return issueToken(user, { name: input.name, permissions: input.permissions ?? (principal.tokenId ? principal.permissions : undefined), ttlMs: input.ttl }, principal.name);
    },

    /** Your tokens; with `users:manage`, everyone's when `all`. */
    async listTokens(principal: Principal, all: boolean): Promise<ApiToken[]> {
      const rows = await accounts.listTokens(all && principal.permissions.includes('users:manage') ? undefined : principal.id);
      const now = clock.now();
      return rows.map((row) => tokenView(row, now));
    },

    async revokeToken(principal: Principal, tokenId: string): Promise<ApiToken> {
      const row = await accounts.findToken(tokenId);
      if (!row || (row.user_id !== principal.id && !principal.permissions.includes('users:manage'))) throw new FarolError('not_found', `no API token ${tokenId}`);
      const now = clock.now();
      if (row.revoked_at === null) {
        await audit.transaction(async (repos, log) => {
          await repos.accounts.updateToken(row.id, { revoked_at: now });
          log({ actor: principal.name, action: 'token.revoke', details: { tokenId: row.id, name: row.name } });
        });
        changed(row.user_id, 'token revoked', row.id);
      }
      return tokenView({ ...row, revoked_at: row.revoked_at ?? now }, now);
    },

    // ---- users and roles -------------------------------------------------------------------

    async listUsers(): Promise<User[]> {
      return (await accounts.listUsers()).map(userView);
    },

    async createUser(actor: Principal, input: UserCreate): Promise<User> {
      if (!roleOf(input.role)) throw new FarolError('validation_failed', `no role ${input.role}`);
      validateScope(input.scope);
      if (await accounts.findUserByName(input.username)) throw new FarolError('name_taken', `the username ${input.username} is taken`);
      const now = clock.now();
      const row: UserRow = {
        id: randomId('usr', 16, random),
        username: input.username,
        password_hash: await argon2Hash(input.password),
        role: input.role,
        scope: input.scope ?? null,
        disabled_at: null,
        totp_secret: null,
        totp_pending: null,
        totp_last_step: null,
        recovery_codes: '[]',
        failed_logins: 0,
        locked_until: null,
        last_login_at: null,
        created_at: now,
        updated_at: now,
      };
      await audit.transaction(async (repos, log) => {
        await repos.accounts.insertUser(row);
        log({ actor: actor.name, action: 'user.create', details: { userId: row.id, username: row.username, role: row.role, scope: row.scope } });
      });
      return userView(row);
    },

    async updateUser(actor: Principal, userId: string, changes: UserUpdate): Promise<User> {
      const user = await accounts.findUserById(userId);
      if (!user) throw new FarolError('not_found', `no user ${userId}`);
      if (changes.role !== undefined && !roleOf(changes.role)) throw new FarolError('validation_failed', `no role ${changes.role}`);
      validateScope(changes.scope);
      if (userId === actor.id && (changes.disabled === true || (changes.role !== undefined && changes.role !== 'admin' && user.role === 'admin'))) {
        // Locking yourself out of administration is never what was meant.
        throw new FarolError('conflict', 'you cannot disable yourself or drop your own admin role; ask another admin');
      }
      const now = clock.now();
      const update = {
        ...(changes.role === undefined ? {} : { role: changes.role }),
        ...(changes.scope === undefined ? {} : { scope: changes.scope }),
        ...(changes.disabled === undefined ? {} : { disabled_at: changes.disabled ? (user.disabled_at ?? now) : null }),
        ...(changes.password === undefined ? {} : { password_hash: await argon2Hash(changes.password), failed_logins: 0, locked_until: null }),
        updated_at: now,
      };
      await audit.transaction(async (repos, log) => {
        await repos.accounts.updateUser(user.id, update);
        // Sessions are cut too: whoever holds one signed in under the old rules.
        if (changes.disabled === true || changes.password !== undefined) await repos.accounts.deleteSessionsOf(user.id);
        log({
          actor: actor.name,
          action: 'user.update',
          details: {
            userId: user.id,
            username: user.username,
            ...(changes.role === undefined ? {} : { role: { from: user.role, to: changes.role } }),
            ...(changes.scope === undefined ? {} : { scope: { from: user.scope, to: changes.scope } }),
            ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }),
            ...(changes.password === undefined ? {} : { password: 'changed' }),
          },
        });
      });
      changed(user.id, 'user changed');
      return userView((await accounts.findUserById(user.id))!);
    },

    listRoles(): Role[] {
      const builtin = Object.keys(BUILTIN_ROLES).map((name) => roleOf(name)!);
      return [...builtin, ...customRoles.values()];
    },

    async createRole(actor: Principal, input: { name: string; permissions: Permission[]; description?: string | undefined }): Promise<Role> {
      if (roleOf(input.name)) throw new FarolError('name_taken', `the role ${input.name} exists`);
      const permissions = PERMISSIONS.filter((p) => input.permissions.includes(p));
      await audit.transaction(async (repos, log) => {
        await repos.accounts.insertRole({ name: input.name, permissions: JSON.stringify(permissions), description: input.description ?? null, created_at: clock.now() });
        log({ actor: actor.name, action: 'role.create', details: { name: input.name, permissions } });
      });
      await loadRoles();
      return roleOf(input.name)!;
    },

    async deleteRole(actor: Principal, name: string): Promise<void> {
      const role = roleOf(name);
      if (!role) throw new FarolError('not_found', `no role ${name}`);
      if (role.builtin) throw new FarolError('conflict', `${name} is a built-in role`);
      if ((await accounts.usersWithRole(name)).length > 0) throw new FarolError('conflict', `users still have the role ${name}; give them another first`);
      await audit.transaction(async (repos, log) => {
        await repos.accounts.deleteRole(name);
        log({ actor: actor.name, action: 'role.delete', details: { name } });
      });
      await loadRoles();
      changed(null, 'role deleted');
    },

    /** Forgets sessions past their limits; called periodically. */
    async pruneSessions(): Promise<void> {
      const now = clock.now();
      await accounts.deleteExpiredSessions(now - settings.sessionIdleMs, now - settings.sessionMaxMs);
    },
  };
}
export type AccountsService = ReturnType<typeof createAccountsService>;
