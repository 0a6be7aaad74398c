import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AuditListSchema, AuditQuerySchema, AuditVerifySchema, ProblemSchema } from '@farol/protocol';
import type { AgentsRepository } from '../agents/agents.repository.js';
import type { AuditService } from './audit.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema };

/** REST for the audit log: read it, and check its hash chain. */
export function auditRoutes({ audit, agents }: { audit: AuditService; agents: AgentsRepository }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/audit',
      { schema: { tags: ['audit'], summary: 'Audit entries, newest first', querystring: AuditQuerySchema, response: { 200: AuditListSchema, ...errors } } },
      async (request) => {
        const { agent, ...query } = request.query;
        // A removed agent has no name any more, but its id still finds its entries.
        const agentId = agent === undefined ? undefined : ((await agents.findByIdOrName(agent))?.id ?? agent);
        return audit.list({ ...query, agentId });
      },
    );
    app.get(
      '/api/audit/verify',
      { schema: { tags: ['audit'], summary: 'Walk the hash chain; reports the first entry that was changed or removed', response: { 200: AuditVerifySchema, ...errors } } },
      async () => audit.verify(),
    );
  };
}
