import { randomBytes } from 'node:crypto';
import type { Principal } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AccountsRepository } from './accounts.repository.js';
import { createAccountUsers } from './account-users.service.js';
import { createApiTokens, type ApiTokens } from './api-tokens.service.js';
import { createAuthentication } from './authentication.service.js';
import { createSecondFactor } from './second-factor.service.js';
import { createSignInLimits } from './sign-in-limits.service.js';
import { createSsoUsers } from './sso-users.service.js';

export { ADMIN_TOKEN_ID } from './authentication.service.js';
export { tokenState } from './api-tokens.service.js';

/** Who is asking and through what: the principal plus what the transports need to keep checking it. */
export interface AuthContext {
  principal: Principal;
  sessionId: string | null;
  csrfToken: string | null;
  /** When this credential stops working regardless of activity (token expiry, session absolute limit). */
  expiresAt: number | null;
  /** A browser session: when its password sign-in happened (the proof account-security changes look at). */
  signedInAt: number | null;
  /** An API token limited to a subset of its owner's permissions (never allowed account-security changes). */
  tokenRestricted: boolean;
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
  /** Sign-in attempts per minute from one client address (FAROL_LOGIN_RATE_LIMIT), counted in the database. */
  loginPerAddressPerMinute: number;
  /** Failed sign-ins are kept as one row per address, username and window of this length... */
  authNoiseWindowMs: number;
  /** ...for this long (issue #11: anonymous traffic cannot grow durable state). */
  authNoiseRetentionMs: number;
  /** The issuer shown by authenticator apps. */
  issuer: string;
  /** false: username + password sign-in is refused (FAROL_LOCAL_SIGNIN=off, issue #20); default true. */
  passwordSignIn?: boolean;
}

export const DEFAULT_ACCOUNTS_SETTINGS: AccountsSettings = {
  sessionIdleMs: 60 * 60_000,
  sessionMaxMs: 12 * 3_600_000,
  mfaMaxAgeMs: 10 * 60_000,
  lockoutThreshold: 5,
  lockoutBaseMs: 30_000,
  lockoutMaxMs: 3_600_000,
  loginPerAddressPerMinute: 10,
  authNoiseWindowMs: 10 * 60_000,
  authNoiseRetentionMs: 30 * 86_400_000,
  issuer: 'Farol',
};

/** A password sent with an account-security request, and where it came from (for the sign-in limits). */
export interface PasswordProof {
  password?: string | undefined;
  ip?: string;
}

/** What every part of the accounts is built from (wired in main.ts). */
export interface AccountsDeps {
  accounts: AccountsRepository;
  audit: AuditService;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  secretBox: SecretBox;
  settings: AccountsSettings;
  random: (size: number) => Buffer;
}

/**
 * Users, roles, API tokens and browser sessions (issue #6): who is asking, and what they may do.
 * Passwords are argon2id; tokens, sessions and recovery codes are stored as sha256 of 256-bit
 * random values; TOTP seeds are sealed with the hub's secret key. Every change that narrows
 * someone's access publishes `auth.changed`, which closes their live sockets.
 *
 * A thin facade over its parts (issue #21): `authentication.service.ts` (tokens and sessions,
 * sign-in, your password), `second-factor.service.ts`, `api-tokens.service.ts`,
 * `account-users.service.ts` (users, roles, principals), `sign-in-limits.service.ts` and
 * `sso-users.service.ts` (users of the single sign-on provider, issue #20).
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
}: Omit<AccountsDeps, 'settings' | 'random'> & { settings?: AccountsSettings; random?: (size: number) => Buffer }) {
  const deps: AccountsDeps = { accounts, audit, bus, clock, logger, secretBox, settings, random };
  const users = createAccountUsers(deps);
  const limits = createSignInLimits(deps);
  const tokens = createApiTokens(deps, users);
  const secondFactor = createSecondFactor(deps, users, limits);
  const authentication = createAuthentication(deps, { users, tokens, secondFactor, limits });
  const sso = createSsoUsers(deps, { users, startSession: authentication.startSession });
  async function confirmed(context: AuthContext, { password, ip = 'unknown' }: PasswordProof): Promise<boolean> {
    if (password === undefined) return false;
    await authentication.confirmPassword(context, password, { ip });
    return true;
  }
  return {
    settings,
    /** How many times access rules changed; sockets re-authenticate when it moves. */
    generation: users.generation,
    /** Resolves once the roles re-read after another hub's change (or Redis coming back) are in. */
    rolesReloaded: users.rolesReloaded,

    bootstrap: authentication.bootstrap,
    authenticateToken: authentication.authenticateToken,
    authenticateSession: authentication.authenticateSession,
    login: authentication.login,
    logout: authentication.logout,
    changeOwnPassword: authentication.changeOwnPassword,
    pruneSessions: authentication.pruneSessions,
    /** Who tried what: failed and refused sign-ins and second factors, aggregated per address, username and window. */
    listAuthFailures: limits.list,

    stepUp: secondFactor.stepUp,
    enrolTotp: secondFactor.enrolTotp,
    confirmTotp: secondFactor.confirmTotp,
    disableTotp: secondFactor.disableTotp,

    /** `password`: the owner's password sent with the request (X-Farol-Password), checked before anything else. */
    async createToken(context: AuthContext, input: Parameters<ApiTokens['createToken']>[1], proof: PasswordProof = {}) {
      return tokens.createToken(context, input, await confirmed(context, proof));
    },
    listTokens: tokens.listTokens,
    async revokeToken(context: AuthContext, tokenId: string, proof: PasswordProof = {}) {
      return tokens.revokeToken(context, tokenId, await confirmed(context, proof));
    },

    /** Who a user is outside a request (a chat button press, issue #20): null when unknown or disabled. */
    async principalOfUser(userId: string): Promise<Principal | null> {
      const user = await accounts.findUserById(userId);
      if (!user || user.disabledAt !== null) return null;
      return users.principalOf(user, 'session', null, null);
    },
    /** Users of the single sign-on provider (issue #20): linked by issuer + subject, role from the claims. */
    sso,
    /** Whether a role exists (built-in or custom), for checking the single sign-on role mapping at start. */
    roleExists: (name: string): boolean => users.roleOf(name) !== undefined,

    listUsers: users.listUsers,
    createUser: users.createUser,
    updateUser: users.updateUser,
    listRoles: users.listRoles,
    createRole: users.createRole,
    deleteRole: users.deleteRole,
  };
}
export type AccountsService = ReturnType<typeof createAccountsService>;
