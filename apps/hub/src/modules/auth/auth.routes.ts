import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ApiTokenCreatedSchema,
  ApiTokenCreateSchema,
  ApiTokenIdParamsSchema,
  ApiTokenListSchema,
  ApiTokenSchema,
  FarolError,
  LoginRequestSchema,
  LoginResultSchema,
  OtpRequestSchema,
  PasswordChangeSchema,
  PrincipalSchema,
  ProblemSchema,
  RecoveryCodesSchema,
  SESSION_COOKIE,
  SessionInfoSchema,
  TotpEnrolmentSchema,
} from '@farol/protocol';
import type { AccountsService, AuthContext } from './accounts.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 429: ProblemSchema };

function contextOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new FarolError('unauthorized', 'sign in first');
  return request.auth;
}

/** Signing in and out, step-up, the second factor, and each operator's own API tokens. */
export function authRoutes({ accounts, loginRateLimit }: { accounts: AccountsService; loginRateLimit: { max: number; timeWindow: number } }): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/auth/login',
      {
        config: { rateLimit: loginRateLimit },
        schema: {
          tags: ['auth'],
          summary: 'Sign in with username and password (+ TOTP code when enrolled): a session cookie, or a new API token with issue=token',
          security: [],
          body: LoginRequestSchema,
          response: { 200: LoginResultSchema, ...errors },
        },
      },
      async (request, reply) => {
        const { context, cookie, token } = await accounts.login(request.body, { ip: request.ip });
        if (cookie !== null) {
          void reply.setCookie(SESSION_COOKIE, cookie, {
            httpOnly: true,
            sameSite: 'strict',
            secure: request.protocol === 'https',
            path: '/',
            maxAge: Math.floor(accounts.settings.sessionMaxMs / 1000),
          });
        }
        return { principal: context.principal, csrfToken: context.csrfToken, token };
      },
    );
    app.post(
      '/api/auth/logout',
      { schema: { tags: ['auth'], summary: 'End this browser session', response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await accounts.logout(contextOf(request));
        void reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/api/auth/session',
      { schema: { tags: ['auth'], summary: 'Who is signed in, and the CSRF token of a cookie session', response: { 200: SessionInfoSchema, ...errors } } },
      async (request) => ({ principal: contextOf(request).principal, csrfToken: contextOf(request).csrfToken }),
    );
    app.post(
      '/api/auth/step-up',
      { schema: { tags: ['auth'], summary: 'Give a fresh second factor (for shell, terminal and secret reads)', body: OtpRequestSchema, response: { 200: PrincipalSchema, ...errors } } },
      async (request) => accounts.stepUp(contextOf(request), request.body.otp),
    );
    app.post(
      '/api/me/password',
      { schema: { tags: ['auth'], summary: 'Change your own password (your other browser sessions end)', body: PasswordChangeSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await accounts.changeOwnPassword(contextOf(request), request.body.currentPassword, request.body.newPassword);
        return reply.status(204).send(null);
      },
    );
    app.post(
      '/api/me/totp',
      { schema: { tags: ['auth'], summary: 'Start two-factor enrolment: a TOTP secret and otpauth:// URI', response: { 200: TotpEnrolmentSchema, ...errors } } },
      async (request) => accounts.enrolTotp(contextOf(request).principal),
    );
    app.post(
      '/api/me/totp/confirm',
      { schema: { tags: ['auth'], summary: 'Finish enrolment with a code; returns recovery codes, shown once', body: OtpRequestSchema, response: { 200: RecoveryCodesSchema, ...errors } } },
      async (request) => accounts.confirmTotp(contextOf(request).principal, request.body.otp),
    );
    app.post(
      '/api/me/totp/disable',
      { schema: { tags: ['auth'], summary: 'Turn two-factor sign-in off (needs a current code)', body: OtpRequestSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await accounts.disableTotp(contextOf(request).principal, request.body.otp);
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/api/tokens',
      {
        schema: {
          tags: ['auth'],
          summary: 'Your API tokens (with users:manage and ?all=true, everyone\'s); never the secrets',
          querystring: z.object({ all: z.enum(['true', 'false']).optional() }),
          response: { 200: ApiTokenListSchema, ...errors },
        },
      },
      async (request) => ({ tokens: await accounts.listTokens(contextOf(request).principal, request.query.all === 'true') }),
    );
    app.post(
      '/api/tokens',
      { schema: { tags: ['auth'], summary: 'Create an API token (a subset of your permissions); the secret is shown once', body: ApiTokenCreateSchema, response: { 201: ApiTokenCreatedSchema, ...errors } } },
      async (request, reply) => reply.status(201).send(await accounts.createToken(contextOf(request).principal, request.body)),
    );
    app.delete(
      '/api/tokens/:id',
      { schema: { tags: ['auth'], summary: 'Revoke an API token; sockets using it close within seconds', params: ApiTokenIdParamsSchema, response: { 200: ApiTokenSchema, ...errors } } },
      async (request) => accounts.revokeToken(contextOf(request).principal, request.params.id),
    );
  };
}
