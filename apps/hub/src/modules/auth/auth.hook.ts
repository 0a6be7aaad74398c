import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_HEADER, FarolError, OTP_HEADER, SESSION_COOKIE, type Principal } from '@farol/protocol';
import type { AccountsService, AuthContext } from './accounts.service.js';
import type { Authorizer } from './authorizer.js';
import { routeAccess } from './permissions.js';
import type { RequestActors } from './request-actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
    auth: AuthContext | undefined;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `Authorization: Bearer x` → `x`. */
export function bearerFrom(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Who is asking: an API token (`Authorization: Bearer`) or a browser session cookie. A cookie
 * session must echo its CSRF token in X-CSRF-Token on unsafe methods (SameSite=Strict already
 * stops cross-site requests in current browsers; the header covers the rest). An API-token
 * request may carry a fresh TOTP code in X-Farol-OTP for step-up actions.
 */
export async function authenticateRequest(accounts: AccountsService, request: FastifyRequest): Promise<AuthContext> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const context = await accounts.authenticateToken(bearerFrom(header));
    const otp = request.headers[OTP_HEADER];
    if (typeof otp === 'string' && context.principal.mfaEnabled) return { ...context, principal: await accounts.stepUp(context, otp, { ip: request.ip }) };
    return context;
  }
  const cookie = request.cookies[SESSION_COOKIE];
  if (!cookie) throw new FarolError('unauthorized', 'sign in, or send Authorization: Bearer <token>');
  const context = await accounts.authenticateSession(cookie);
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || context.csrfToken === null || !sameSecret(sent, context.csrfToken)) {
      throw new FarolError('forbidden', `a signed-in browser must send its CSRF token in ${CSRF_HEADER} (see GET /api/auth/session)`);
    }
  }
  return context;
}

/**
 * The one onRequest hook behind every route: looks the route up in the permission table,
 * authenticates, and checks the permission (and the machine, for target-scoped routes). A route
 * missing from the table is refused.
 */
export function authorizeRequests({
  accounts,
  authorizer,
  actors,
  publicRoutes = new Set(),
}: {
  accounts: AccountsService;
  authorizer: Authorizer;
  actors?: Pick<RequestActors, 'set'>;
  /** `METHOD /path` routes the configuration opens to anyone (GET /metrics on loopback, #11). */
  publicRoutes?: ReadonlySet<string>;
}) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const url = request.routeOptions.url;
    // No route matched: the not-found handler answers 404 and nothing runs.
    if (url === undefined) return;
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const access = routeAccess(method, url);
    if (!access) throw new FarolError('forbidden', `${method} ${url} is not in the permission table; nobody may call it yet`);
    if (access.kind === 'public' || publicRoutes.has(`${method} ${url}`)) return;
    const context = await authenticateRequest(accounts, request);
    request.auth = context;
    request.principal = context.principal;
    actors?.set(context.principal);
    if (access.kind === 'permission') {
      const target = 'target' in access && access.target && 'param' in access.target ? (request.params as Record<string, unknown>)[access.target.param] : undefined;
      await authorizer.check(context.principal, access, target);
    }
  };
}
