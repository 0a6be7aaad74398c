import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '@farol/protocol';
import { ConfigError } from '../../apps/hub/src/config.js';
import { startHub, type RunningHub } from '../../apps/hub/src/main.js';
import { runAgent } from '../../apps/agent/src/commands/run.command.js';
import { loadAgentConfig } from '../../apps/agent/src/config.js';
import { createMemoryLogger } from '../../apps/agent/src/logging/logger.js';
import { mathRandom, systemClock } from '../../apps/agent/src/runtime/clock.js';

// TLS with a throwaway CA made by openssl: the hub serves HTTPS/WSS from FAROL_TLS_CERT/KEY;
// an agent given the CA file (--ca-file) enrolls and connects; without it, or with another
// CA, it refuses the hub. Behind a proxy, X-Forwarded-For counts only from trusted addresses.

const dir = mkdtempSync(path.join(tmpdir(), 'farol-tls-'));
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name} test CA`);
}

let hub: RunningHub;
const hubLog: string[] = [];

beforeAll(async () => {
  makeCa('ca');
  makeCa('other-ca');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'hub.key', '-out', 'hub.csr', '-subj', '/CN=localhost');
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'hub.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'hub.pem', '-days', '2', '-extfile', 'san.ext');
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => hubLog.push(chunk.toString('utf8')));
  hub = await startHub(
    { port: 0, bind: '127.0.0.1', dataDir: file('hub'), logLevel: 'debug' },
    { FAROL_ROLLUP_INTERVAL: '1h', FAROL_TLS_CERT: file('hub.pem'), FAROL_TLS_KEY: file('hub.key'), FAROL_TRUST_PROXY: '10.9.8.7' },
    { logDestination: logStream },
  );
});

afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An https request that trusts only `ca`. */
function get(route: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${hub.url}${route}`, { ca, headers: { authorization: `Bearer ${hub.adminToken}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function post(route: string, ca: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(`${hub.url}${route}`, { method: 'POST', ca, headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } }, (res) => {
      let answer = '';
      res.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: answer }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

/** Runs the real agent (enroll + link) in-process for `ms`, then stops it; returns its log messages. */
async function runAgentFor(name: string, flags: { caFile?: string }, until: (messages: string[]) => Promise<boolean>, ms: number): Promise<{ code: number | 'threw'; error?: string; messages: string[]; reached: boolean }> {
  const token = JSON.parse((await post('/api/join-tokens', readCa('ca'), {})).body) as { token: string };
  const memory = createMemoryLogger('debug');
  const stop = new AbortController();
  const config = loadAgentConfig({ hub: hub.url, token: token.token, state: file(name), name, interval: '1s', reconnectMax: '1s', ...flags }, {});
  const run = runAgent(config, { env: {}, stdout: { write: () => true }, stderr: { write: () => true }, clock: systemClock, random: mathRandom, signal: stop.signal }, { logger: memory.logger, reconnectBaseDelayMs: 100 });
  let reached = false;
  const deadline = Date.now() + ms;
  const settled = run.then(
    (code) => ({ code, error: undefined as string | undefined }),
    (error: unknown) => ({ code: 'threw' as const, error: (error as Error).message }),
  );
  let outcome: { code: number | 'threw'; error: string | undefined } | null = null;
  void settled.then((o) => (outcome = o));
  while (Date.now() < deadline && outcome === null) {
    if (await until(memory.lines().map((l) => String(l.msg)))) {
      reached = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  stop.abort();
  const final = await settled;
  return { code: final.code, ...(final.error ? { error: final.error } : {}), messages: memory.lines().map((l) => String(l.msg)), reached };
}

const readCa = (name: string) => execFileSync('cat', [file(`${name}.pem`)], { encoding: 'utf8' });
/** Linked: the hub sees it online and the agent has verified the hub's hello proof. */
const online = (name: string) => async (messages: string[]) => {
  if (!messages.includes('connected to hub')) return false;
  const answer = await get(`/api/agents/${name}`, readCa('ca'));
  return answer.status === 200 && (JSON.parse(answer.body) as Agent).status === 'online';
};

describe('TLS', () => {
  it('serves HTTPS with the configured certificate', async () => {
    expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await get('/health', readCa('ca'))).status).toBe(200);
    await expect(get('/health', readCa('other-ca'))).rejects.toThrow(/certificate/i);
  });

  it('tells browsers to keep to HTTPS (HSTS) on every answer, errors and socket polling included (#11)', async () => {
    const headersOf = (route: string, headers: Record<string, string> = {}): Promise<{ status: number; hsts: string | undefined }> =>
      new Promise((resolve, reject) => {
        const req = request(`${hub.url}${route}`, { ca: readCa('ca'), headers }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, hsts: res.headers['strict-transport-security'] as string | undefined }));
        });
        req.on('error', reject);
        req.end();
      });
    const answers = [
      await headersOf('/health'),
      await headersOf('/api/agents', { authorization: `Bearer ${hub.adminToken}` }),
      await headersOf('/api/agents'), // 401
      await headersOf('/api/no-such-route'), // 404
      await headersOf('/socket.io/?EIO=4&transport=polling'), // answered by Socket.IO, outside Fastify
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 401, 404, expect.any(Number)]);
    for (const answer of answers) expect(answer.hsts).toBe('max-age=31536000; includeSubDomains');
  });

  it('an agent with the CA file enrolls over https and links over wss', async () => {
    const result = await runAgentFor('tls-good', { caFile: file('ca.pem') }, online('tls-good'), 15_000);
    expect(result.reached).toBe(true);
    expect(result.messages).toContain('connected to hub');
  });

  it('an agent without the CA file refuses the hub at enrollment', async () => {
    const result = await runAgentFor('tls-no-ca', {}, async () => false, 5_000);
    expect(result.code).toBe('threw');
    expect(result.error).toMatch(/cannot reach the hub.*(certificate|self.signed|issuer)/i);
  });

  it('an agent trusting another CA refuses the hub, at enrollment and on the link', async () => {
    const enrolling = await runAgentFor('tls-other', { caFile: file('other-ca.pem') }, async () => false, 5_000);
    expect(enrolling.code).toBe('threw');
    expect(enrolling.error).toMatch(/certificate|issuer/i);

    // Enrolled with the right CA, then configured with the wrong one: the link never comes up.
    const first = await runAgentFor('tls-switch', { caFile: file('ca.pem') }, online('tls-switch'), 15_000);
    expect(first.reached).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const second = await runAgentFor('tls-switch', { caFile: file('other-ca.pem') }, online('tls-switch'), 4_000);
    expect(second.reached).toBe(false);
    expect(second.messages).toContainEqual(expect.stringMatching(/^cannot reach the hub: TLS with .* failed/));
    expect(second.messages).not.toContain('connected to hub');
  });

  it('refuses to start with a key that does not match the certificate', async () => {
    await expect(
      startHub({ port: 0, bind: '127.0.0.1', dataDir: file('hub-bad'), logLevel: 'silent' }, { FAROL_TLS_CERT: file('hub.pem'), FAROL_TLS_KEY: file('ca.key') }),
    ).rejects.toThrow(ConfigError);
    await expect(startHub({ port: 0, bind: '127.0.0.1', dataDir: file('hub-bad2'), logLevel: 'silent' }, { FAROL_TLS_CERT: file('hub.pem') })).rejects.toThrow(/set both/);
  });

  it('honours X-Forwarded-For only from a trusted proxy', async () => {
    // The direct peer (127.0.0.1) is not the trusted proxy (10.9.8.7): its header is ignored.
    await get('/api/agents?probe=untrusted', readCa('ca'), { 'x-forwarded-for': '203.0.113.9' });
    await new Promise((r) => setTimeout(r, 100));
    const line = hubLog
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { req?: { url?: string; remoteAddress?: string } })
      .find((l) => l.req?.url === '/api/agents?probe=untrusted');
    expect(line?.req?.remoteAddress).toBe('127.0.0.1');

    // A hub that trusts 127.0.0.1 as its proxy takes the client address from the header.
    const proxied: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => proxied.push(chunk.toString('utf8')));
    const behindProxy = await startHub({ port: 0, bind: '127.0.0.1', dataDir: file('hub-proxied'), logLevel: 'debug' }, { FAROL_ROLLUP_INTERVAL: '1h', FAROL_TRUST_PROXY: '127.0.0.1' }, { logDestination: stream });
    try {
      await fetch(`${behindProxy.url}/api/agents?probe=trusted`, { headers: { authorization: `Bearer ${behindProxy.adminToken}`, 'x-forwarded-for': '203.0.113.9' } });
      await new Promise((r) => setTimeout(r, 100));
      const seen = proxied
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { req?: { url?: string; remoteAddress?: string } })
        .find((l) => l.req?.url === '/api/agents?probe=trusted');
      expect(seen?.req?.remoteAddress).toBe('203.0.113.9');
    } finally {
      await behindProxy.close();
    }
  });
});
