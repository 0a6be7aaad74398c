import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import {
  AgentCommandQuerySchema,
  AgentCommandRequestSchema,
  AgentRefParamsSchema,
  FarolError,
  JobCreateSchema,
  JobIdParamsSchema,
  JobListQuerySchema,
  JobListSchema,
  JobSchema,
  ProblemSchema,
  type Command,
  type Job,
} from '@farol/protocol';
import type { JobsService } from './jobs.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };
/** How much longer than the command's own timeout a waiting request gives its result to arrive. */
const WAIT_SLACK_MS = 5_000;
/** Timeout of restart and stop: the agent answers before it goes. */
const LIFECYCLE_TIMEOUT_MS = 15_000;

function actorOf(request: FastifyRequest): string {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal.id;
}

/** REST for remote commands and jobs: parse, call the jobs service, map its answer. */
export function jobsRoutes({ jobs }: { jobs: JobsService }): FastifyPluginAsyncZod {
  /**
   * One machine: creates a one-target job and, unless `wait=false` or the machine is offline
   * (it runs when the machine returns, within the TTL), waits for the result.
   */
  async function runOnAgent(ref: string, command: Command, options: { ttlMs?: number | undefined; timeoutMs?: number | undefined; wait: boolean }, actor: string): Promise<{ status: 200 | 202; job: Job }> {
    const job = await jobs.create({ command, targets: { agents: [ref] }, ttlMs: options.ttlMs, timeoutMs: options.timeoutMs }, actor);
    const target = job.targets[0]!;
    if (!options.wait || target.state === 'queued') return { status: 202, job };
    const finished = await jobs.waitForFinal(target.commandId, job.timeoutMs + WAIT_SLACK_MS);
    return { status: finished ? 200 : 202, job: await jobs.get(job.id) };
  }

  return async (app) => {
    app.post(
      '/api/agents/:id/command',
      {
        schema: {
          tags: ['jobs'],
          summary: 'Run a command on one machine; waits for the result (200) unless ?wait=false or the machine is offline (202)',
          params: AgentRefParamsSchema,
          querystring: AgentCommandQuerySchema,
          body: AgentCommandRequestSchema,
          response: { 200: JobSchema, 202: JobSchema, ...errors },
        },
      },
      async (request, reply) => {
        const { status, job } = await runOnAgent(request.params.id, request.body.command, { ...request.body, wait: request.query.wait }, actorOf(request));
        return reply.status(status).send(job);
      },
    );
    for (const kind of ['restart', 'stop'] as const) {
      app.post(
        `/api/agents/:id/${kind}`,
        {
          schema: {
            tags: ['jobs'],
            summary: kind === 'restart' ? 'Make the agent restart itself' : 'Stop the agent',
            params: AgentRefParamsSchema,
            querystring: AgentCommandQuerySchema,
            response: { 200: JobSchema, 202: JobSchema, ...errors },
          },
        },
        async (request, reply) => {
          const { status, job } = await runOnAgent(request.params.id, { kind }, { timeoutMs: LIFECYCLE_TIMEOUT_MS, wait: request.query.wait }, actorOf(request));
          return reply.status(status).send(job);
        },
      );
    }
    app.post(
      '/api/jobs',
      {
        schema: {
          tags: ['jobs'],
          summary: 'Run a command on many machines (ids or names, a label selector, or all)',
          body: JobCreateSchema,
          response: { 201: JobSchema, ...errors },
        },
      },
      async (request, reply) => reply.status(201).send(await jobs.create(request.body, actorOf(request))),
    );
    app.get(
      '/api/jobs',
      { schema: { tags: ['jobs'], summary: 'Jobs, newest first', querystring: JobListQuerySchema, response: { 200: JobListSchema, ...errors } } },
      async (request) => jobs.list(request.query),
    );
    app.get(
      '/api/jobs/:id',
      { schema: { tags: ['jobs'], summary: 'A job with every target\'s state, exit code and output', params: JobIdParamsSchema, response: { 200: JobSchema, ...errors } } },
      async (request) => jobs.get(request.params.id),
    );
    app.post(
      '/api/jobs/:id/cancel',
      {
        schema: {
          tags: ['jobs'],
          summary: 'Cancel what has not finished (running commands are killed with their process tree)',
          params: JobIdParamsSchema,
          response: { 200: JobSchema, 409: ProblemSchema, ...errors },
        },
      },
      async (request) => jobs.cancel(request.params.id, actorOf(request)),
    );
  };
}
