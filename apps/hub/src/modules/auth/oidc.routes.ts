import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FarolError, problemFor, ProblemSchema, SESSION_COOKIE, SignInMethodsSchema } from '@farol/protocol';
import type { AccountsService } from './accounts.service.js';
import { OIDC_FLOW_COOKIE, OIDC_FLOW_MAX_MS, OidcFlowError, safeReturnTo, type OidcService } from './oidc.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 503: ProblemSchema };
const LOGIN_PATH = '/api/auth/oidc/login';
/** The flow cookie goes only to the single sign-on routes. */
const FLOW_COOKIE_PATH = '/api/auth/oidc';

/** A browser navigating (it asked for a page): errors become the sign-in page with a reason, not JSON. */
function wantsPage(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html');
}

function notConfigured(): FarolError {
  return new FarolError('not_found', 'single sign-on is not configured on this hub (FAROL_OIDC_ISSUER)');
}

/**
 * Single sign-on (issue #20): how the dashboard may sign in, and the OpenID Connect round trip.
 * The login and callback routes are public; the callback trusts only the provider's signed ID
 * token and the sealed flow cookie its login set (SameSite=Lax, so it survives the provider's
 * redirect back; the session cookie stays SameSite=Strict). A browser that ends anywhere but
 * signed in lands on the sign-in page with `?sso_error=<reason>`, never the provider's text;
 * other clients get a problem body.
 */
export function oidcRoutes({ oidc, accounts, passwordSignIn }: { oidc: OidcService | null; accounts: AccountsService; passwordSignIn: boolean }): FastifyPluginAsyncZod {
  return async (app) => {
    const flowCookieOptions = (request: FastifyRequest) => ({ httpOnly: true, sameSite: 'lax' as const, secure: request.protocol === 'https', path: FLOW_COOKIE_PATH });

    function failed(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
      void reply.clearCookie(OIDC_FLOW_COOKIE, { path: FLOW_COOKIE_PATH });
      if (!(error instanceof OidcFlowError)) throw error;
      if (wantsPage(request)) return reply.redirect(`/?sso_error=${error.reason}`, 303);
      const problem = problemFor(error.code, error.message);
      return reply.status(problem.status).type('application/problem+json').send(problem);
    }

    app.get(
      '/api/auth/methods',
      { schema: { tags: ['auth'], summary: 'How to sign in on this hub: password (unless FAROL_LOCAL_SIGNIN=off) and single sign-on (when configured)', security: [], response: { 200: SignInMethodsSchema } } },
      async () => ({ password: passwordSignIn, oidc: oidc ? { name: oidc.name, loginUrl: LOGIN_PATH } : null }),
    );

    app.get(
      LOGIN_PATH,
      {
        schema: {
          tags: ['auth'],
          summary: 'Start single sign-on: a redirect to the provider (authorization code flow with PKCE, state and nonce). With stepUp=true, a signed-in single sign-on user signs in again at the provider for a fresh second factor',
          security: [],
          querystring: z.object({
            returnTo: z.string().max(512).optional().describe('A path on this hub to land on afterwards; default /'),
            stepUp: z.enum(['true', 'false']).optional().describe('true: re-authenticate at the provider (prompt=login, max_age=0) for step-up actions'),
          }),
          response: { 302: z.null().describe('To the provider'), 303: z.null().describe('A browser, when it failed: to /?sso_error=<reason>'), ...errors },
        },
      },
      async (request, reply) => {
        if (!oidc) throw notConfigured();
        let stepUp: { sessionId: string; userId: string } | null = null;
        if (request.query.stepUp === 'true') {
          // Only the session itself may ask for its own step-up (the cookie is SameSite=Strict: a same-site navigation).
          const cookie = request.cookies[SESSION_COOKIE];
          const context = cookie ? await accounts.authenticateSession(cookie).catch((error: unknown) => (error instanceof FarolError && error.code === 'unauthorized' ? null : Promise.reject(error))) : null;
          if (!context) {
            // A browser whose session ended meanwhile goes to the sign-in page, like any expired sign-in.
            if (wantsPage(request)) return reply.redirect('/?sso_error=expired', 303);
            throw new FarolError('unauthorized', 'sign in first; a step-up is for a signed-in browser session');
          }
          if (context.principal.stepUpWith !== 'provider') throw new FarolError('conflict', 'this account steps up with its authenticator code (POST /api/auth/step-up), not at the single sign-on provider');
          stepUp = { sessionId: context.sessionId!, userId: context.principal.id };
        }
        try {
          const { redirect, flowCookie } = await oidc.start({ returnTo: safeReturnTo(request.query.returnTo), stepUp });
          void reply.setCookie(OIDC_FLOW_COOKIE, flowCookie, { ...flowCookieOptions(request), maxAge: Math.floor(OIDC_FLOW_MAX_MS / 1000) });
          return reply.redirect(redirect, 302);
        } catch (error) {
          return failed(request, reply, error);
        }
      },
    );

    app.get(
      '/api/auth/oidc/callback',
      {
        schema: {
          tags: ['auth'],
          summary: 'Where the provider sends the browser back: checks the answer and the ID token (signature, issuer, audience, expiry, nonce; auth_time for a step-up), maps the role claim to a role and scope, then sets the session cookie and redirects to returnTo',
          security: [],
          querystring: z.object({
            code: z.string().max(4096).optional(),
            state: z.string().max(1024).optional(),
            iss: z.string().max(2048).optional(),
            error: z.string().max(256).optional(),
          }),
          response: { 303: z.null().describe('Signed in (or stepped up): to returnTo; a browser, when it failed: to /?sso_error=<reason>'), ...errors },
        },
      },
      async (request, reply) => {
        if (!oidc) throw notConfigured();
        const question = request.raw.url?.indexOf('?') ?? -1;
        const query = question >= 0 ? request.raw.url!.slice(question) : '';
        try {
          const { returnTo, cookie } = await oidc.finish({ flowCookie: request.cookies[OIDC_FLOW_COOKIE], query, ip: request.ip });
          void reply.clearCookie(OIDC_FLOW_COOKIE, { path: FLOW_COOKIE_PATH });
          if (cookie !== null) {
            void reply.setCookie(SESSION_COOKIE, cookie, {
              httpOnly: true,
              sameSite: 'strict',
              secure: request.protocol === 'https',
              path: '/',
              maxAge: Math.floor(accounts.settings.sessionMaxMs / 1000),
            });
          }
          return reply.redirect(returnTo, 303);
        } catch (error) {
          return failed(request, reply, error);
        }
      },
    );
  };
}
