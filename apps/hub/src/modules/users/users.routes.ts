import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  FarolError,
  ProblemSchema,
  RoleCreateSchema,
  RoleListSchema,
  RoleNameParamsSchema,
  RoleSchema,
  UserCreateSchema,
  UserIdParamsSchema,
  UserListSchema,
  UserSchema,
  UserUpdateSchema,
  type Principal,
} from '@farol/protocol';
import type { AccountsService } from '../auth/accounts.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema };

function actorOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'sign in first');
  return request.principal;
}

/** Users and roles (users:manage). */
export function usersRoutes({ accounts }: { accounts: AccountsService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/users', { schema: { tags: ['users'], summary: 'Every user', response: { 200: UserListSchema, ...errors } } }, async () => ({ users: await accounts.listUsers() }));
    app.post(
      '/api/users',
      { schema: { tags: ['users'], summary: 'Add a user with a role (optionally limited to a label selector)', body: UserCreateSchema, response: { 201: UserSchema, ...errors } } },
      async (request, reply) => reply.status(201).send(await accounts.createUser(actorOf(request), request.body)),
    );
    app.patch(
      '/api/users/:id',
      {
        schema: {
          tags: ['users'],
          summary: 'Change a user\'s role, scope, password or disable them; their live sockets close within seconds',
          params: UserIdParamsSchema,
          body: UserUpdateSchema,
          response: { 200: UserSchema, ...errors },
        },
      },
      async (request) => accounts.updateUser(actorOf(request), request.params.id, request.body),
    );
    app.get('/api/roles', { schema: { tags: ['users'], summary: 'Built-in and custom roles', response: { 200: RoleListSchema, ...errors } } }, async () => ({ roles: accounts.listRoles() }));
    app.post(
      '/api/roles',
      { schema: { tags: ['users'], summary: 'Create a custom role from permissions', body: RoleCreateSchema, response: { 201: RoleSchema, ...errors } } },
      async (request, reply) => reply.status(201).send(await accounts.createRole(actorOf(request), request.body)),
    );
    app.delete(
      '/api/roles/:name',
      { schema: { tags: ['users'], summary: 'Remove a custom role nobody holds', params: RoleNameParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await accounts.deleteRole(actorOf(request), request.params.name);
        return reply.status(204).send(null);
      },
    );
  };
}
