import { FarolError, UsernameSchema } from '@farol/protocol';
import { randomId } from '../../infra/ids.js';
import type { AccountsDeps, AuthContext } from './accounts.service.js';
import type { UserRecord } from './accounts.repository.js';
import type { AccountUsers } from './account-users.service.js';
import type { OidcGrant } from './oidc-role-map.js';

/** Who the provider says signed in: the account is found by issuer + subject, never by name or e-mail. */
export interface SsoIdentity {
  issuer: string;
  subject: string;
  /** The name a new account gets (from FAROL_OIDC_USERNAME_CLAIM, e-mail or subject), made unique. */
  usernameHint: string;
}

/** Why a single sign-on was refused: no claim value maps to a role, or an admin disabled the account. */
export class SsoRefusedError extends FarolError {
  constructor(
    readonly reason: 'refused' | 'disabled' | 'mismatch',
    message: string,
  ) {
    super(reason === 'disabled' ? 'unauthorized' : 'forbidden', message);
  }
}

interface StartedSession {
  cookie: string;
  csrfToken: string;
  sessionId: string;
  createdAt: number;
}

/** A username the protocol accepts, from whatever the provider sent. */
function usernameFrom(hint: string): string {
  const cleaned = hint.replaceAll(/[^A-Za-z0-9._@-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 56);
  return cleaned === '' ? 'sso-user' : cleaned;
}

/**
 * Users of the single sign-on provider (issue #20). A person is linked by issuer + subject;
 * their role and scope are derived from the claims at every sign-in and step-up, so someone
 * taken out of the group loses access at their next sign-in: the account is disabled, its
 * sessions end and its sockets close. An account disabled by the claims is enabled again when
 * the claims grant a role again; one an admin disabled stays disabled.
 */
export function createSsoUsers(deps: AccountsDeps, parts: { users: AccountUsers; startSession: (user: UserRecord, mfaAt: number | null) => Promise<StartedSession> }) {
  const { accounts, audit, clock, random } = deps;
  const { users, startSession } = parts;

  async function uniqueUsername(hint: string): Promise<string> {
    const base = usernameFrom(hint);
    for (let n = 1; n < 100; n++) {
      const candidate = n === 1 ? base : `${base}-${n}`;
      if (UsernameSchema.safeParse(candidate).success && !(await accounts.findUserByName(candidate))) return candidate;
    }
    return randomId('sso', 8, random).replace('_', '-');
  }

  /** No grant: the account (if any) is disabled by the claims, its sessions end; always throws. */
  async function refuse(identity: SsoIdentity, user: UserRecord | undefined, ip: string): Promise<never> {
    const now = clock.now();
    await audit.transaction(async (repos, log) => {
      if (user) {
        await repos.accounts.updateUser(user.id, { disabledAt: user.disabledAt ?? now, oidcRefusedAt: now, updatedAt: now });
        await repos.accounts.deleteSessionsOf(user.id);
      }
      log({
        actor: user?.username ?? identity.usernameHint,
        action: 'auth.oidc_refused',
        details: { ip, issuer: identity.issuer, ...(user ? { userId: user.id, disabled: true } : {}), reason: 'no claim value maps to a role' },
      });
    });
    if (user) users.changed(user.id, 'single sign-on claims grant no role');
    throw new SsoRefusedError('refused', 'the single sign-on provider says you are in no group that may use Farol; ask an admin');
  }

  /**
   * Finds or creates the linked account and applies the grant: role, scope, enabled. An account
   * an admin disabled is refused. Returns the account as it is now.
   */
  async function reconcile(identity: SsoIdentity, grant: OidcGrant | null, ip: string): Promise<UserRecord> {
    const found = await accounts.findUserByOidc(identity.issuer, identity.subject);
    if (!grant) return refuse(identity, found, ip);
    if (!users.roleOf(grant.role)) throw new FarolError('internal', `the single sign-on role mapping names the role ${grant.role}, which no longer exists`);
    const now = clock.now();
    if (!found) {
      const user: UserRecord = {
        id: randomId('usr', 16, random),
        username: await uniqueUsername(identity.usernameHint),
        passwordHash: null,
        role: grant.role,
        scope: grant.scope,
        disabledAt: null,
        totpSecret: null,
        totpPending: null,
        totpLastStep: null,
        recoveryCodes: [],
        lastLoginAt: null,
        createdAt: now,
        updatedAt: now,
        oidcIssuer: identity.issuer,
        oidcSubject: identity.subject,
        oidcRefusedAt: null,
      };
      await audit.transaction(async (repos, log) => {
        await repos.accounts.insertUser(user);
        log({ actor: user.username, action: 'user.create', details: { userId: user.id, username: user.username, role: user.role, scope: user.scope, source: 'single sign-on', issuer: identity.issuer, matched: grant.matched } });
      });
      return user;
    }
    if (found.disabledAt !== null && found.oidcRefusedAt === null) {
      await audit.record({ actor: found.username, action: 'auth.oidc_refused', details: { ip, issuer: identity.issuer, userId: found.id, reason: 'the account is disabled' } });
      throw new SsoRefusedError('disabled', 'this account is disabled; ask an admin');
    }
    const roleChanged = found.role !== grant.role;
    const scopeChanged = found.scope !== grant.scope;
    const enabled = found.disabledAt !== null;
    if (!roleChanged && !scopeChanged && !enabled) return found;
    await audit.transaction(async (repos, log) => {
      await repos.accounts.updateUser(found.id, { role: grant.role, scope: grant.scope, disabledAt: null, oidcRefusedAt: null, updatedAt: now });
      log({
        actor: found.username,
        action: 'user.update',
        details: {
          userId: found.id,
          username: found.username,
          ...(roleChanged ? { role: { from: found.role, to: grant.role } } : {}),
          ...(scopeChanged ? { scope: { from: found.scope, to: grant.scope } } : {}),
          ...(enabled ? { disabled: false } : {}),
          reason: 'single sign-on claims',
          matched: grant.matched,
        },
      });
    });
    // Open sockets re-check at once (a narrower role or scope closes them).
    users.changed(found.id, 'role changed by single sign-on claims');
    return (await accounts.findUserById(found.id))!;
  }

  return {
    /**
     * A sign-in the provider vouched for: the linked account (created on first sign-in) with
     * the role the claims map to, and a new browser session. `authTime`: when the person
     * authenticated at the provider; it counts as a fresh second factor for a user without
     * Farol's TOTP (who steps up at the provider), like a TOTP code at a password sign-in.
     */
    async signIn(identity: SsoIdentity, grant: OidcGrant | null, { ip, authTime }: { ip: string; authTime: number | null }): Promise<{ cookie: string; context: AuthContext }> {
      const user = await reconcile(identity, grant, ip);
      const now = clock.now();
      const mfaAt = user.totpSecret === null && authTime !== null ? Math.min(authTime, now) : null;
      await accounts.updateUser(user.id, { lastLoginAt: now });
      await audit.record({ actor: user.username, action: 'auth.oidc_login', details: { ip, issuer: identity.issuer, role: user.role, scope: user.scope, matched: grant!.matched, mfa: mfaAt !== null } });
      const session = await startSession(user, mfaAt);
      return {
        cookie: session.cookie,
        context: {
          principal: users.principalOf(user, 'session', null, mfaAt),
          sessionId: session.sessionId,
          csrfToken: session.csrfToken,
          expiresAt: session.createdAt + deps.settings.sessionMaxMs,
          signedInAt: session.createdAt,
          tokenRestricted: false,
        },
      };
    },

    /**
     * Step-up at the provider: the person signed in again there (the caller checked `auth_time`),
     * as the same identity the session belongs to. The grant is applied too (a role cut takes
     * effect now); the session's second factor becomes fresh.
     */
    async stepUp(session: { sessionId: string; userId: string }, identity: SsoIdentity, grant: OidcGrant | null, { ip }: { ip: string }): Promise<void> {
      const current = await accounts.findUserById(session.userId);
      if (!current || current.oidcIssuer !== identity.issuer || current.oidcSubject !== identity.subject) {
        await audit.record({ actor: current?.username ?? identity.usernameHint, action: 'auth.oidc_refused', details: { ip, issuer: identity.issuer, reason: 'the provider signed in someone else than the session\'s user' } });
        throw new SsoRefusedError('mismatch', 'the provider signed in someone else; sign in again as yourself');
      }
      const user = await reconcile(identity, grant, ip);
      if (!(await accounts.findSession(session.sessionId))) throw new FarolError('unauthorized', 'the session has ended; sign in again');
      await accounts.updateSession(session.sessionId, { mfaAt: clock.now() });
      // Like a TOTP step-up: open sockets re-read the session's second factor at their next event.
      users.bumpGeneration();
      await audit.record({ actor: user.username, action: 'auth.oidc_step_up', details: { ip, issuer: identity.issuer } });
    },
  };
}
export type SsoUsers = ReturnType<typeof createSsoUsers>;
