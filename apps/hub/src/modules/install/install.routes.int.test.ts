import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installHttpErrorHandling } from '../../infra/http-errors.js';
import { createLogger } from '../../infra/logger.js';
import { installRoutes } from './install.routes.js';

// The install scripts name the hub the machine downloads the agent from and enrolls with; the
// hub fills that in from its configuration or its own address, never from request headers.

let app: FastifyInstance | undefined;

async function hubServingScripts(publicUrl: string | undefined): Promise<string> {
  app = Fastify();
  installHttpErrorHandling(app, createLogger('silent'));
  await app.register(installRoutes({ publicUrl, agentBundlePath: '/nonexistent/farol-agent.mjs' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** GET with a forged Host header (fetch would not send one). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host, 'x-forwarded-host': host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('install scripts and the Host header', () => {
  it('never puts the Host header into /install.sh or /install.ps1: the bound address is used when FAROL_PUBLIC_URL is unset (#11)', async () => {
    const base = await hubServingScripts(undefined);
    for (const script of ['/install.sh', '/install.ps1']) {
      const answer = await getWithHost(`${base}${script}`, 'evil.example');
      expect(answer.status, script).toBe(200);
      expect(answer.body, script).not.toContain('evil.example');
      expect(answer.body, script).toContain(`'${base}'`);
    }
  });

  it('uses FAROL_PUBLIC_URL whatever Host the request names (#11)', async () => {
    const base = await hubServingScripts('https://farol.example.net');
    const answer = await getWithHost(`${base}/install.sh`, 'evil.example');
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("'https://farol.example.net'");
    expect(answer.body).not.toContain('evil.example');
  });
});
