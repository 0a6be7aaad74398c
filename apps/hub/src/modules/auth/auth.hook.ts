import type { FastifyRequest } from 'fastify';
import { bearerFrom, type AuthService, type Principal } from './auth.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

/** An onRequest hook that admits only authenticated operators (throws `unauthorized`). */
export function requireOperator(auth: AuthService) {
  return async (request: FastifyRequest): Promise<void> => {
    request.principal = auth.authenticate(bearerFrom(request.headers.authorization));
  };
}
