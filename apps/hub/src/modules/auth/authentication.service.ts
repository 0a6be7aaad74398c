import { createHash, timingSafeEqual } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { FarolError, type ApiTokenCreated } from '@farol/protocol';
import { randomId } from '../../infra/ids.js';
import type { AccountsDeps, AuthContext } from './accounts.service.js';
import type { UserRecord } from './accounts.repository.js';
import type { AccountUsers } from './account-users.service.js';
import { tokenState, type ApiTokens } from './api-tokens.service.js';
import { requireSession, type SecondFactor } from './second-factor.service.js';
import type { CountedAttempt, SignInLimits } from './sign-in-limits.service.js';

/** The row id of the admin token of the foundation issue (FAROL_ADMIN_TOKEN / data/admin-token). */
export const ADMIN_TOKEN_ID = 'tok_admin';
/** Last-used is written at most this often per token (audit `token.use`: first use per day). */
const TOKEN_TOUCH_MS = 60_000;
const SESSION_TOUCH_MS = 30_000;
/** Bookkeeping failures are logged at most this often (each line says how many were not). */
const BOOKKEEPING_WARN_MS = 60_000;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const sameText = (a: string, b: string): boolean => timingSafeEqual(Buffer.from(sha256(a)), Buffer.from(sha256(b)));
const dayOf = (ms: number): number => Math.floor(ms / 86_400_000);

/**
 * Who is asking: API tokens and browser sessions, signing in and out, your own password, and
 * the first start's admin. Sign-ins go through the limits of `sign-in-limits.service.ts`.
 */
