import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  AgentContainersSchema,
  AgentRefParamsSchema,
  ContainerRolloutListSchema,
  ContainerUpdateRuleIdParamsSchema,
  ContainerUpdateRuleListSchema,
  ContainerUpdateRuleCreateSchema,
  ContainerUpdateRuleSchema,
  FarolError,
  ProblemSchema,
  type Principal,
} from '@farol/protocol';
import type { AgentsService } from '../agents/agents.service.js';
import type { TelemetryService } from '../telemetry/telemetry.service.js';
import type { AutoUpdateService } from './auto-update.service.js';
import { createContainersService } from './containers.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal;
}

/**
 * REST for an agent's containers. Reading is from the latest heartbeat; acting on them
 * (docker_restart, docker_logs, ...) goes through the jobs routes like every command. The
 * auto-update rules and rollouts (issue #18) live here too.
 */
export function containersRoutes(deps: { agents: AgentsService; telemetry: TelemetryService; autoUpdate?: AutoUpdateService | undefined }): FastifyPluginAsyncZod {
  const containers = createContainersService(deps);
  return async (app) => {
    app.get(
      '/api/agents/:id/containers',
      {
        schema: {
          tags: ['agents'],
          summary: 'A machine\'s containers and Docker status, from its latest heartbeat',
          params: AgentRefParamsSchema,
          response: { 200: AgentContainersSchema, 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (request) => containers.forAgent(request.params.id),
    );
    const autoUpdate = deps.autoUpdate;
    if (!autoUpdate) return;
    app.get(
      '/api/container-updates/rules',
      { schema: { tags: ['containers'], summary: 'Auto-update rules: machines (selector) and container globs kept on their tag\'s newest digest', response: { 200: ContainerUpdateRuleListSchema, ...errors } } },
      async () => ({ rules: await autoUpdate.listRules() }),
    );
    app.post(
      '/api/container-updates/rules',
      { schema: { tags: ['containers'], summary: 'Add an auto-update rule', body: ContainerUpdateRuleCreateSchema, response: { 201: ContainerUpdateRuleSchema, ...errors } } },
      async (request, reply) => reply.code(201).send(await autoUpdate.addRule(request.body, principalOf(request))),
    );
    app.delete(
      '/api/container-updates/rules/:id',
      { schema: { tags: ['containers'], summary: 'Remove an auto-update rule', params: ContainerUpdateRuleIdParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await autoUpdate.removeRule(request.params.id, principalOf(request));
        return reply.code(204).send(null);
      },
    );
    app.get(
      '/api/container-updates/rollouts',
      { schema: { tags: ['containers'], summary: 'Automatic container updates, newest first, with each machine\'s step', response: { 200: ContainerRolloutListSchema, ...errors } } },
      async (request) => ({ rollouts: await autoUpdate.listRollouts(principalOf(request)) }),
    );
  };
}
