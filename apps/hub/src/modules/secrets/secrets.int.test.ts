import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditList, type CommandClaims, type Job, type Problem, type SecretList, type SecretReveal, type SecretSummary, type CommandRun } from '@farol/protocol';
import { startHub } from '../../testing/start-test-hub.js';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, type PeerIdentity, readCommandRun } from '../../testing/protocol-peer.js';
import { isPostgresRun } from '../../testing/postgres-test-db.js';
/** These tests open, damage or copy the SQLite file itself (or test a SQLite-only feature): not on the int-pg run (#13). */
const onPostgres = isPostgresRun();

// Secrets over the real hub: sealed at rest, write-only REST, audited reads, and the agent
// fetch refused for anything but the agent's own unfinished command and in-scope secrets.

const CANARY = 'CANARY-7f3a9c1e-do-not-leak-b64d';

let hub: HubFixture;

beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  await hub?.stop();
});

interface TestAgent {
  peer: PeerIdentity;
  socket: Socket;
  commands: CommandClaims[];
}

async function agent(hostname: string, labels: Record<string, string>): Promise<TestAgent> {
  const peer = await enrollPeer(hub.url, await hub.createJoinToken({ labels }), hostname);
  const result = await connectPeer(hub.url, peer);
  if (!result.socket) throw new Error(`connect failed: ${JSON.stringify(result.error)}`);
  const commands: CommandClaims[] = [];
  result.socket.on('command:run', (run: CommandRun) => {
    commands.push(readCommandRun(run));
  });
  const ack = await hello(result.socket, 10_000, hostname);
  if (!ack.ok) throw new Error('hello failed');
  return { peer, socket: result.socket, commands };
}

async function audit(action: string): Promise<AuditList['entries']> {
  const { body } = await hub.api('GET', `/api/audit?action=${action}`);
  return (body as AuditList).entries;
}

