import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  CheckHistorySchema,
  CheckInputSchema,
  CheckListSchema,
  CheckRefParamsSchema,
  CheckResultsQuerySchema,
  CheckRunResponseSchema,
  CheckSchema,
  CheckSeriesQuerySchema,
  CheckSeriesSchema,
  FarolError,
  ProblemSchema,
  type CheckRunOn,
  type Principal,
} from '@farol/protocol';
import type { Authorizer } from '../auth/authorizer.js';
import { outsideScope, ruleScopeInScope } from '../auth/object-scope.js';
import type { ChecksService } from './checks.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema };

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal;
}

/**
 * REST for service checks (issue #19): parse, ask the checks service, map its answer. A role
 * limited to a label selector sees and manages only checks that run on machines all inside its
 * scope (object-scope.ts, `check`); checks the hub runs itself concern the whole fleet.
 */
export function checksRoutes({ checks, authorizer }: { checks: ChecksService; authorizer: Authorizer }): FastifyPluginAsyncZod {
  // A hub-run check reaches no machine but is fleet infrastructure: the same as a fleet-wide rule.
  const inScope = (principal: Principal, runOn: CheckRunOn): Promise<boolean> =>
    ruleScopeInScope(principal, 'hub' in runOn ? { all: true } : runOn, (refs) => authorizer.seesAll(principal, refs));
  async function requireInScope(principal: Principal, runOn: CheckRunOn): Promise<void> {
    if (!(await inScope(principal, runOn))) throw outsideScope(principal, 'where this check runs');
  }

  return async (app) => {
    app.get('/api/checks', { schema: { tags: ['checks'], summary: 'Service checks with their current state and uptime', response: { 200: CheckListSchema, ...errors } } }, async (request) => {
      const principal = principalOf(request);
      const visible = [];
      for (const check of await checks.list()) if (await inScope(principal, check.runOn)) visible.push(check);
      return { checks: visible };
    });
    app.post('/api/checks', { schema: { tags: ['checks'], summary: 'Create a service check', body: CheckInputSchema, response: { 201: CheckSchema, ...errors } } }, async (request, reply) => {
      const principal = principalOf(request);
      await requireInScope(principal, request.body.runOn);
      return reply.status(201).send(await checks.create(request.body, principal.name));
    });
    app.get('/api/checks/:id', { schema: { tags: ['checks'], summary: 'One check, by id or name', params: CheckRefParamsSchema, response: { 200: CheckSchema, ...errors } } }, async (request) => {
      await requireInScope(principalOf(request), checks.definition(request.params.id).runOn);
      return checks.get(request.params.id);
    });
    app.put(
      '/api/checks/:id',
      { schema: { tags: ['checks'], summary: 'Replace a check\'s definition (its history stays)', params: CheckRefParamsSchema, body: CheckInputSchema, response: { 200: CheckSchema, ...errors } } },
      async (request) => {
        const principal = principalOf(request);
        await requireInScope(principal, checks.definition(request.params.id).runOn);
        await requireInScope(principal, request.body.runOn);
        return checks.replace(request.params.id, request.body, principal.name);
      },
    );
    app.delete('/api/checks/:id', { schema: { tags: ['checks'], summary: 'Delete a check and its history', params: CheckRefParamsSchema, response: { 204: z.null(), ...errors } } }, async (request, reply) => {
      const principal = principalOf(request);
      await requireInScope(principal, checks.definition(request.params.id).runOn);
      await checks.remove(request.params.id, principal.name);
      return reply.status(204).send(null);
    });
    app.get(
      '/api/checks/:id/results',
      { schema: { tags: ['checks'], summary: 'Results (newest first) and uptime per location', params: CheckRefParamsSchema, querystring: CheckResultsQuerySchema, response: { 200: CheckHistorySchema, ...errors } } },
      async (request) => {
        await requireInScope(principalOf(request), checks.definition(request.params.id).runOn);
        return checks.history(request.params.id, request.query);
      },
    );
    app.get(
      '/api/checks/:id/series',
      {
        schema: {
          tags: ['checks'],
          summary: 'Runs and latency per location over a range, from raw results or 1-minute / 1-hour rollups',
          params: CheckRefParamsSchema,
          querystring: CheckSeriesQuerySchema,
          response: { 200: CheckSeriesSchema, ...errors },
        },
      },
      async (request) => {
        await requireInScope(principalOf(request), checks.definition(request.params.id).runOn);
        return checks.series(request.params.id, request.query);
      },
    );
    app.post(
      '/api/checks/:id/run',
      { schema: { tags: ['checks'], summary: 'Run a check now (the hub\'s own at once; machines are asked)', params: CheckRefParamsSchema, response: { 200: CheckRunResponseSchema, ...errors } } },
      async (request) => {
        const principal = principalOf(request);
        await requireInScope(principal, checks.definition(request.params.id).runOn);
        return checks.runNow(request.params.id, principal.name);
      },
    );
  };
}
