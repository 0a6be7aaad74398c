import type { Selectable, Updateable } from 'kysely';
import type { Permission } from '@farol/protocol';
import type { ApiTokensTable, Db, RolesTable, SessionsTable, UsersTable } from '../../infra/database.js';
import { createAuthLimitsRepository } from './auth-limits.repository.js';

/** An operator as the service sees it (issue #21: records, never raw rows). */
export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string | null;
  role: string;
  scope: string | null;
  disabledAt: number | null;
  /** Sealed with the hub's secret key (context `users.totp_secret:<id>`). */
  totpSecret: string | null;
  /** Sealed (context `users.totp_pending:<id>`): an enrolment not yet confirmed. */
  totpPending: string | null;
  /** The last TOTP time step accepted, so a code is never accepted twice. */
  totpLastStep: number | null;
  /** sha256 hex of the unused recovery codes. */
  recoveryCodes: string[];
  lastLoginAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Single sign-on (issue #20): the provider (issuer URL) and subject this user is linked to; null for local users. */
  oidcIssuer: string | null;
  oidcSubject: string | null;
  /** When the provider's claims disabled the account (no group granted access); cleared when they grant it again. */
  oidcRefusedAt: number | null;
}

export interface ApiTokenRecord {
  id: string;
  userId: string;
  name: string;
  secretHash: string;
  /** null: every permission of the owner. */
  permissions: Permission[] | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
  /** When the owner last gave a second factor through this token (step-up). */
  mfaAt: number | null;
}

export interface SessionRecord {
  id: string;
  userId: string;
  secretHash: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  mfaAt: number | null;
}

export interface RoleRecord {
  name: string;
  permissions: Permission[];
  description: string | null;
  createdAt: number;
}

/** What a change to a user may set. */
export type UserChanges = Partial<Omit<UserRecord, 'id' | 'createdAt'>>;

// Bound parameters and bigint columns arrive as numbers or bigints depending on the driver.
const num = (value: number | bigint): number => Number(value);
const numOrNull = (value: number | bigint | null): number | null => (value === null ? null : Number(value));

function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    role: row.role,
    scope: row.scope,
    disabledAt: numOrNull(row.disabled_at),
    totpSecret: row.totp_secret,
    totpPending: row.totp_pending,
    totpLastStep: numOrNull(row.totp_last_step),
    recoveryCodes: JSON.parse(row.recovery_codes) as string[],
    lastLoginAt: numOrNull(row.last_login_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    oidcIssuer: row.oidc_issuer ?? null,
    oidcSubject: row.oidc_subject ?? null,
    oidcRefusedAt: numOrNull(row.oidc_refused_at ?? null),
  };
}

function userColumns(changes: UserChanges): Updateable<UsersTable> {
  const columns: Updateable<UsersTable> = {};
  if (changes.username !== undefined) columns.username = changes.username;
  if (changes.passwordHash !== undefined) columns.password_hash = changes.passwordHash;
  if (changes.role !== undefined) columns.role = changes.role;
  if (changes.scope !== undefined) columns.scope = changes.scope;
  if (changes.disabledAt !== undefined) columns.disabled_at = changes.disabledAt;
  if (changes.totpSecret !== undefined) columns.totp_secret = changes.totpSecret;
  if (changes.totpPending !== undefined) columns.totp_pending = changes.totpPending;
  if (changes.totpLastStep !== undefined) columns.totp_last_step = changes.totpLastStep;
  if (changes.recoveryCodes !== undefined) columns.recovery_codes = JSON.stringify(changes.recoveryCodes);
  if (changes.lastLoginAt !== undefined) columns.last_login_at = changes.lastLoginAt;
  if (changes.updatedAt !== undefined) columns.updated_at = changes.updatedAt;
  if (changes.oidcIssuer !== undefined) columns.oidc_issuer = changes.oidcIssuer;
  if (changes.oidcSubject !== undefined) columns.oidc_subject = changes.oidcSubject;
  if (changes.oidcRefusedAt !== undefined) columns.oidc_refused_at = changes.oidcRefusedAt;
  return columns;
}

