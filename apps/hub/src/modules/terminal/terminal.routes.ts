import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ProblemSchema, TerminalSessionListQuerySchema, TerminalSessionListSchema, TerminalSessionParamsSchema } from '@farol/protocol';
import type { TerminalService } from './terminal.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

/** REST for terminal sessions: who opened which shell where, and their recordings. */
export function terminalRoutes({ terminals }: { terminals: TerminalService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/terminal/sessions',
      { schema: { tags: ['terminal'], summary: 'Terminal sessions, newest first', querystring: TerminalSessionListQuerySchema, response: { 200: TerminalSessionListSchema, ...errors } } },
      async (request) => terminals.list(request.query),
    );
    app.get(
      '/api/terminal/sessions/:id/recording',
      {
        schema: {
          tags: ['terminal'],
          summary: 'The session\'s output as an asciicast v2 file (when FAROL_TERMINAL_RECORD was on)',
          params: TerminalSessionParamsSchema,
          response: { ...errors },
        },
      },
      async (request, reply) => {
        const { session, stream } = await terminals.recording(request.params.id);
        // A file, not JSON: sent through the untyped reply (the schema types JSON answers only).
        return (reply as FastifyReply)
          .type('application/x-asciicast')
          .header('content-disposition', `attachment; filename="${session.agentName.replace(/[^\w.-]/g, '_')}-${session.id}.cast"`)
          .send(stream);
      },
    );
  };
}
