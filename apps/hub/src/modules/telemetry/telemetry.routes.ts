import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AgentRefParamsSchema, MetricsQuerySchema, MetricsResponseSchema, ProblemSchema } from '@farol/protocol';
import type { AgentsService } from '../agents/agents.service.js';
import type { TelemetryService } from './telemetry.service.js';

export function telemetryRoutes({ agents, telemetry }: { agents: AgentsService; telemetry: TelemetryService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/agents/:id/metrics',
      {
        schema: {
          tags: ['agents'],
          summary: 'History of a machine; the resolution follows the range (raw ≤ 3 h, 1 min ≤ 2 d, else 1 h)',
          params: AgentRefParamsSchema,
          querystring: MetricsQuerySchema,
          response: { 200: MetricsResponseSchema, 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (request) => telemetry.query(await agents.find(request.params.id), request.query),
    );
  };
}
