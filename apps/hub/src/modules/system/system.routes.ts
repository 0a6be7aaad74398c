import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Gauge, type Registry } from 'prom-client';
import { FAROL_VERSION, HealthSchema, PrincipalSchema, ProblemSchema, ReadySchema } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { RedisStatus } from '../../infra/redis.js';
import type { StorageHealth } from '../../infra/storage-health.js';

/** Liveness, readiness and Prometheus metrics: unauthenticated so probes and scrapers work. */
export function systemRoutes({
  registry,
  metricsText = () => registry.metrics(),
  checkDatabase,
  storage,
  clock,
  startedAt,
  redis,
}: {
  registry: Registry;
  /** The whole /metrics text: the registry and the sections rendered beside it (observability.metricsText). */
  metricsText?: () => Promise<string>;
  checkDatabase: () => Promise<void>;
  storage?: StorageHealth;
  /** Several hubs (issue #14): a hub that lost the Redis they share is not ready until it is back. */
  redis?: { status(): RedisStatus };
  clock: Clock;
  startedAt: number;
}): FastifyPluginAsyncZod {
  if (storage) {
    new Gauge({
      name: 'farol_db_writes_failing',
      help: '1 while database writes fail (disk full, read-only, I/O error); see /ready for the cause',
      registers: [registry],
      collect() {
        this.set(storage.status().writes === 'failing' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'farol_db_integrity_ok',
      help: 'Start-up PRAGMA quick_check of the database: 1 ok, 0 failed (run `farol db check`), -1 not run',
      registers: [registry],
      collect() {
        const { integrity } = storage.status();
        this.set(integrity === 'ok' ? 1 : integrity === 'failed' ? 0 : -1);
      },
    });
  }
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
        // Which database answered or not (issue #13): an operator with two hubs or a moved database sees it at once.
        const named = storage ? { databaseName: storage.file } : {};
        try {
          await checkDatabase();
        } catch (error) {
          return reply.status(503).send({ status: 'not_ready', database: 'error', ...named, detail: (error as Error).message });
        }
        // Reads answer, but a hub that cannot store or that serves a damaged file is not ready (issue #12).
        const health = storage?.status();
        if (health && (health.writes === 'failing' || health.integrity === 'failed')) {
          return reply.status(503).send({ status: 'not_ready' as const, database: 'error' as const, ...named, ...health });
        }
        const shared = redis?.status();
        if (shared?.state === 'lost') {
          return reply.status(503).send({ status: 'not_ready' as const, database: 'ok' as const, ...named, redis: 'lost' as const, detail: shared.detail });
        }
        return { status: 'ready' as const, database: 'ok' as const, ...named, ...(health ? { writes: health.writes, integrity: health.integrity } : {}), ...(shared ? { redis: shared.state } : {}) };
      },
    );
    app.get('/metrics', { schema: { tags: ['system'], summary: 'Prometheus metrics (hub and per-agent gauges)' } }, async (_request, reply) => {
      const text = await metricsText();
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
