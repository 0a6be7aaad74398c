import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installHttpErrorHandling } from '../../infra/http-errors.js';
import { createLogger } from '../../infra/logger.js';
import { API_DOCS_CSP, DASHBOARD_CSP, securityHeaders } from './security-headers.hook.js';
import { acceptedEncodings, resolveInside, webRoutes } from './web.routes.js';

const INDEX = '<!doctype html><title>Mission Control</title><div id="root"></div>';
const SCRIPT = 'console.log("dashboard");'.repeat(100);

let dist: string;
let app: FastifyInstance;

async function hubServing(distPath: string): Promise<FastifyInstance> {
  const server = Fastify();
  installHttpErrorHandling(server, createLogger('silent'));
  server.addHook('onSend', securityHeaders());
  await server.register(webRoutes({ distPath }));
  server.get('/api/docs/', async (_request, reply) => reply.type('text/html').send('<html>swagger</html>'));
  server.get('/health', async () => ({ status: 'ok' }));
  return server;
}

beforeEach(async () => {
  dist = mkdtempSync(path.join(tmpdir(), 'farol-web-dist-'));
  mkdirSync(path.join(dist, 'assets'));
  writeFileSync(path.join(dist, 'index.html'), INDEX);
  writeFileSync(path.join(dist, 'assets/index-abc123.js'), SCRIPT);
  writeFileSync(path.join(dist, 'assets/index-abc123.js.gz'), gzipSync(SCRIPT));
  writeFileSync(path.join(dist, 'favicon.svg'), '<svg/>');
  app = await hubServing(dist);
});

afterEach(async () => {
  await app.close();
  rmSync(dist, { recursive: true, force: true });
});

describe('the dashboard on the hub port', () => {
  it('serves index.html at / without caching, under the strict CSP and the security headers', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(INDEX);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['x-frame-options']).toBe('DENY');
    // Plain HTTP: no HSTS (it would be ignored, and must not pin a hub that has no certificate).
    expect(response.headers['strict-transport-security']).toBeUndefined();
  });

  it('adds HSTS to every answer of a hub that serves TLS (#11)', async () => {
    const server = Fastify();
    installHttpErrorHandling(server, createLogger('silent'));
    server.addHook('onSend', securityHeaders({ tls: true }));
    await server.register(webRoutes({ distPath: dist }));
    try {
      for (const url of ['/', '/assets/index-abc123.js', '/api/missing']) {
        const response = await server.inject({ method: 'GET', url });
        expect(response.headers['strict-transport-security'], url).toBe('max-age=31536000; includeSubDomains');
      }
    } finally {
      await server.close();
    }
  });

  it('answers dashboard routes with index.html so a reload keeps the page, dots in names included', async () => {
    for (const url of ['/machines/db.prod', '/settings', '/machines/web-1?tab=live']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.body, url).toBe(INDEX);
    }
  });

  it('caches hashed assets for a year and sends the gzip copy to browsers that accept it', async () => {
    const plain = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(plain.body).toBe(SCRIPT);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['content-encoding']).toBeUndefined();

    const gzipped = await app.inject({ method: 'GET', url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'br, gzip' } });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toBe('accept-encoding');
    expect(Number(gzipped.headers['content-length'])).toBeLessThan(SCRIPT.length);
  });

  it('answers a repeated request with 304 when the file did not change', async () => {
    const first = await app.inject({ method: 'GET', url: '/favicon.svg' });
    const again = await app.inject({ method: 'GET', url: '/favicon.svg', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('gives a 404 problem, not the page, for missing files and for hub paths', async () => {
    for (const url of ['/assets/gone-123.js', '/robots.txt', '/api/nothing-here', '/metrics/x', '/install.bat', '/download/x']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.json(), url).toMatchObject({ code: 'not_found' });
    }
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
  });

  it('answers /healthz and other unknown non-page paths with 404, not the dashboard with 200 (#21)', async () => {
    for (const url of ['/healthz', '/livez', '/wp-login.php', '/.well-known/security.txt', '/cgi-bin/x.cgi', '/v1/status']) {
      const response = await app.inject({ method: 'GET', url, headers: { accept: '*/*' } });
      expect(response.statusCode, url).toBe(404);
      expect(response.json(), url).toMatchObject({ code: 'not_found' });
    }
    // Every page of the dashboard survives a reload, whatever the client accepts.
    for (const url of ['/', '/machines/db.prod', '/jobs', '/jobs/j_1', '/alerts', '/alerts/rules', '/settings', '/audit']) {
      const response = await app.inject({ method: 'GET', url, headers: { accept: '*/*' } });
      expect(response.statusCode, url).toBe(200);
      expect(response.body, url).toBe(INDEX);
    }
    // A browser that follows a mistyped link still gets the dashboard (and its "not found" page).
    const typo = await app.inject({ method: 'GET', url: '/machinez', headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(typo.statusCode).toBe(200);
    expect(typo.body).toBe(INDEX);
  });

  it('never serves a file outside the dashboard folder', async () => {
    writeFileSync(path.join(path.dirname(dist), 'farol-web-secret.txt'), 'TOP-SECRET-CONTENT');
    try {
      for (const url of ['/..%2ffarol-web-secret.txt', '/assets/..%2f..%2ffarol-web-secret.txt', '/%2e%2e/farol-web-secret.txt']) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.body, url).not.toContain('TOP-SECRET-CONTENT');
      }
    } finally {
      rmSync(path.join(path.dirname(dist), 'farol-web-secret.txt'), { force: true });
    }
    expect(resolveInside('/srv/dist', '/../etc/passwd')).toBe('/srv/dist/etc/passwd');
    expect(resolveInside('/srv/dist', '/%E0%A4%A')).toBeUndefined();
  });

  it('gives Swagger UI its own policy and every answer the baseline headers', async () => {
    const docs = await app.inject({ method: 'GET', url: '/api/docs/' });
    expect(docs.headers['content-security-policy']).toBe(API_DOCS_CSP);
    const problem = await app.inject({ method: 'POST', url: '/nowhere' });
    expect(problem.statusCode).toBe(404);
    expect(problem.headers['x-frame-options']).toBe('DENY');
  });

  it('says how to build the dashboard when it is not built', async () => {
    const unbuilt = await hubServing(path.join(dist, 'missing'));
    try {
      const response = await unbuilt.inject({ method: 'GET', url: '/' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ code: 'unavailable', detail: 'dashboard not built; run npm run build' });
    } finally {
      await unbuilt.close();
    }
  });
});

describe('accepted encodings', () => {
  it('reads the list and drops refused ones', () => {
    expect([...acceptedEncodings('gzip, deflate, br;q=0')]).toEqual(['gzip', 'deflate']);
    expect([...acceptedEncodings(undefined)]).toEqual([]);
  });
});
