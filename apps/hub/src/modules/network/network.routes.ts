import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  AgentRefParamsSchema,
  FarolError,
  NetworkPingRequestSchema,
  NetworkPingResultSchema,
  NetworkRttHistorySchema,
  NetworkRttQuerySchema,
  NetworkStatusSchema,
  NetworkTopologySchema,
  ProblemSchema,
  type Principal,
} from '@farol/protocol';
import type { Authorizer } from '../auth/authorizer.js';
import type { NetworkService } from './network.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema };

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal;
}

/**
 * REST of the network view (issue #19). A role limited to a label selector sees only its
 * machines, and only the tailnet links between them; `network ping` needs both machines in its
 * scope and `commands:exec` (it runs a command on the first one).
 */
export function networkRoutes({ network, authorizer }: { network: NetworkService; authorizer: Authorizer }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/network/status', { schema: { tags: ['network'], summary: 'Every machine with its hub round trip, networks and whether its link got worse', response: { 200: NetworkStatusSchema, ...errors } } }, async (request) => {
      const principal = principalOf(request);
      return network.status((labels) => authorizer.inScope(principal, labels));
    });
    app.get('/api/network/topology', { schema: { tags: ['network'], summary: 'Machines grouped by tailnet, LAN subnet and public address, and the tailnet links between them', response: { 200: NetworkTopologySchema, ...errors } } }, async (request) => {
      const principal = principalOf(request);
      return network.topology((labels) => authorizer.inScope(principal, labels));
    });
    app.get(
      '/api/network/rtt/:id',
      { schema: { tags: ['network'], summary: 'A machine\'s hub round-trip history (per minute up to 48 h, per hour beyond)', params: AgentRefParamsSchema, querystring: NetworkRttQuerySchema, response: { 200: NetworkRttHistorySchema, ...errors } } },
      async (request) => {
        const agent = await network.resolve(request.params.id);
        await authorizer.checkAgent(principalOf(request), agent.id);
        return network.rttHistory(agent.id, request.query.hours ?? 24);
      },
    );
    app.post(
      '/api/network/ping',
      { schema: { tags: ['network'], summary: 'Round-trip time from one machine to another (runs ping on the first; waits for it)', body: NetworkPingRequestSchema, response: { 200: NetworkPingResultSchema, ...errors } } },
      async (request) => {
        const principal = principalOf(request);
        authorizer.checkCommand(principal, 'network_ping');
        const from = await network.resolve(request.body.from);
        const to = await network.resolve(request.body.to);
        // Both ends: the command runs on one and reveals the other's addresses.
        await authorizer.checkAgent(principal, from.id);
        await authorizer.checkAgent(principal, to.id);
        return network.ping(from, to, request.body.count, principal.name, {
          canTarget: (labels) => authorizer.inScope(principal, labels),
          maxTargets: 1,
          scope: principal.scope,
        });
      },
    );
  };
}
