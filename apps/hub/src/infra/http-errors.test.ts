import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { installHttpErrorHandling } from './http-errors.js';
import { createLogger } from './logger.js';

function failingWith(error: Error) {
  const app = Fastify();
  installHttpErrorHandling(app, createLogger('silent'));
  app.get('/boom', () => {
    throw error;
  });
  return app;
}

describe('HTTP problem bodies', () => {
  it('answers 503 unavailable with Retry-After when the database cannot be written or reached, not 500 (#12, #13)', async () => {
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const lost = new Error('query failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }) });
    for (const error of [full, lost]) {
      const answer = await failingWith(error).inject({ method: 'GET', url: '/boom' });
      expect([answer.statusCode, answer.json<{ code: string }>().code, answer.headers['retry-after']]).toEqual([503, 'unavailable', '5']);
    }
  });

  it('keeps 500 internal for other failures, without their text', async () => {
    const answer = await failingWith(new Error('secret internals')).inject({ method: 'GET', url: '/boom' });
    expect([answer.statusCode, answer.json<{ code: string }>().code, answer.body.includes('secret internals')]).toEqual([500, 'internal', false]);
  });
});
