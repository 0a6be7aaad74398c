import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FarolError, ProblemSchema, StatusPageInputSchema, StatusPageListSchema, StatusPageRefParamsSchema, StatusPageSchema } from '@farol/protocol';
import { STATUS_PAGE_CSP } from './status-page.view.js';
import { STATUS_PAGE_CACHE_MS, type StatusPagesService } from './status-pages.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema };

function actorOf(request: FastifyRequest): string {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal.name;
}

/** Requests per minute and address for a public page (it is cached, so this is generous). */
export const STATUS_PAGE_RATE_PER_MINUTE = 120;

/**
 * Managing status pages (operator REST; fleet-wide in permissions.ts: publishing is a decision
 * about the whole fleet) and serving them (`GET /status/:slug`, public, no sign-in).
 */
export function statusPagesRoutes({ statusPages }: { statusPages: StatusPagesService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/status-pages', { schema: { tags: ['checks'], summary: 'Public status pages', response: { 200: StatusPageListSchema, ...errors } } }, async () => ({ pages: await statusPages.list() }));
    app.post('/api/status-pages', { schema: { tags: ['checks'], summary: 'Create a public status page of chosen checks', body: StatusPageInputSchema, response: { 201: StatusPageSchema, ...errors } } }, async (request, reply) =>
      reply.status(201).send(await statusPages.create(request.body, actorOf(request))),
    );
    app.get('/api/status-pages/:slug', { schema: { tags: ['checks'], summary: 'One status page, by slug or id', params: StatusPageRefParamsSchema, response: { 200: StatusPageSchema, ...errors } } }, async (request) =>
      statusPages.get(request.params.slug),
    );
    app.put(
      '/api/status-pages/:slug',
      { schema: { tags: ['checks'], summary: 'Replace a status page', params: StatusPageRefParamsSchema, body: StatusPageInputSchema, response: { 200: StatusPageSchema, ...errors } } },
      async (request) => statusPages.replace(request.params.slug, request.body, actorOf(request)),
    );
    app.delete('/api/status-pages/:slug', { schema: { tags: ['checks'], summary: 'Delete a status page', params: StatusPageRefParamsSchema, response: { 204: z.null(), ...errors } } }, async (request, reply) => {
      await statusPages.remove(request.params.slug, actorOf(request));
      return reply.status(204).send(null);
    });

    app.get(
      '/status/:slug',
      {
        schema: { hide: true, params: z.object({ slug: z.string().min(1).max(128) }) },
        config: { rateLimit: { max: STATUS_PAGE_RATE_PER_MINUTE, timeWindow: 60_000 } },
      },
      async (request, reply) => {
        const page = await statusPages.publicPage(request.params.slug, request.headers['accept-language']);
        if (!page) throw new FarolError('not_found', 'no such status page');
        reply.header('content-security-policy', STATUS_PAGE_CSP);
        reply.header('cache-control', `public, max-age=${STATUS_PAGE_CACHE_MS / 1000}`);
        reply.header('content-language', page.language);
        // `auto` pages answer in the browser's language: a shared cache keeps one copy per language.
        if (page.negotiated) reply.header('vary', 'Accept-Language');
        reply.header('etag', page.etag);
        if (request.headers['if-none-match'] === page.etag) return reply.status(304).send();
        return reply.type('text/html; charset=utf-8').send(page.html);
      },
    );
  };
}
