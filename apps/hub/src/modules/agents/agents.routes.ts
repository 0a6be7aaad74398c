import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Principal } from '@farol/protocol';
import {
  AgentListQuerySchema,
  AgentListSchema,
  AgentPatchSchema,
  AgentRefParamsSchema,
  AgentSchema,
  AgentSummaryListSchema,
  ProblemSchema,
} from '@farol/protocol';
import type { Authorizer } from '../auth/authorizer.js';
import { checkRelabel } from '../auth/object-scope.js';
import type { AgentsService } from './agents.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };

/** REST for machines. Parse with the protocol schema, call the service, return its answer. */
export function agentsRoutes({ agents, authorizer }: { agents: AgentsService; authorizer?: Authorizer }): FastifyPluginAsyncZod {
  /** Issue #6: a role limited to a label selector sees only the machines it matches. */
  const visibleTo = <T extends { labels: Record<string, string> }>(principal: Principal | undefined, list: T[]): T[] =>
    authorizer && principal && principal.scope !== null ? list.filter((agent) => authorizer.inScope(principal, agent.labels)) : list;
  return async (app) => {
    app.get(
      '/api/agents',
      {
        schema: {
          tags: ['agents'],
          summary: 'List machines (view=summary: only what the fleet page shows)',
          querystring: AgentListQuerySchema,
          // The summary first: the fleet page's request is the hot one, and a union tries its options in order.
          response: { 200: z.union([AgentSummaryListSchema, AgentListSchema]), ...errors },
        },
      },
      async (request) =>
        request.query.view === 'summary'
          ? { agents: visibleTo(request.principal, await agents.listSummaryView(request.query)) }
          : { agents: visibleTo(request.principal, await agents.list(request.query)) },
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
      // Issue #11: a scoped operator's machine stays inside their scope before and after.
      async (request) => {
        const principal = request.principal;
        return agents.update(request.params.id, request.body, principal && principal.scope !== null ? (before, after) => checkRelabel(principal, before, after) : undefined, principal?.name);
      },
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
        await agents.remove(request.params.id, request.principal?.name);
        return reply.status(204).send(null);
      },
    );
  };
}