function toToken(row: Selectable<ApiTokensTable>): ApiTokenRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    secretHash: row.secret_hash,
    permissions: row.permissions === null ? null : (JSON.parse(row.permissions) as Permission[]),
    createdAt: num(row.created_at),
    expiresAt: numOrNull(row.expires_at),
    revokedAt: numOrNull(row.revoked_at),
    lastUsedAt: numOrNull(row.last_used_at),
    mfaAt: numOrNull(row.mfa_at),
  };
}

function tokenColumns(changes: Partial<Omit<ApiTokenRecord, 'id'>>): Updateable<ApiTokensTable> {
  const columns: Updateable<ApiTokensTable> = {};
  if (changes.userId !== undefined) columns.user_id = changes.userId;
  if (changes.name !== undefined) columns.name = changes.name;
  if (changes.secretHash !== undefined) columns.secret_hash = changes.secretHash;
  if (changes.permissions !== undefined) columns.permissions = changes.permissions === null ? null : JSON.stringify(changes.permissions);
  if (changes.createdAt !== undefined) columns.created_at = changes.createdAt;
  if (changes.expiresAt !== undefined) columns.expires_at = changes.expiresAt;
  if (changes.revokedAt !== undefined) columns.revoked_at = changes.revokedAt;
  if (changes.lastUsedAt !== undefined) columns.last_used_at = changes.lastUsedAt;
  if (changes.mfaAt !== undefined) columns.mfa_at = changes.mfaAt;
  return columns;
}

function toSession(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    secretHash: row.secret_hash,
    csrfToken: row.csrf_token,
    createdAt: num(row.created_at),
    lastSeenAt: num(row.last_seen_at),
    mfaAt: numOrNull(row.mfa_at),
  };
}

function toRole(row: Selectable<RolesTable>): RoleRecord {
  return { name: row.name, permissions: JSON.parse(row.permissions) as Permission[], description: row.description, createdAt: num(row.created_at) };
}

