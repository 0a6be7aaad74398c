import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { FarolError, ProblemSchema, TerminalSessionListQuerySchema, TerminalSessionListSchema, TerminalSessionParamsSchema } from '@farol/protocol';
import type { Authorizer } from '../auth/authorizer.js';
import type { TerminalService } from './terminal.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

/**
 * REST for terminal sessions: who opened which shell where, and their recordings. Issue #6: a
 * role limited to a label selector lists only sessions on machines within it (a list may be
 * shorter than `limit`) and gets 403 `forbidden` for another machine's recording.
 */
export function terminalRoutes({ terminals, authorizer }: { terminals: TerminalService; authorizer: Authorizer }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/terminal/sessions',
      { schema: { tags: ['terminal'], summary: 'Terminal sessions, newest first', querystring: TerminalSessionListQuerySchema, response: { 200: TerminalSessionListSchema, ...errors } } },
      async (request) => {
        const list = await terminals.list(request.query);
        if (!request.principal || request.principal.scope === null) return list;
        const visible = authorizer.visibleTo(request.principal);
        const sessions = [];
        for (const session of list.sessions) if (await visible(session.agentId)) sessions.push(session);
        return { ...list, sessions };
      },
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
        const principal = request.principal;
        if (!principal) throw new FarolError('unauthorized', 'no operator on this request');
        const { session, stream } = await terminals.recording(request.params.id, (agentId) => authorizer.checkAgent(principal, agentId));
        // A file, not JSON: sent through the untyped reply (the schema types JSON answers only).
        return (reply as FastifyReply)
          .type('application/x-asciicast')
          .header('content-disposition', `attachment; filename="${session.agentName.replace(/[^\w.-]/g, '_')}-${session.id}.cast"`)
          .send(stream);
      },
    );
  };
}
