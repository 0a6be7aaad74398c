import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AuditListSchema, AuditQuerySchema, AuditVerifySchema, ProblemSchema } from '@farol/protocol';
import type { AgentsService } from '../agents/agents.service.js';
import { labelsInScope } from '../auth/object-scope.js';
import { auditEntryForReader } from '../jobs/env-mask.js';
import type { AuditService } from './audit.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema };

/** REST for the audit log: read it, and check its hash chain. */
export function auditRoutes({ audit, agents }: { audit: AuditService; agents: Pick<AgentsService, 'lookup' | 'directory'> }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/audit',
      { schema: { tags: ['audit'], summary: 'Audit entries, newest first', querystring: AuditQuerySchema, response: { 200: AuditListSchema, ...errors } } },
      async (request) => {
        const { agent, ...query } = request.query;
        // A removed agent has no name any more, but its id still finds its entries.
        const agentId = agent === undefined ? undefined : ((await agents.lookup(agent))?.id ?? agent);
        // Issue #11: a role limited to a label scope reads only entries about machines inside it
        // (or jobs wholly inside it); sign-ins, users, secrets and tokens concern the whole fleet.
        const principal = request.principal;
        const visibleAgents = principal && principal.scope !== null ? (await agents.directory()).filter((a) => labelsInScope(principal, a.labels)).map((a) => a.id) : undefined;
        const page = await audit.list({ ...query, agentId, visibleAgents });
        // Issue #11: command `env` values only for those who may run commands (jobs/env-mask.ts).
        return { ...page, entries: page.entries.map((entry) => auditEntryForReader(entry, principal)) };
      },
    );
    app.get(
      '/api/audit/verify',
      { schema: { tags: ['audit'], summary: 'Walk the hash chain; reports the first entry that was changed or removed', response: { 200: AuditVerifySchema, ...errors } } },
      async () => audit.verify(),
    );
  };
}
