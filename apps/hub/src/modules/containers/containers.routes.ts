import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AgentContainersSchema, AgentRefParamsSchema, ProblemSchema } from '@farol/protocol';
import type { AgentsService } from '../agents/agents.service.js';
import type { TelemetryService } from '../telemetry/telemetry.service.js';
import { createContainersService } from './containers.service.js';

/**
 * REST for an agent's containers. Reading is from the latest heartbeat; acting on them
 * (docker_restart, docker_logs, ...) goes through the jobs routes like every command.
 */
export function containersRoutes(deps: { agents: AgentsService; telemetry: TelemetryService }): FastifyPluginAsyncZod {
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
  };
}