function dbBytes(): Buffer {
  const file = path.join(hub.dataDir, 'farol.db');
  const parts = [readFileSync(file)];
  for (const suffix of ['-wal', '-shm']) {
    try {
      parts.push(readFileSync(file + suffix));
    } catch (error) {
      // No WAL file yet (checkpointed): nothing more to read.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return Buffer.concat(parts);
}

describe('secrets REST', () => {
  it.skipIf(onPostgres)('stores a value write-only: list and show carry no value, reveal does and is audited', async () => {
    const created = await hub.api('PUT', '/api/secrets/API_KEY', { value: CANARY, scope: 'env=prod', description: 'payments' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'API_KEY', scope: 'env=prod', source: 'hub', version: 1, ref: null, description: 'payments' });
    expect(JSON.stringify(created.body)).not.toContain(CANARY);

    const replaced = await hub.api('PUT', '/api/secrets/API_KEY', { value: `${CANARY}-v2`, scope: 'env=prod' });
    expect(replaced.status).toBe(200);
    expect((replaced.body as SecretSummary).version).toBe(2);

    const list = await hub.api('GET', '/api/secrets');
    expect((list.body as SecretList).secrets.map((s) => s.name)).toContain('API_KEY');
    expect(JSON.stringify(list.body)).not.toContain(CANARY);
    const shown = await hub.api('GET', '/api/secrets/API_KEY');
    expect(JSON.stringify(shown.body)).not.toContain(CANARY);

    const revealed = await hub.api('POST', '/api/secrets/API_KEY/reveal');
    expect(revealed.status).toBe(200);
    expect(revealed.headers.get('cache-control')).toBe('no-store');
    expect(revealed.body as SecretReveal).toEqual({ name: 'API_KEY', value: `${CANARY}-v2` });
    const reads = await audit('secret.reveal');
    expect(reads[0]).toMatchObject({ actor: expect.any(String), details: { name: 'API_KEY', version: 2 } });
    expect(JSON.stringify(await audit('secret.set'))).not.toContain(CANARY);

    // The value is sealed in the database file: the canary is nowhere in its bytes.
    expect(dbBytes().includes(Buffer.from(CANARY))).toBe(false);

    expect((await hub.api('DELETE', '/api/secrets/API_KEY')).status).toBe(204);
    expect((await hub.api('GET', '/api/secrets/API_KEY')).status).toBe(404);
    expect((await audit('secret.delete'))[0]).toMatchObject({ details: { name: 'API_KEY' } });
  });

  it('refuses bad names, scopes and bodies with 4xx problems', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['PUT', '/api/secrets/1BAD', { value: 'x1234', scope: '*' }, 'validation_failed'],
      ['PUT', '/api/secrets/GOOD', { value: 'x1234', scope: 'env==prod' }, 'validation_failed'],
      ['PUT', '/api/secrets/GOOD', { value: '', scope: '*' }, 'validation_failed'],
      ['PUT', '/api/secrets/GOOD', { value: 'a\u0000b', scope: '*' }, 'validation_failed'],
      ['PUT', '/api/secrets/GOOD', { value: 'x1234', scope: '*', extra: 1 }, 'validation_failed'],
      ['PUT', '/api/secrets/GOOD', { source: 'vault', scope: '*' }, 'validation_failed'],
      ['PUT', '/api/secrets/GOOD', { source: 'vault', ref: { path: '../etc' }, scope: '*' }, 'validation_failed'],
      ['POST', '/api/secrets/NOPE/reveal', undefined, 'not_found'],
      ['DELETE', '/api/secrets/NOPE', undefined, 'not_found'],
    ];
    for (const [method, route, body, code] of cases) {
      const answer = await hub.api(method, route, body);
      expect(answer.status, `${method} ${route} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect((answer.body as Problem).code).toBe(code);
    }
    expect((await hub.api('GET', '/api/secrets', undefined, null)).status).toBe(401);
  });
});

describe('secrets delivered to agents', () => {
  let prod: TestAgent;
  let dev: TestAgent;

  beforeAll(async () => {
    prod = await agent('sec-prod', { env: 'prod' });
    dev = await agent('sec-dev', { env: 'dev' });
    expect((await hub.api('PUT', '/api/secrets/DB_PASSWORD', { value: CANARY, scope: 'env=prod' })).status).toBe(201);
    expect((await hub.api('PUT', '/api/secrets/WEB1_ONLY', { value: 'only-for-sec-dev', scope: 'name=sec-dev' })).status).toBe(201);
  });

  const shellWith = (secrets: string[]) => ({ kind: 'shell', argv: ['./migrate'], secrets });

  it('refuses at dispatch a job whose secret is not scoped to every target, sending nothing', async () => {
    const before = dev.commands.length;
    for (const targets of [{ agents: ['sec-dev'] }, { all: true }, { agents: ['sec-prod', 'sec-dev'] }]) {
      const answer = await hub.api('POST', '/api/jobs', { command: shellWith(['DB_PASSWORD']), targets });
      expect(answer.status, JSON.stringify(targets)).toBe(403);
      expect((answer.body as Problem).code).toBe('forbidden');
      expect((answer.body as Problem).detail).toContain('DB_PASSWORD');
    }
    const missing = await hub.api('POST', '/api/jobs', { command: shellWith(['NO_SUCH']), targets: { agents: ['sec-prod'] } });
    expect(missing.status).toBe(404);
    await new Promise((r) => setTimeout(r, 200));
    expect(dev.commands.length).toBe(before);
  });

  it.skipIf(onPostgres)('gives an agent the secrets of its own command, audited; another agent asking is refused and audited', async () => {
    const created = await hub.api('POST', '/api/jobs', { command: shellWith(['DB_PASSWORD']), targets: { agents: ['sec-prod'] }, ttlMs: 60_000 });
    expect(created.status).toBe(201);
    const job = created.body as Job;
    const commandId = job.targets[0]!.commandId;
    await waitFor(() => prod.commands.some((c) => c.commandId === commandId) || undefined, 5_000, 'the command');
    expect(prod.commands.find((c) => c.commandId === commandId)!.command).toMatchObject({ secrets: ['DB_PASSWORD'] });

    const granted = await emitAck<{ secrets: Array<{ name: string; value: string }> }>(prod.socket, 'secrets:fetch', { commandId, names: ['DB_PASSWORD'] });
    expect(granted).toEqual({ ok: true, data: { secrets: [{ name: 'DB_PASSWORD', value: CANARY }] } });
    const fetches = await audit('secret.fetch');
    expect(fetches[0]).toMatchObject({ actor: `agent:${prod.peer.agentId}`, agentId: prod.peer.agentId, jobId: job.id, details: { commandId, names: ['DB_PASSWORD'] } });

    // The other agent names the same command: the hub knows who is asking from the connection.
    const stolen = await emitAck(dev.socket, 'secrets:fetch', { commandId, names: ['DB_PASSWORD'] });
    expect(stolen).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    // The right agent asking for a secret its command did not name.
    const extra = await emitAck(prod.socket, 'secrets:fetch', { commandId, names: ['DB_PASSWORD', 'WEB1_ONLY'] });
    expect(extra).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const refused = await audit('secret.fetch_refused');
    expect(refused.map((e) => e.actor)).toEqual(expect.arrayContaining([`agent:${dev.peer.agentId}`, `agent:${prod.peer.agentId}`]));
    expect(refused.find((e) => e.actor === `agent:${dev.peer.agentId}`)!.details).toMatchObject({ commandId, names: ['DB_PASSWORD'] });

    // Output and results carrying the value are redacted before they are stored or streamed.
    expect((await emitAck(prod.socket, 'command:ack', { commandId, status: 'accepted', at: Date.now() })).ok).toBe(true);
    expect((await emitAck(prod.socket, 'command:output', { commandId, stream: 'stdout', data: `pw=${CANARY}\n`, seq: 0 })).ok).toBe(true);
    const stored = await emitAck(prod.socket, 'command:result', {
      commandId,
      state: 'failed',
      exitCode: 1,
      signal: null,
      stdout: `pw=${CANARY}\n`,
      stderr: `error: ${CANARY}`,
      stdoutTruncated: false,
      stderrTruncated: false,
      data: null,
      startedAt: Date.now() - 5,
      endedAt: Date.now(),
      error: `exited, ${CANARY}`,
    });
    expect(stored.ok).toBe(true);
    const finished = (await hub.api('GET', `/api/jobs/${job.id}`)).body as Job;
    expect(finished.targets[0]).toMatchObject({ stdout: 'pw=[secret]\n', stderr: 'error: [secret]', error: 'exited, [secret]' });

    // The command is finished: its secrets are no longer handed out.
    const late = await emitAck(prod.socket, 'secrets:fetch', { commandId, names: ['DB_PASSWORD'] });
    expect(late).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(dbBytes().includes(Buffer.from(CANARY))).toBe(false);
  });

  it('checks the scope against the agent\'s labels at fetch time, not at dispatch', async () => {
    const created = await hub.api('POST', '/api/jobs', { command: shellWith(['DB_PASSWORD']), targets: { agents: ['sec-prod'] }, ttlMs: 60_000 });
    const commandId = (created.body as Job).targets[0]!.commandId;
    await waitFor(() => prod.commands.some((c) => c.commandId === commandId) || undefined, 5_000, 'the command');
    // Moved out of prod between dispatch and fetch.
    expect((await hub.api('PATCH', '/api/agents/sec-prod', { labels: { env: 'staging' } })).status).toBe(200);
    const answer = await emitAck(prod.socket, 'secrets:fetch', { commandId, names: ['DB_PASSWORD'] });
    expect(answer).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect((await hub.api('PATCH', '/api/agents/sec-prod', { labels: { env: 'prod' } })).status).toBe(200);
  });

  it('answers malformed fetches with an error ack', async () => {
    for (const payload of [{}, { commandId: 'cmd_x', names: ['A'] }, { commandId: 'cmd_aaaaaaaaaaaaaaaa', names: [] }, { commandId: 'cmd_aaaaaaaaaaaaaaaa', names: ['A'], agentId: 'ag_x' }]) {
      expect(await emitAck(prod.socket, 'secrets:fetch', payload)).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    }
    const unknown = await emitAck(prod.socket, 'secrets:fetch', { commandId: 'cmd_aaaaaaaaaaaaaaaa', names: ['DB_PASSWORD'] });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });
});

/** A small Vault (KV v2) or Infisical on 127.0.0.1 that records every request. */
async function emulator(handle: (url: URL, headers: IncomingHttpHeaders) => { status: number; body: unknown }): Promise<{ url: string; requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>; close(): Promise<void> }> {
  const requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const { status, body } = handle(new URL(req.url ?? '/', 'http://x'), req.headers);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('read-through backends', () => {
  it('reads from Vault KV v2 at every read: GET /v1/{mount}/data/{path} with X-Vault-Token', async () => {
    const vault = await emulator((url, headers) => {
      if (headers['x-vault-token'] !== 'hvs.test-token') return { status: 403, body: { errors: ['permission denied'] } };
      if (url.pathname === '/v1/kv/data/apps/web/db') return { status: 200, body: { data: { data: { password: 'vault-secret-1', value: 'other' }, metadata: { version: 3 } } } };
      if (url.pathname === '/v1/kv/data/PLAIN') return { status: 200, body: { data: { data: { value: 'vault-plain-2' }, metadata: { version: 1 } } } };
      return { status: 404, body: { errors: [] } };
    });
    const vaultHub = await startHubFixture({ FAROL_SECRETS_BACKEND: 'vault', FAROL_VAULT_ADDR: vault.url, FAROL_VAULT_TOKEN: 'hvs.test-token', FAROL_VAULT_MOUNT: 'kv' });
    try {
      const put = await vaultHub.api('PUT', '/api/secrets/DB_PASS', { source: 'vault', ref: { path: 'apps/web/db', key: 'password' }, scope: '*' });
      expect(put.status).toBe(201);
      expect(put.body).toMatchObject({ source: 'vault', ref: { path: 'apps/web/db', key: 'password' } });
      expect(vault.requests).toHaveLength(0);
      const revealed = await vaultHub.api('POST', '/api/secrets/DB_PASS/reveal');
      expect(revealed.body).toEqual({ name: 'DB_PASS', value: 'vault-secret-1' });
      expect(vault.requests).toEqual([{ method: 'GET', url: '/v1/kv/data/apps/web/db', headers: expect.objectContaining({ 'x-vault-token': 'hvs.test-token' }) }]);
      await vaultHub.api('PUT', '/api/secrets/PLAIN', { source: 'vault', scope: '*' });
      expect((await vaultHub.api('POST', '/api/secrets/PLAIN/reveal')).body).toEqual({ name: 'PLAIN', value: 'vault-plain-2' });
      expect(vault.requests[1]!.url).toBe('/v1/kv/data/PLAIN');
      await vaultHub.api('PUT', '/api/secrets/GONE', { source: 'vault', ref: { path: 'missing' }, scope: '*' });
      const gone = await vaultHub.api('POST', '/api/secrets/GONE/reveal');
      expect(gone.status).toBe(404);
      // A hub-stored secret needs no backend call, and a vault secret is refused where none is configured.
      expect((await hub.api('PUT', '/api/secrets/V', { source: 'vault', scope: '*' })).status).toBe(400);
    } finally {
      await vaultHub.stop();
      await vault.close();
    }
  });

  it('reads from Infisical: GET /api/v3/secrets/raw/{name} with a bearer token, project, environment and path', async () => {
    const infisical = await emulator((url, headers) => {
      if (headers.authorization !== 'Bearer st.machine-token') return { status: 401, body: { message: 'unauthorized' } };
      if (url.pathname === '/api/v3/secrets/raw/STRIPE_KEY') return { status: 200, body: { secret: { secretKey: 'STRIPE_KEY', secretValue: 'sk_infisical_3', version: 2 } } };
      return { status: 404, body: { message: 'not found' } };
    });
    const infisicalHub = await startHubFixture({
      FAROL_SECRETS_BACKEND: 'infisical',
      FAROL_INFISICAL_URL: infisical.url,
      FAROL_INFISICAL_TOKEN: 'st.machine-token',
      FAROL_INFISICAL_PROJECT_ID: 'proj-123',
      FAROL_INFISICAL_ENVIRONMENT: 'staging',
      FAROL_INFISICAL_PATH: '/payments',
    });
    try {
      expect((await infisicalHub.api('PUT', '/api/secrets/STRIPE', { source: 'infisical', ref: { path: 'STRIPE_KEY' }, scope: '*' })).status).toBe(201);
      expect((await infisicalHub.api('POST', '/api/secrets/STRIPE/reveal')).body).toEqual({ name: 'STRIPE', value: 'sk_infisical_3' });
      expect(infisical.requests).toHaveLength(1);
      const request = infisical.requests[0]!;
      const url = new URL(request.url, 'http://x');
      expect(request.method).toBe('GET');
      expect(url.pathname).toBe('/api/v3/secrets/raw/STRIPE_KEY');
      expect(Object.fromEntries(url.searchParams)).toEqual({ workspaceId: 'proj-123', environment: 'staging', secretPath: '/payments' });
      expect(request.headers.authorization).toBe('Bearer st.machine-token');
    } finally {
      await infisicalHub.stop();
      await infisical.close();
    }
  });
});

describe('after a restart', () => {
  it('redacts stored values from the logs from the first line, and still opens them with the same key', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-secrets-restart-'));
    const value = 'restart-canary-91c2e';
    try {
      const first = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'silent' }, { FAROL_ROLLUP_INTERVAL: '1h' });
      await fetch(`${first.url}/api/secrets/KEPT`, { method: 'PUT', headers: { authorization: `Bearer ${first.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ value, scope: '*' }) });
      await first.close();

      const lines: string[] = [];
      const stream = new PassThrough();
      stream.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
      const second = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'debug' }, { FAROL_ROLLUP_INTERVAL: '1h' }, { logDestination: stream });
      try {
        await fetch(`${second.url}/api/agents/${value}`, { headers: { authorization: `Bearer ${second.adminToken}` } });
        const revealed = await fetch(`${second.url}/api/secrets/KEPT/reveal`, { method: 'POST', headers: { authorization: `Bearer ${second.adminToken}` } });
        expect(await revealed.json()).toEqual({ name: 'KEPT', value });
      } finally {
        await second.close();
      }
      const text = lines.join('');
      expect(text).toContain('/api/agents/[secret]');
      expect(text).not.toContain(value);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
