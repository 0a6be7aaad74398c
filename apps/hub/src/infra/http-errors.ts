import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { FarolError, problemFor, type ErrorCode, type FieldIssue } from '@farol/protocol';
import type { Logger } from './logger.js';
import { isStorageFailure } from './storage-health.js';

/**
 * The one place where errors become HTTP problem bodies (application/problem+json with a
 * stable `code`). Unknown errors become `internal` and are logged; their text is not sent.
 */
export function installHttpErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let code: ErrorCode;
    let detail: string | undefined;
    let issues: FieldIssue[] | undefined;
    if (error instanceof FarolError) {
      code = error.code;
      detail = error.message;
      issues = error.issues;
    } else if (hasZodFastifySchemaValidationErrors(error)) {
      code = 'validation_failed';
      detail = `the request ${error.validationContext ?? 'input'} is not valid`;
      issues = error.validation.map((v) => ({
        path: String(v.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.'),
        message: v.message ?? 'invalid',
      }));
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      code = 'payload_too_large';
      detail = 'the request body is larger than the hub accepts';
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      code = 'bad_request';
      detail = 'send the body as application/json';
    } else if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
      code = 'bad_request';
      detail = 'the request body is not valid JSON';
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      code = error.statusCode === 404 ? 'not_found' : error.statusCode === 429 ? 'rate_limited' : 'bad_request';
      detail = error.message;
    } else if (isStorageFailure(error)) {
      // A full disk or a lost PostgreSQL is the hub's state, not a bug in the request (#12, #13):
      // say so with 503 and a retry hint, and let /ready carry the cause.
      code = 'unavailable';
      detail = 'the hub cannot reach or write its database right now (see /ready); it resumes by itself, so retry shortly';
      void reply.header('retry-after', '5');
      logger.warn({ err: error, method: request.method, url: request.url, reqId: request.id }, 'request failed: database unavailable');
    } else {
      code = 'internal';
      detail = 'the hub failed to handle this request; see its log';
      logger.error({ err: error, method: request.method, url: request.url, reqId: request.id }, 'request failed');
    }
    const problem = problemFor(code, detail, issues);
    void reply.status(problem.status).type('application/problem+json').send(problem);
  });

  app.setNotFoundHandler((request, reply) => {
    const problem = problemFor('not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
    void reply.status(404).type('application/problem+json').send(problem);
  });
}
