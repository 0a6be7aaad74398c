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

/**
 * Under TLS, browsers are told to use HTTPS only for a year, subdomains included (#11): a
 * downgrade to plain HTTP would expose the session cookie and the CSRF token.
 */
export const HSTS_HEADER = 'max-age=31536000; includeSubDomains';

/** The baseline headers of a hub that serves plain HTTP, or TLS (`tls`: HSTS added). */
export function baselineSecurityHeaders({ tls = false }: { tls?: boolean } = {}): Readonly<Record<string, string>> {
  return tls ? { ...BASELINE_SECURITY_HEADERS, 'strict-transport-security': HSTS_HEADER } : BASELINE_SECURITY_HEADERS;
}

function isApiDocs(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return path === '/api/docs' || path.startsWith('/api/docs/');
}

/**
 * An onSend hook (register it on the root instance so it covers every route, the 404 handler
 * and errors) that adds the security headers to each HTTP answer.
 */
export function securityHeaders({ tls = false }: { tls?: boolean } = {}) {
  const baseline = Object.entries(baselineSecurityHeaders({ tls }));
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    for (const [name, value] of baseline) reply.header(name, value);
    // A route that renders its own page (the public status pages) sets a stricter policy itself.
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', isApiDocs(request.url) ? API_DOCS_CSP : DASHBOARD_CSP);
    return payload;
  };
}
