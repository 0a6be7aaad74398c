import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import {
  AgentCommandQuerySchema,
  AgentCommandRequestSchema,
  AgentRefParamsSchema,
  commandSecretNames,
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
import type { Authorizer } from '../auth/authorizer.js';
import type { SecretsService } from '../secrets/secrets.service.js';
import { jobForReader, jobListForReader } from './env-mask.js';
import type { JobAccess, JobsService } from './jobs.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema };
/** How much longer than the command's own timeout a waiting request gives its result to arrive. */
const WAIT_SLACK_MS = 5_000;
/** Timeout of restart and stop: the agent answers before it goes. */
const LIFECYCLE_TIMEOUT_MS = 15_000;

function actorOf(request: FastifyRequest): string {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal.name;
}

/** REST for remote commands and jobs: parse, call the jobs service, map its answer. */
export function jobsRoutes({
  jobs,
  authorizer,
  fanOutLimit,
  secrets,
}: {
  jobs: JobsService;
  authorizer: Authorizer;
  fanOutLimit: number;
  /** Issue #11: the secrets a command asks for must lie within the caller's scope. */
  secrets?: Pick<SecretsService, 'assertUsableBy'>;
}): FastifyPluginAsyncZod {
  /**
   * Issue #6: the targets the caller may reach (checked per machine when the job is resolved),
   * and the step-up a shell command needs from a user with two-factor sign-in.
   */
  function accessOf(request: FastifyRequest, command: Command): JobAccess {
    const principal = request.principal;
    if (!principal) throw new FarolError('unauthorized', 'no operator on this request');
    authorizer.checkCommand(principal, command.kind);
    if (command.kind === 'shell' && 'shell' in command && command.shell) authorizer.requireRecentMfa(principal);
    return { canTarget: (labels) => authorizer.inScope(principal, labels), maxTargets: principal.role === 'admin' ? Number.MAX_SAFE_INTEGER : fanOutLimit, scope: principal.scope };
  }

  /** Issue #11: a command asks only for secrets within its sender's scope (object-scope.ts). */
  async function checkSecrets(request: FastifyRequest, command: Command): Promise<void> {
    const names = commandSecretNames(command);
    if (!request.principal || names.length === 0) return;
    await secrets?.assertUsableBy(request.principal, names);
  }

  /**
   * One machine: creates a one-target job and, unless `wait=false` or the machine is offline
   * (it runs when the machine returns, within the TTL), waits for the result.
   */
  async function runOnAgent(ref: string, command: Command, options: { ttlMs?: number | undefined; timeoutMs?: number | undefined; wait: boolean }, actor: string, access: JobAccess): Promise<{ status: 200 | 202; job: Job }> {
    const job = await jobs.create({ command, targets: { agents: [ref] }, ttlMs: options.ttlMs, timeoutMs: options.timeoutMs }, actor, access);
    const target = job.targets[0]!;
    // Queued and not connected: it runs when the machine returns. Connected but its hello not yet
    // answered (it has just come online): it is sent within moments, so wait as for any other.
    if (!options.wait || (target.state === 'queued' && !jobs.isConnected(target.agentId))) return { status: 202, job };
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
        const access = accessOf(request, request.body.command);
        await checkSecrets(request, request.body.command);
        const { status, job } = await runOnAgent(request.params.id, request.body.command, { ...request.body, wait: request.query.wait }, actorOf(request), access);
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
          const { status, job } = await runOnAgent(request.params.id, { kind }, { timeoutMs: LIFECYCLE_TIMEOUT_MS, wait: request.query.wait }, actorOf(request), accessOf(request, { kind }));
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
      async (request, reply) => {
        const access = accessOf(request, request.body.command);
        await checkSecrets(request, request.body.command);
        return reply.status(201).send(await jobs.create(request.body, actorOf(request), access));
      },
    );
    app.get(
      '/api/jobs',
      { schema: { tags: ['jobs'], summary: 'Jobs, newest first', querystring: JobListQuerySchema, response: { 200: JobListSchema, ...errors } } },
      async (request) => {
        // Issue #11: `env` values only for those who may run commands (env-mask.ts).
        const list = jobListForReader(await jobs.list(request.query), request.principal);
        const principal = request.principal;
        if (!principal || principal.scope === null) return list;
        // Issue #6: a scoped operator's page holds only jobs whose every machine is in scope (so a
        // page may be shorter than `limit`; `nextCursor` still continues after it). Issue #11: one
        // rule (authorizer.visibleTo), each machine's labels read once per page.
        const sees = authorizer.visibleTo(principal);
        const visible = [];
        for (const summary of list.jobs) {
          const job = await jobs.get(summary.id);
          const answers = await Promise.all([...new Set(job.targets.map((target) => target.agentId))].map(sees));
          if (answers.every(Boolean)) visible.push(summary);
        }
        return { ...list, jobs: visible };
      },
    );
    app.get(
      '/api/jobs/:id',
      { schema: { tags: ['jobs'], summary: 'A job with every target\'s state, exit code and output', params: JobIdParamsSchema, response: { 200: JobSchema, ...errors } } },
      async (request) => {
        const job = await jobs.get(request.params.id);
        // Issue #6: a scoped operator sees a job only if every machine in it is within scope.
        if (request.principal) await authorizer.checkAll(request.principal, job.targets.map((target) => target.agentId));
        return jobForReader(job, request.principal);
      },
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
      async (request) => {
        if (request.principal) await authorizer.checkAll(request.principal, (await jobs.get(request.params.id)).targets.map((target) => target.agentId));
        return jobs.cancel(request.params.id, actorOf(request));
      },
    );
  };
}
