import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  AgentRefParamsSchema,
  FarolError,
  ProblemSchema,
  SCREENSHOT_MEDIA_TYPE,
  ScreenshotIdParamsSchema,
  ScreenshotInfoSchema,
  ScreenshotRequestSchema,
  type ScreenshotInfo,
} from '@farol/protocol';
import type { Authorizer } from '../auth/authorizer.js';
import type { JobAccess } from '../jobs/jobs.service.js';
import type { ScreenshotRecord, ScreenshotsService } from './screenshots.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema, 502: ProblemSchema };

function actorOf(request: FastifyRequest): string {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal.name;
}

/** JSON metadata only when the client asks for JSON and not for the image. */
function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes(SCREENSHOT_MEDIA_TYPE);
}

export function screenshotInfo(record: ScreenshotRecord): ScreenshotInfo {
  return { ...record, url: `/api/screenshots/${record.id}` };
}

function sendImage(reply: FastifyReply, record: ScreenshotRecord, image: AsyncIterable<Buffer>): FastifyReply {
  const stamp = new Date(record.createdAt).toISOString().replace(/[:.]/g, '-');
  return reply
    .type(SCREENSHOT_MEDIA_TYPE)
    .header('content-length', record.bytes)
    .header('content-disposition', `inline; filename="${record.agentName}-${stamp}.png"`)
    // A screen may show anything (#11): no copy in the browser's or a proxy's cache.
    .header('cache-control', 'no-store')
    .header('x-farol-screenshot-id', record.id)
    .header('x-farol-job-id', record.jobId)
    .send(Readable.from(image));
}

/** REST for screenshots: take one (the design notes' `POST /api/agents/:id/screenshot`) and fetch it again. */
export function screenshotsRoutes({ screenshots, authorizer }: { screenshots: ScreenshotsService; authorizer?: Authorizer }): FastifyPluginAsyncZod {
  function accessOf(request: FastifyRequest): JobAccess | undefined {
    const principal = request.principal;
    if (!principal || !authorizer) return undefined;
    return { canTarget: (labels) => authorizer.inScope(principal, labels), maxTargets: 1 };
  }

  return async (app) => {
    app.post(
      '/api/agents/:id/screenshot',
      {
        schema: {
          tags: ['screenshots'],
          summary: 'Take a screenshot of one machine now: the PNG (image/png), or its metadata with `Accept: application/json`',
          params: AgentRefParamsSchema,
          // An empty POST arrives as null: every field has a default.
          body: ScreenshotRequestSchema.nullish(),
          response: { 200: ScreenshotInfoSchema.describe('With Accept: application/json; otherwise the PNG itself (image/png)'), ...errors },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const record = await screenshots.take(request.params.id, request.body ?? {}, actor, accessOf(request));
        if (wantsJson(request)) return reply.send(screenshotInfo(record));
        return sendImage(reply, record, screenshots.image(record));
      },
    );
    app.get(
      '/api/screenshots/:id',
      {
        schema: {
          tags: ['screenshots'],
          summary: 'A stored screenshot: the PNG, or its metadata with `Accept: application/json`',
          params: ScreenshotIdParamsSchema,
          response: { 200: ScreenshotInfoSchema.describe('With Accept: application/json; otherwise the PNG itself (image/png)'), ...errors },
        },
      },
      async (request, reply) => {
        const record = await screenshots.find(request.params.id);
        if (!record) throw new FarolError('not_found', `no screenshot ${request.params.id}`);
        // Issue #6: another machine's screen is refused to a role limited to a label selector
        // (checked before the view is audited or the file opened).
        if (request.principal && authorizer) await authorizer.checkAgent(request.principal, record.agentId);
        if (wantsJson(request)) return reply.send(screenshotInfo(record));
        const opened = await screenshots.open(request.params.id, actorOf(request));
        return sendImage(reply, opened.record, opened.image);
      },
    );
  };
}