export function createAuthentication(deps: AccountsDeps, parts: { users: AccountUsers; tokens: ApiTokens; secondFactor: SecondFactor; limits: SignInLimits }) {
  const { accounts, audit, clock, logger, settings, random } = deps;
  const { users, tokens, secondFactor, limits } = parts;
  /** A hash nobody's password matches, verified for unknown usernames so timing says nothing. */
  let dummyHash: Promise<string> | undefined;
  let bookkeepingWarnedAt = Number.NEGATIVE_INFINITY;
  let bookkeepingSkipped = 0;

  /**
   * Last-use bookkeeping (token last use, session last seen): the credential is already checked,
   * so a failed write is logged (at most once a minute, with how many were skipped) and the
   * request goes on (issue #12).
   */
  async function bookkeeping(what: string, context: Record<string, unknown>, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      const now = clock.now();
      if (now - bookkeepingWarnedAt < BOOKKEEPING_WARN_MS) {
        bookkeepingSkipped++;
        return;
      }
      logger.warn({ err: error, ...context, alsoFailedSinceLastWarning: bookkeepingSkipped }, `could not record ${what}; the request goes on`);
      bookkeepingWarnedAt = now;
      bookkeepingSkipped = 0;
    }
  }

  async function loginFailed(attempt: CountedAttempt, user: UserRecord | undefined, username: string, ip: string, reason: string): Promise<never> {
    await limits.failed(attempt, user, username, ip, reason);
    throw new FarolError('unauthorized', 'wrong username or password');
  }

  async function createSession(user: UserRecord, mfaAt: number | null): Promise<{ cookie: string; csrfToken: string; sessionId: string; createdAt: number }> {
    const now = clock.now();
    const sessionId = randomId('ses', 16, random);
    const secret = random(32).toString('base64url');
    const csrfToken = random(24).toString('base64url');
    await accounts.insertSession({ id: sessionId, userId: user.id, secretHash: sha256(secret), csrfToken, createdAt: now, lastSeenAt: now, mfaAt });
    return { cookie: `${sessionId}.${secret}`, csrfToken, sessionId, createdAt: now };
  }

  return {
    /** A browser session for a user someone else authenticated (single sign-on, issue #20). */
    startSession: createSession,

    /**
     * First start: when no user exists, creates `admin` with a random password, returned once
     * for the banner (never a default credential). Every start: makes the configured admin
     * token an ordinary API token of that admin (a new value replaces the old one; a revoked
     * token stays revoked while its value is unchanged).
     */
    async bootstrap({ adminToken }: { adminToken: string }): Promise<{ adminPassword: string | null }> {
      await users.loadRoles();
      const now = clock.now();
      let adminPassword: string | null = null;
      if ((await accounts.countUsers()) === 0) {
        const password = random(18).toString('base64url');
        // Several hubs starting on one empty database: one of them creates `admin` (issue #14).
        const created = await accounts.insertUserIfAbsent({
          id: randomId('usr', 16, random),
          username: 'admin',
          passwordHash: await argon2Hash(password),
          role: 'admin',
          scope: null,
          disabledAt: null,
          totpSecret: null,
          totpPending: null,
          totpLastStep: null,
          recoveryCodes: [],
          lastLoginAt: null,
          createdAt: now,
          updatedAt: now,
          oidcIssuer: null,
          oidcSubject: null,
          oidcRefusedAt: null,
        });
        if (created) {
          adminPassword = password;
          await audit.record({ actor: 'hub', action: 'user.create', details: { username: 'admin', role: 'admin', reason: 'first start' } });
          logger.info('created the admin account; its password is printed once in the banner');
        }
      }
      const owner = (await accounts.findUserByName('admin')) ?? (await accounts.listUsers()).find((u) => u.role === 'admin');
      if (!owner) throw new Error('no admin account to own the admin token; create one or remove FAROL_ADMIN_TOKEN');
      const hash = sha256(adminToken);
      const existing = await accounts.findToken(ADMIN_TOKEN_ID);
      if (!existing) {
        await accounts.insertToken({
          id: ADMIN_TOKEN_ID,
          userId: owner.id,
          name: 'admin token (FAROL_ADMIN_TOKEN or data/admin-token)',
          secretHash: hash,
          permissions: null,
          createdAt: now,
          expiresAt: null,
          revokedAt: null,
          lastUsedAt: null,
          mfaAt: null,
        }, { ifAbsent: true });
      } else if (existing.secretHash !== hash) {
        await accounts.updateToken(ADMIN_TOKEN_ID, { secretHash: hash, revokedAt: null, userId: existing.userId });
      }
      return { adminPassword };
    },

    /** `Authorization: Bearer <API token>` → who. Throws `unauthorized` / `token_expired` / `token_revoked`. */
    async authenticateToken(bearer: string | undefined): Promise<AuthContext> {
      if (!bearer) throw new FarolError('unauthorized', 'sign in, or send Authorization: Bearer <token>');
      const token = await accounts.findTokenByHash(sha256(bearer));
      if (!token) throw new FarolError('unauthorized', 'the token is not valid');
      const now = clock.now();
      const state = tokenState(token, now);
      if (state === 'revoked') throw new FarolError('token_revoked', 'the token was revoked');
      if (state === 'expired') throw new FarolError('token_expired', 'the token has expired; create a new one (farol api-tokens create)');
      const user = await users.activeUser(token.userId);
      const last = token.lastUsedAt;
      if (last === null || now - last >= TOKEN_TOUCH_MS) {
        await bookkeeping('the last use of an API token', { tokenId: token.id, userId: user.id }, async () => {
          await accounts.updateToken(token.id, { lastUsedAt: now });
          if (last === null || dayOf(last) !== dayOf(now)) {
            await audit.record({ actor: user.username, action: 'token.use', details: { tokenId: token.id, name: token.name } });
          }
        });
      }
      return {
        principal: users.principalOf(user, 'token', token, token.mfaAt),
        sessionId: null,
        csrfToken: null,
        expiresAt: token.expiresAt,
        signedInAt: null,
        tokenRestricted: token.permissions !== null,
      };
    },

    /** The session cookie's value → who, enforcing the idle and absolute timeouts. */
    async authenticateSession(cookie: string): Promise<AuthContext> {
      const [sessionId, secret] = cookie.split('.', 2);
      if (!sessionId || !secret) throw new FarolError('unauthorized', 'sign in again');
      const session = await accounts.findSession(sessionId);
      if (!session || !sameText(sha256(secret), session.secretHash)) throw new FarolError('unauthorized', 'sign in again');
      const now = clock.now();
      if (now - session.lastSeenAt >= settings.sessionIdleMs || now - session.createdAt >= settings.sessionMaxMs) {
        await accounts.deleteSession(session.id);
        throw new FarolError('unauthorized', 'the session has expired; sign in again');
      }
      const user = await users.activeUser(session.userId);
      if (now - session.lastSeenAt >= SESSION_TOUCH_MS) {
        await bookkeeping('the last use of a session', { sessionId: session.id, userId: user.id }, () => accounts.updateSession(session.id, { lastSeenAt: now }));
      }
      return {
        principal: users.principalOf(user, 'session', null, session.mfaAt),
        sessionId: session.id,
        csrfToken: session.csrfToken,
        expiresAt: session.createdAt + settings.sessionMaxMs,
        signedInAt: session.createdAt,
        tokenRestricted: false,
      };
    },

    /**
     * Username + password (+ second factor when enrolled). Limited per client address
     * (`loginPerAddressPerMinute`) and per username, known or not: from `lockoutThreshold`
     * failures the name is locked with a delay that doubles, and a locked name refuses even the
     * right password until the delay has passed. The counters live in the database and change
     * in single statements (issue #11).
     */
    async login(
      input: { username: string; password: string; otp?: string | undefined; issue: 'session' | 'token'; tokenName?: string | undefined; tokenTtl?: number | undefined },
      { ip }: { ip: string },
    ): Promise<{ context: AuthContext; cookie: string | null; token: ApiTokenCreated | null }> {
      // Issue #20: with FAROL_LOCAL_SIGNIN=off people sign in at the single sign-on provider; API tokens still work.
      if (settings.passwordSignIn === false) throw new FarolError('password_signin_off', 'password sign-in is turned off on this hub (FAROL_LOCAL_SIGNIN=off): sign in with single sign-on; API tokens still work');
      await limits.admitAddress(ip, input.username);
      const loginKey = `login:${input.username}`;
      const attempt = await limits.claim(loginKey, ip, input.username, 'too many failed sign-ins');
      const user = await accounts.findUserByName(input.username);
      const passwordOk = user?.passwordHash ? await argon2Verify(user.passwordHash, input.password) : (await argon2Verify(await (dummyHash ??= argon2Hash(random(16).toString('hex'))), input.password), false);
      if (!user || !passwordOk) return loginFailed(attempt, user, input.username, ip, user ? 'wrong password' : 'unknown user');
      if (user.disabledAt !== null) return loginFailed(attempt, user, input.username, ip, 'disabled');
      // The password is right: its count starts again (the second factor has its own).
      await limits.succeeded(loginKey);
      let mfaAt: number | null = null;
      if (user.totpSecret !== null) {
        if (!input.otp) throw new FarolError('mfa_required', 'enter the code from your authenticator app');
        if (!(await secondFactor.check(user, input.otp, ip))) throw new FarolError('unauthorized', 'wrong username or password');
        mfaAt = clock.now();
      }
      const now = clock.now();
      await accounts.updateUser(user.id, { lastLoginAt: now });
      await audit.record({ actor: user.username, action: 'auth.login', details: { ip, issue: input.issue, mfa: mfaAt !== null } });
      if (input.issue === 'token') {
        const { created, record } = await tokens.issue(user, { name: input.tokenName ?? `login from ${ip}`, ttlMs: input.tokenTtl }, user.username);
        return { context: { principal: users.principalOf(user, 'token', record, null), sessionId: null, csrfToken: null, expiresAt: created.expiresAt, signedInAt: null, tokenRestricted: false }, cookie: null, token: created };
      }
      const session = await createSession(user, mfaAt);
      return {
        context: {
          principal: users.principalOf(user, 'session', null, mfaAt),
          sessionId: session.sessionId,
          csrfToken: session.csrfToken,
          expiresAt: session.createdAt + settings.sessionMaxMs,
          signedInAt: session.createdAt,
          tokenRestricted: false,
        },
        cookie: session.cookie,
        token: null,
      };
    },

    async logout(context: AuthContext): Promise<void> {
      if (context.sessionId === null) return;
      await accounts.deleteSession(context.sessionId);
      await audit.record({ actor: context.principal.name, action: 'auth.logout', details: {} });
    },

    /**
     * A user changes their own password, from a browser session (issue #11); the current one
     * proves it is them and counts against the sign-in limit. Other browser sessions end; API
     * tokens stay (revoke them separately).
     */
    async changeOwnPassword(context: AuthContext, currentPassword: string, newPassword: string, { ip }: { ip: string }): Promise<void> {
      requireSession(context, 'changing your password');
      const user = await users.activeUser(context.principal.id);
      const loginKey = `login:${user.username}`;
      const attempt = await limits.claim(loginKey, ip, user.username, 'too many failed sign-ins');
      if (!user.passwordHash || !(await argon2Verify(user.passwordHash, currentPassword))) {
        await limits.failed(attempt, user, user.username, ip, 'wrong current password');
        // validation_failed, not unauthorized: the caller is signed in; only this input is wrong.
        throw new FarolError('validation_failed', 'the current password is not right');
      }
      await limits.succeeded(loginKey);
      const passwordHash = await argon2Hash(newPassword);
      await audit.transaction(async (repos, log) => {
        await repos.accounts.updateUser(user.id, { passwordHash, updatedAt: clock.now() });
        await repos.accounts.deleteSessionsOf(user.id, context.sessionId);
        log({ actor: user.username, action: 'user.update', details: { userId: user.id, username: user.username, password: 'changed by the user' } });
      });
    },

    /**
     * The owner's password sent with a request that changes account security (X-Farol-Password,
     * issue #11): checked and counted exactly like a sign-in, so it is no way around the lockout.
     */
    async confirmPassword(context: AuthContext, password: string, { ip }: { ip: string }): Promise<void> {
      const user = await users.activeUser(context.principal.id);
      const loginKey = `login:${user.username}`;
      const attempt = await limits.claim(loginKey, ip, user.username, 'too many failed sign-ins');
      if (!user.passwordHash || !(await argon2Verify(user.passwordHash, password))) {
        await limits.failed(attempt, user, user.username, ip, 'wrong password in X-Farol-Password');
        throw new FarolError('validation_failed', 'the password in X-Farol-Password is not right');
      }
      await limits.succeeded(loginKey);
    },

    /** Forgets sessions past their limits, and authentication noise and counters past their retention; called periodically. */
    async pruneSessions(): Promise<void> {
      const now = clock.now();
      await accounts.deleteExpiredSessions(now - settings.sessionIdleMs, now - settings.sessionMaxMs);
      await limits.prune();
    },
  };
}