/** SQL for users, custom roles, API tokens and sessions; rows become typed records here. */
export function createAccountsRepository(db: Db) {
  return {
    /** Sign-in and second-factor counters, and authentication noise (issue #11). */
    limits: createAuthLimitsRepository(db),

    countUsers: async (): Promise<number> => Number((await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    findUserById: async (id: string): Promise<UserRecord | undefined> => {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toUser(row);
    },
    findUserByName: async (username: string): Promise<UserRecord | undefined> => {
      const row = await db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
      return row && toUser(row);
    },
    /** The user linked to a single sign-on identity (issue #20): issuer + subject, never the e-mail. */
    findUserByOidc: async (issuer: string, subject: string): Promise<UserRecord | undefined> => {
      const row = await db.selectFrom('users').selectAll().where('oidc_issuer', '=', issuer).where('oidc_subject', '=', subject).executeTakeFirst();
      return row && toUser(row);
    },
    listUsers: async (): Promise<UserRecord[]> => (await db.selectFrom('users').selectAll().orderBy('username').execute()).map(toUser),
    insertUser: async (user: UserRecord): Promise<void> => {
      // failed_logins and locked_until are no longer used (issue #11: auth_lockouts); kept for old files.
      await db
        .insertInto('users')
        .values({ id: user.id, created_at: user.createdAt, ...userColumns(user), username: user.username, role: user.role, recovery_codes: JSON.stringify(user.recoveryCodes), updated_at: user.updatedAt, failed_logins: 0 })
        .execute();
    },
    /** Inserts the user unless its name (or id) is taken; true when inserted. Hubs starting at once create the first admin once (issue #14). */
    insertUserIfAbsent: async (user: UserRecord): Promise<boolean> => {
      const rows = await db
        .insertInto('users')
        .values({ id: user.id, created_at: user.createdAt, ...userColumns(user), username: user.username, role: user.role, recovery_codes: JSON.stringify(user.recoveryCodes), updated_at: user.updatedAt, failed_logins: 0 })
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .execute();
      return rows.length > 0;
    },
    updateUser: async (id: string, changes: UserChanges): Promise<void> => {
      await db.updateTable('users').set(userColumns(changes)).where('id', '=', id).execute();
    },
    /** Accepts a TOTP time step only if it is newer than the last accepted one (one statement: no replay in a race). */
    acceptTotpStep: async (id: string, step: number): Promise<boolean> => {
      const result = await db
        .updateTable('users')
        .set({ totp_last_step: step })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    /** Replaces the recovery codes only if they are still `expected` (a code is spent once, even in a race). */
    replaceRecoveryCodes: async (id: string, expected: string[], next: string[]): Promise<boolean> => {
      const result = await db.updateTable('users').set({ recovery_codes: JSON.stringify(next) }).where('id', '=', id).where('recovery_codes', '=', JSON.stringify(expected)).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    usersWithRole: async (role: string): Promise<string[]> => (await db.selectFrom('users').select('id').where('role', '=', role).execute()).map((row) => row.id),

    listRoles: async (): Promise<RoleRecord[]> => (await db.selectFrom('roles').selectAll().orderBy('name').execute()).map(toRole),
    insertRole: async (role: RoleRecord): Promise<void> => {
      await db.insertInto('roles').values({ name: role.name, permissions: JSON.stringify(role.permissions), description: role.description, created_at: role.createdAt }).execute();
    },
    deleteRole: async (name: string): Promise<void> => {
      await db.deleteFrom('roles').where('name', '=', name).execute();
    },

    findTokenByHash: async (hash: string): Promise<ApiTokenRecord | undefined> => {
      const row = await db.selectFrom('api_tokens').selectAll().where('secret_hash', '=', hash).executeTakeFirst();
      return row && toToken(row);
    },
    findToken: async (id: string): Promise<ApiTokenRecord | undefined> => {
      const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toToken(row);
    },
    listTokens: async (userId?: string): Promise<ApiTokenRecord[]> => {
      let query = db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc');
      if (userId !== undefined) query = query.where('user_id', '=', userId);
      return (await query.execute()).map(toToken);
    },
    insertToken: async (token: ApiTokenRecord, { ifAbsent = false }: { ifAbsent?: boolean } = {}): Promise<void> => {
      let query = db
        .insertInto('api_tokens')
        .values({ ...tokenColumns(token), id: token.id, user_id: token.userId, name: token.name, secret_hash: token.secretHash, created_at: token.createdAt });
      // The admin token at start: another hub starting at once may have inserted it first (issue #14).
      if (ifAbsent) query = query.onConflict((oc) => oc.column('id').doNothing());
      await query.execute();
    },
    updateToken: async (id: string, changes: Partial<Omit<ApiTokenRecord, 'id'>>): Promise<void> => {
      await db.updateTable('api_tokens').set(tokenColumns(changes)).where('id', '=', id).execute();
    },

    findSession: async (id: string): Promise<SessionRecord | undefined> => {
      const row = await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toSession(row);
    },
    insertSession: async (session: SessionRecord): Promise<void> => {
      await db
        .insertInto('sessions')
        .values({
          id: session.id,
          user_id: session.userId,
          secret_hash: session.secretHash,
          csrf_token: session.csrfToken,
          created_at: session.createdAt,
          last_seen_at: session.lastSeenAt,
          mfa_at: session.mfaAt,
        })
        .execute();
    },
    updateSession: async (id: string, changes: { lastSeenAt?: number; mfaAt?: number | null }): Promise<void> => {
      await db
        .updateTable('sessions')
        .set({ ...(changes.lastSeenAt === undefined ? {} : { last_seen_at: changes.lastSeenAt }), ...(changes.mfaAt === undefined ? {} : { mfa_at: changes.mfaAt }) })
        .where('id', '=', id)
        .execute();
    },
    deleteSession: async (id: string): Promise<void> => {
      await db.deleteFrom('sessions').where('id', '=', id).execute();
    },
    /** Every session of a user, except `keep` (the one making the change). */
    deleteSessionsOf: async (userId: string, keep: string | null = null): Promise<void> => {
      let query = db.deleteFrom('sessions').where('user_id', '=', userId);
      if (keep !== null) query = query.where('id', '!=', keep);
      await query.execute();
    },
    /** Sessions past their idle or absolute limit. */
    deleteExpiredSessions: async (idleBefore: number, createdBefore: number): Promise<void> => {
      await db.deleteFrom('sessions').where((eb) => eb.or([eb('last_seen_at', '<', idleBefore), eb('created_at', '<', createdBefore)])).execute();
    },
  };
}
export type AccountsRepository = ReturnType<typeof createAccountsRepository>;
