import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ApiTokenCreatedSchema,
  ApiTokenCreateSchema,
  ApiTokenIdParamsSchema,
  ApiTokenListSchema,
  ApiTokenSchema,
  AuthFailureListSchema,
  AuthFailureQuerySchema,
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
import type { AccountsService, AuthContext, PasswordProof } from './accounts.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 429: ProblemSchema };

function contextOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new FarolError('unauthorized', 'sign in first');
  return request.auth;
}

/**
 * Signing in and out, step-up, the second factor, and each operator's own API tokens. Sign-ins
 * are limited per client address and per username by the accounts service, in the database
 * (issue #11), not by the per-request limiter, whose key an `Authorization` header could change.
 */
/** The owner's password sent with an account-security change (issue #11): X-Farol-Password, one value. */
function passwordProof(request: FastifyRequest): PasswordProof {
  const header = request.headers['x-farol-password'];
  return { password: typeof header === 'string' && header.length > 0 && header.length <= 1024 ? header : undefined, ip: request.ip };
}

export function authRoutes({ accounts }: { accounts: AccountsService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/auth/login',
      {
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
      async (request) => accounts.stepUp(contextOf(request), request.body.otp, { ip: request.ip }),
    );
    app.post(
      '/api/me/password',
      { schema: { tags: ['auth'], summary: 'Change your own password (a signed-in browser session, never an API token; your other browser sessions end)', body: PasswordChangeSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await accounts.changeOwnPassword(contextOf(request), request.body.currentPassword, request.body.newPassword, { ip: request.ip });
        return reply.status(204).send(null);
      },
    );
    app.post(
      '/api/me/totp',
      { schema: { tags: ['auth'], summary: 'Start two-factor enrolment: a TOTP secret and otpauth:// URI (a browser session signed in within FAROL_MFA_MAX_AGE)', response: { 200: TotpEnrolmentSchema, ...errors } } },
      async (request) => accounts.enrolTotp(contextOf(request)),
    );
    app.post(
      '/api/me/totp/confirm',
      { schema: { tags: ['auth'], summary: 'Finish enrolment with a code; returns recovery codes, shown once', body: OtpRequestSchema, response: { 200: RecoveryCodesSchema, ...errors } } },
      async (request) => accounts.confirmTotp(contextOf(request), request.body.otp),
    );
    app.post(
      '/api/me/totp/disable',
      { schema: { tags: ['auth'], summary: 'Turn two-factor sign-in off (needs a current code)', body: OtpRequestSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await accounts.disableTotp(contextOf(request), request.body.otp, { ip: request.ip });
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
      { schema: { tags: ['auth'], summary: 'Create an API token (a subset of your permissions); the secret is shown once. A session or an unrestricted token, with a fresh proof: a sign-in or second factor within the step-up window, or the password in X-Farol-Password (403 reauth_required otherwise)', body: ApiTokenCreateSchema, response: { 201: ApiTokenCreatedSchema, ...errors } } },
      async (request, reply) => reply.status(201).send(await accounts.createToken(contextOf(request), request.body, passwordProof(request))),
    );
    app.delete(
      '/api/tokens/:id',
      { schema: { tags: ['auth'], summary: 'Revoke an API token; sockets using it close within seconds. Another token than the one in use needs the same fresh proof as creating one', params: ApiTokenIdParamsSchema, response: { 200: ApiTokenSchema, ...errors } } },
      async (request) => accounts.revokeToken(contextOf(request), request.params.id, passwordProof(request)),
    );
    app.get(
      '/api/auth/failures',
      {
        schema: {
          tags: ['auth'],
          summary: 'Failed and refused sign-ins and second factors, one row per address, username and 10-minute window (kept 30 days)',
          querystring: AuthFailureQuerySchema,
          response: { 200: AuthFailureListSchema, ...errors },
        },
      },
      async (request) => ({ failures: await accounts.listAuthFailures(request.query) }),
    );
  };
}
