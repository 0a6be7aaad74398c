import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AgentBuildListSchema, AgentUpdateRequestSchema, FarolError, ProblemSchema, RolloutIdParamsSchema, RolloutSchema, type Principal } from '@farol/protocol';
import type { FastifyRequest } from 'fastify';
import type { AgentBuildCatalog } from './agent-builds.js';
import type { UpdatesService } from './updates.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal;
}

/** Agent updates (issue #15): builds on offer, rollouts, and the downloads agents fetch. */
export function updatesRoutes({ updates, catalog }: { updates: UpdatesService; catalog: AgentBuildCatalog }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/api/agent-updates/builds', { schema: { tags: ['updates'], summary: 'Agent builds this hub can hand out', response: { 200: AgentBuildListSchema, 401: ProblemSchema, 403: ProblemSchema } } }, async () => ({
      builds: await updates.listBuilds(),
    }));
    app.post(
      '/api/agent-updates',
      { schema: { tags: ['updates'], summary: 'Update machines to a version in waves (one machine, a percentage, the rest); stops at the first failure', body: AgentUpdateRequestSchema, response: { 201: RolloutSchema, ...errors } } },
      async (request, reply) => reply.code(201).send(await updates.start(request.body, principalOf(request))),
    );
    app.get('/api/agent-updates/:id', { schema: { tags: ['updates'], summary: 'A rollout and each machine\'s step', params: RolloutIdParamsSchema, response: { 200: RolloutSchema, ...errors } } }, async (request) =>
      updates.get(request.params.id, principalOf(request)),
    );
    // Public like /download/farol-agent.mjs: agents have no operator credentials, and what they
    // download is checked against the hub-signed size and SHA-256 in their command.
    app.get(
      '/download/updates/:file',
      { schema: { tags: ['updates'], summary: 'An agent build named in an agent_update command', params: z.object({ file: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/) }) } },
      async (request, reply) => {
        const file = await catalog.fileFor(request.params.file);
        const info = file ? await stat(file).catch(() => undefined) : undefined;
        if (!file || !info?.isFile()) throw new FarolError('not_found', `this hub has no agent build ${request.params.file}`);
        return reply.type('application/octet-stream').header('content-length', info.size).header('cache-control', 'no-store').send(createReadStream(file));
      },
    );
  };
}
