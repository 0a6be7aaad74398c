import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  EnrollRequestSchema,
  EnrollResponseSchema,
  JoinTokenCreatedSchema,
  JoinTokenCreateSchema,
  JoinTokenListSchema,
  ProblemSchema,
  TokenIdParamsSchema,
} from '@farol/protocol';
import type { EnrollmentService } from './enrollment.service.js';
import type { JoinTokensService } from './join-tokens.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema };

/** Enrollment is authenticated by the join token in its body, not by an operator. */
export function enrollmentRoutes({ enrollment }: { enrollment: EnrollmentService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/enroll',
      {
        schema: {
          tags: ['enrollment'],
          summary: 'Enroll an agent with a join token and its public key',
          body: EnrollRequestSchema,
          response: { 201: EnrollResponseSchema, 403: ProblemSchema, 409: ProblemSchema, 426: ProblemSchema, ...errors },
        },
      },
      async (request, reply) => reply.status(201).send(await enrollment.enroll(request.body)),
    );
  };
}

export function joinTokensRoutes({ joinTokens }: { joinTokens: JoinTokensService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/join-tokens',
      {
        schema: {
          tags: ['enrollment'],
          summary: 'Create a join token (the secret is returned once)',
          body: JoinTokenCreateSchema,
          response: { 201: JoinTokenCreatedSchema, ...errors },
        },
      },
      async (request, reply) => reply.status(201).send(await joinTokens.create(request.body, request.principal)),
    );
    app.get(
      '/api/join-tokens',
      { schema: { tags: ['enrollment'], summary: 'List join tokens', response: { 200: JoinTokenListSchema, ...errors } } },
      async (request) => ({ tokens: await joinTokens.list(request.principal) }),
    );
    app.delete(
      '/api/join-tokens/:id',
      {
        schema: {
          tags: ['enrollment'],
          summary: 'Revoke a join token',
          params: TokenIdParamsSchema,
          response: { 204: z.null(), 404: ProblemSchema, ...errors },
        },
      },
      async (request, reply) => {
        await joinTokens.revoke(request.params.id, request.principal);
        return reply.status(204).send(null);
      },
    );
  };
}
