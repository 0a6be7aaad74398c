import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  FarolError,
  ProblemSchema,
  SecretListSchema,
  SecretNameParamsSchema,
  SecretPutSchema,
  SecretRevealSchema,
  SecretSummarySchema,
  type Principal,
} from '@farol/protocol';
import type { SecretsService } from './secrets.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal;
}

/**
 * REST for operator secrets. Values are write-only here: list and show never carry them; the
 * one read is `POST .../reveal` (a POST, so no cache or prefetch ever holds it), audited.
 * Issue #11: a role limited to a label scope reaches only secrets whose own scope lies within it.
 */
export function secretsRoutes({
  secrets,
  stepUp,
}: {
  secrets: SecretsService;
  /** A second factor no older than a few minutes, when the operator has one (issue #6); null until accounts provide it. */
  stepUp: ((principal: Principal) => void | Promise<void>) | null;
}): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/secrets',
      { schema: { tags: ['secrets'], summary: 'Secrets: names, scopes and sources, never values', response: { 200: SecretListSchema, ...errors } } },
      async (request) => secrets.list(principalOf(request)),
    );
    app.get(
      '/api/secrets/:name',
      { schema: { tags: ['secrets'], summary: 'One secret, without its value', params: SecretNameParamsSchema, response: { 200: SecretSummarySchema, ...errors } } },
      async (request) => secrets.get(request.params.name, principalOf(request)),
    );
    app.put(
      '/api/secrets/:name',
      {
        schema: {
          tags: ['secrets'],
          summary: 'Create or replace a secret: a value sealed by the hub, or a Vault/Infisical reference read through',
          params: SecretNameParamsSchema,
          body: SecretPutSchema,
          response: { 200: SecretSummarySchema, 201: SecretSummarySchema, ...errors },
        },
      },
      async (request, reply) => {
        const { secret, created } = await secrets.put(request.params.name, request.body, principalOf(request));
        return reply.status(created ? 201 : 200).send(secret);
      },
    );
    app.delete(
      '/api/secrets/:name',
      { schema: { tags: ['secrets'], summary: 'Delete a secret', params: SecretNameParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await secrets.remove(request.params.name, principalOf(request));
        return reply.status(204).send(null);
      },
    );
    app.post(
      '/api/secrets/:name/reveal',
      {
        schema: {
          tags: ['secrets'],
          summary: 'Read a secret\'s value (audited; needs secrets:read)',
          params: SecretNameParamsSchema,
          response: { 200: SecretRevealSchema, 503: ProblemSchema, ...errors },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        if (stepUp) await stepUp(principal);
        void reply.header('cache-control', 'no-store');
        return secrets.reveal(request.params.name, principal);
      },
    );
  };
}
