import { hash as argon2Hash } from '@node-rs/argon2';
import { BUILTIN_ROLES, FarolError, parseLabelSelector, PERMISSIONS, type Permission, type Principal, type Role, type User, type UserCreate, type UserUpdate } from '@farol/protocol';
import { randomId } from '../../infra/ids.js';
import type { AccountsDeps } from './accounts.service.js';
import type { ApiTokenRecord, UserRecord } from './accounts.repository.js';

export function userView(user: UserRecord): User {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    scope: user.scope,
    disabled: user.disabledAt !== null,
    mfaEnabled: user.totpSecret !== null,
    createdAt: user.createdAt,
    lastLoginAt: user.lastLoginAt,
  };
}

/**
 * Users and roles (users:manage), and what every other part of the accounts needs from them:
 * a role's permissions, the principal of a user, and the generation that moves with every change
 * to who may do what.
 */
export function createAccountUsers({ accounts, audit, bus, clock, logger, random }: AccountsDeps) {
  /** Custom roles, cached: every request needs its role's permissions. */
  let customRoles = new Map<string, Role>();
  /** Bumped by every change to users, roles or tokens; sockets re-check when it moves. */
  let generation = 0;

  async function loadRoles(): Promise<void> {
    const roles = await accounts.listRoles();
    customRoles = new Map(roles.map((role) => [role.name, { name: role.name, permissions: role.permissions, builtin: false, description: role.description }]));
  }

  function roleOf(name: string): Role | undefined {
    if (Object.hasOwn(BUILTIN_ROLES, name)) {
      return { name, permissions: [...BUILTIN_ROLES[name as keyof typeof BUILTIN_ROLES]], builtin: true, description: null };
    }
    return customRoles.get(name);
  }

  /** Someone's access changed: sockets re-check, and theirs (or all, for `userId` null) close if it narrowed. */
  function changed(userId: string | null, reason: string, tokenId?: string): void {
    bus.publish('auth.changed', { userId, tokenId: tokenId ?? null, reason });
  }

  // Issue #14: every change, made here or on any other hub of the fleet (the bus carries it, and
  // hands this hub's own to these subscribers synchronously), moves the generation; a role
  // created or deleted anywhere is re-read here.
  /** The newest re-read of the roles that another hub's change started (resolved when none is). */
  let rolesReload: Promise<void> = Promise.resolve();
  const reloadRoles = (): void => {
    rolesReload = loadRoles().catch((error: unknown) => logger.error({ err: error }, 'could not re-read the roles after another hub changed them'));
  };
  bus.subscribe('auth.changed', (event) => {
    generation++;
    if (event.userId === null && event.tokenId === null) reloadRoles();
  });
  bus.subscribe('auth.refreshed', (event) => {
    generation++;
    if (event.roles) reloadRoles();
  });
  // Changes announced while Redis was away were missed: every credential is read again, roles too.
  bus.subscribe('broadcasts.resumed', () => {
    generation++;
    reloadRoles();
  });

  function validateScope(scope: string | null | undefined): void {
    if (scope === null || scope === undefined) return;
    try {
      parseLabelSelector(scope);
    } catch (error) {
      throw new FarolError('validation_failed', (error as Error).message, { cause: error });
    }
  }

  return {
    loadRoles,
    /** Resolves once the roles re-read after another hub's change (or Redis coming back) are in. */
    rolesReloaded: (): Promise<void> => rolesReload,
    roleOf,
    generation: () => generation,
    /** Moves the generation (here and on every hub) without closing sockets: their next event re-reads the credential (a step-up). */
    bumpGeneration(): void {
      bus.publish('auth.refreshed', { roles: false });
    },
    changed,

    principalOf(user: UserRecord, via: 'token' | 'session', token: ApiTokenRecord | null, mfaAt: number | null): Principal {
      const rolePermissions = roleOf(user.role)?.permissions ?? [];
      const tokenPermissions = token?.permissions ?? null;
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
        mfaEnabled: user.totpSecret !== null,
        mfaAt,
        // Issue #20: a single sign-on user without TOTP steps up by signing in again at the provider.
        stepUpWith: user.totpSecret !== null ? 'code' : user.oidcSubject !== null ? 'provider' : null,
      };
    },

    async activeUser(userId: string): Promise<UserRecord> {
      const user = await accounts.findUserById(userId);
      if (!user || user.disabledAt !== null) throw new FarolError('unauthorized', 'this account is disabled');
      return user;
    },

    async listUsers(): Promise<User[]> {
      return (await accounts.listUsers()).map(userView);
    },

    async createUser(actor: Principal, input: UserCreate): Promise<User> {
      if (!roleOf(input.role)) throw new FarolError('validation_failed', `no role ${input.role}`);
      validateScope(input.scope);
      if (await accounts.findUserByName(input.username)) throw new FarolError('name_taken', `the username ${input.username} is taken`);
      const now = clock.now();
      const user: UserRecord = {
        id: randomId('usr', 16, random),
        username: input.username,
        passwordHash: await argon2Hash(input.password),
        role: input.role,
        scope: input.scope ?? null,
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
      };
      await audit.transaction(async (repos, log) => {
        await repos.accounts.insertUser(user);
        log({ actor: actor.name, action: 'user.create', details: { userId: user.id, username: user.username, role: user.role, scope: user.scope } });
      });
      return userView(user);
    },

    async updateUser(actor: Principal, userId: string, changes: UserUpdate): Promise<User> {
      const user = await accounts.findUserById(userId);
      if (!user) throw new FarolError('not_found', `no user ${userId}`);
      if (changes.role !== undefined && !roleOf(changes.role)) throw new FarolError('validation_failed', `no role ${changes.role}`);
      validateScope(changes.scope);
      if (userId === actor.id && changes.password !== undefined) {
        // Your own password is an account-security change: the current one, from a session (issue #11).
        throw new FarolError('forbidden', 'change your own password with POST /api/me/password (Settings → Password), which asks for the current one');
      }
      if (userId === actor.id && (changes.disabled === true || (changes.role !== undefined && changes.role !== 'admin' && user.role === 'admin'))) {
        // Locking yourself out of administration is never what was meant.
        throw new FarolError('conflict', 'you cannot disable yourself or drop your own admin role; ask another admin');
      }
      const now = clock.now();
      const update = {
        ...(changes.role === undefined ? {} : { role: changes.role }),
        ...(changes.scope === undefined ? {} : { scope: changes.scope }),
        // An admin's decision either way replaces a disable by the provider's claims (issue #20).
        ...(changes.disabled === undefined ? {} : { disabledAt: changes.disabled ? (user.disabledAt ?? now) : null, oidcRefusedAt: null }),
        ...(changes.password === undefined ? {} : { passwordHash: await argon2Hash(changes.password) }),
        updatedAt: now,
      };
      await audit.transaction(async (repos, log) => {
        await repos.accounts.updateUser(user.id, update);
        // Sessions are cut too: whoever holds one signed in under the old rules.
        if (changes.disabled === true || changes.password !== undefined) await repos.accounts.deleteSessionsOf(user.id);
        // A new password set by an admin ends a lockout of the name.
        if (changes.password !== undefined) await repos.accounts.limits.clearLockout(`login:${user.username}`);
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
        await repos.accounts.insertRole({ name: input.name, permissions, description: input.description ?? null, createdAt: clock.now() });
        log({ actor: actor.name, action: 'role.create', details: { name: input.name, permissions } });
      });
      await loadRoles();
      bus.publish('auth.refreshed', { roles: true });
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
  };
}
export type AccountUsers = ReturnType<typeof createAccountUsers>;
