import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { FAROL_VERSION, HealthSchema, PrincipalSchema, ProblemSchema, ReadySchema } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';

/** Liveness, readiness and Prometheus metrics: unauthenticated so probes and scrapers work. */
export function systemRoutes({
  registry,
  checkDatabase,
  clock,
  startedAt,
}: {
  registry: Registry;
  checkDatabase: () => Promise<void>;
  clock: Clock;
  startedAt: number;
}): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/health', { schema: { tags: ['system'], summary: 'Liveness', response: { 200: HealthSchema } } }, async () => ({
      status: 'ok' as const,
      version: FAROL_VERSION,
      uptimeSeconds: Math.round((clock.now() - startedAt) / 1000),
    }));
    app.get(
      '/ready',
      { schema: { tags: ['system'], summary: 'Readiness: the database answers', response: { 200: ReadySchema, 503: ReadySchema } } },
      async (_request, reply) => {
        try {
          await checkDatabase();
          return { status: 'ready' as const, database: 'ok' as const };
        } catch (error) {
          return reply.status(503).send({ status: 'not_ready', database: 'error', detail: (error as Error).message });
        }
      },
    );
    app.get('/metrics', { schema: { tags: ['system'], summary: 'Prometheus metrics (hub and per-agent gauges)' } }, async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    });
  };
}

/** Who the caller is: lets the CLI check a token (`farol login`). */
export function meRoutes(): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/me',
      { schema: { tags: ['auth'], summary: 'The authenticated operator', response: { 200: PrincipalSchema, 401: ProblemSchema } } },
      async (request) => request.principal!,
    );
  };
}
