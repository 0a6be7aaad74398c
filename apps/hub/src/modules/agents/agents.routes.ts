import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  AgentListQuerySchema,
  AgentListSchema,
  AgentPatchSchema,
  AgentRefParamsSchema,
  AgentSchema,
  ProblemSchema,
} from '@farol/protocol';
import type { AgentsService } from './agents.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };

/** REST for machines. Parse with the protocol schema, call the service, return its answer. */
export function agentsRoutes({ agents }: { agents: AgentsService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/agents',
      { schema: { tags: ['agents'], summary: 'List machines', querystring: AgentListQuerySchema, response: { 200: AgentListSchema, ...errors } } },
      async (request) => ({ agents: await agents.list(request.query) }),
    );
    app.get(
      '/api/agents/:id',
      { schema: { tags: ['agents'], summary: 'One machine, by id or name', params: AgentRefParamsSchema, response: { 200: AgentSchema, ...errors } } },
      async (request) => agents.get(request.params.id),
    );
    app.patch(
      '/api/agents/:id',
      {
        schema: {
          tags: ['agents'],
          summary: 'Rename or relabel a machine',
          params: AgentRefParamsSchema,
          body: AgentPatchSchema,
          response: { 200: AgentSchema, 409: ProblemSchema, ...errors },
        },
      },
      async (request) => agents.update(request.params.id, request.body),
    );
    app.delete(
      '/api/agents/:id',
      {
        schema: {
          tags: ['agents'],
          summary: 'Remove a machine; its key is revoked so it cannot reconnect',
          params: AgentRefParamsSchema,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        await agents.remove(request.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}
