import type { FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_HEADER, OTP_HEADER } from '@farol/protocol';

/**
 * CORS, closed by default: no Access-Control-Allow-Origin header at all unless the origin is
 * listed in FAROL_CORS_ORIGINS. Credentials (cookies) are never allowed cross-origin, so a
 * listed origin can use API tokens only.
 */
export function corsHook(allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const origin = request.headers.origin;
    if (allowed.size === 0 || origin === undefined || !allowed.has(origin)) return;
    void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      await reply
        .status(204)
        .header('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE')
        .header('access-control-allow-headers', `authorization, content-type, ${CSRF_HEADER}, ${OTP_HEADER}`)
        .header('access-control-max-age', '600')
        .send();
    }
  };
}
