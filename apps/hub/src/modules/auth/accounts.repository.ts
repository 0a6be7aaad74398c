import type { Insertable, Selectable, Updateable } from 'kysely';
import type { ApiTokensTable, Db, RolesTable, SessionsTable, UsersTable } from '../../infra/database.js';

export type UserRow = Selectable<UsersTable>;
export type ApiTokenRow = Selectable<ApiTokensTable>;
export type SessionRow = Selectable<SessionsTable>;
export type RoleRow = Selectable<RolesTable>;

/** SQL for users, custom roles, API tokens and sessions. */
export function createAccountsRepository(db: Db) {
  return {
    countUsers: async (): Promise<number> => Number((await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    findUserById: (id: string) => db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst(),
    findUserByName: (username: string) => db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst(),
    listUsers: () => db.selectFrom('users').selectAll().orderBy('username').execute(),
    insertUser: async (row: Insertable<UsersTable>): Promise<void> => {
      await db.insertInto('users').values(row).execute();
    },
    updateUser: async (id: string, changes: Updateable<UsersTable>): Promise<void> => {
      await db.updateTable('users').set(changes).where('id', '=', id).execute();
    },
    usersWithRole: (role: string) => db.selectFrom('users').select('id').where('role', '=', role).execute(),

    listRoles: () => db.selectFrom('roles').selectAll().orderBy('name').execute(),
    findRole: (name: string) => db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst(),
    insertRole: async (row: Insertable<RolesTable>): Promise<void> => {
      await db.insertInto('roles').values(row).execute();
    },
    deleteRole: async (name: string): Promise<void> => {
      await db.deleteFrom('roles').where('name', '=', name).execute();
    },

    findTokenByHash: (hash: string) => db.selectFrom('api_tokens').selectAll().where('secret_hash', '=', hash).executeTakeFirst(),
    findToken: (id: string) => db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst(),
    listTokens: (userId?: string) => {
      let query = db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc');
      if (userId !== undefined) query = query.where('user_id', '=', userId);
      return query.execute();
    },
    insertToken: async (row: Insertable<ApiTokensTable>): Promise<void> => {
      await db.insertInto('api_tokens').values(row).execute();
    },
    updateToken: async (id: string, changes: Updateable<ApiTokensTable>): Promise<void> => {
      await db.updateTable('api_tokens').set(changes).where('id', '=', id).execute();
    },

    findSession: (id: string) => db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst(),
    insertSession: async (row: Insertable<SessionsTable>): Promise<void> => {
      await db.insertInto('sessions').values(row).execute();
    },
    updateSession: async (id: string, changes: Updateable<SessionsTable>): Promise<void> => {
      await db.updateTable('sessions').set(changes).where('id', '=', id).execute();
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
