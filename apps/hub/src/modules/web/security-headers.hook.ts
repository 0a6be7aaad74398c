import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The dashboard's policy: only this origin's scripts, styles and sockets, no inline script or
 * style markup, no plugins, no framing. Values read from agents (hostnames, process names) are
 * rendered as text; this is the second line of defence if that ever slips.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Swagger UI (`/api/docs`) is third-party markup that sets style attributes in its HTML, so it
 * gets its own policy: inline styles allowed, scripts still only from this origin.
 */
export const API_DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** Headers every hub answer carries, whatever produced it. */
export const BASELINE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function isApiDocs(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return path === '/api/docs' || path.startsWith('/api/docs/');
}

/**
 * An onSend hook (register it on the root instance so it covers every route, the 404 handler
 * and errors) that adds the security headers to each HTTP answer.
 */
export function securityHeaders() {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    for (const [name, value] of Object.entries(BASELINE_SECURITY_HEADERS)) reply.header(name, value);
    reply.header('content-security-policy', isApiDocs(request.url) ? API_DOCS_CSP : DASHBOARD_CSP);
    return payload;
  };
}
