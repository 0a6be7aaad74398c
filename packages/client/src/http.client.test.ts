import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemFor, type Agent, type JoinTokenCreated } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FarolApiError } from './api-error.js';
import { createFarolClient } from './http.client.js';
import { startFakeHub, type FakeHub } from '@farol/test-support';

const ME = { kind: 'user', id: 'usr_1', name: 'admin', role: 'admin', permissions: ['nodes:read'], scope: null, via: 'token', tokenId: 'tok_admin', mfaEnabled: false, mfaAt: null };

const agent: Agent = {
  id: 'ag_0123456789abcdef',
  name: 'web-1',
  hostname: 'web-1.local',
  status: 'online',
  labels: { role: 'web' },
  createdAt: 1_700_000_000_000,
  lastSeen: 1_700_000_100_000,
  system: null,
  keyFingerprint: 'fp',
  heartbeatIntervalMs: 5000,
  latest: null,
};

const createdToken: JoinTokenCreated = {
  id: 'jt_1',
  token: 'secret-join-token',
  labels: { env: 'prod' },
  note: 'rack 4',
  maxUses: 3,
  uses: 0,
  createdAt: 1_700_000_000_000,
  expiresAt: 1_700_086_400_000,
  revokedAt: null,
  lastUsedAt: null,
  state: 'active',
};

let hub: FakeHub;

afterEach(async () => {
  await hub.close();
});

describe('createFarolClient against a hub', () => {
  beforeEach(async () => {
    hub = await startFakeHub({
      'GET /api/agents': { status: 200, body: { agents: [agent] } },
      'GET /api/agents/web%201': { status: 200, body: agent },
      'PATCH /api/agents/web-1': { status: 200, body: { ...agent, name: 'web-2' } },
      'DELETE /api/agents/web-1': { status: 204 },
      'GET /api/agents/web-1/metrics': {
        status: 200,
        body: { agentId: agent.id, from: 1, to: 2, resolution: '1m', stepMs: 60_000, points: [] },
      },
      'POST /api/join-tokens': { status: 201, body: createdToken },
      'GET /api/join-tokens': { status: 200, body: { tokens: [] } },
      'DELETE /api/join-tokens/jt_1': { status: 204 },
      'GET /health': { status: 200, body: { status: 'ok', version: '0.1.0', uptimeSeconds: 3 } },
      'GET /api/me': { status: 200, body: { kind: 'user', id: 'usr_1', name: 'admin', role: 'admin', permissions: ['nodes:read'], scope: null, via: 'token', tokenId: 'tok_admin', mfaEnabled: false, mfaAt: null } },
    });
  });

  it('sends the bearer token and the status and repeated label filters when listing agents', async () => {
    const client = createFarolClient({ baseUrl: hub.url, token: 'op-token' });
    const list = await client.listAgents({ status: 'online', label: ['role=web', 'env=prod'] });

    expect(list.agents.map((a) => a.name)).toEqual(['web-1']);
    const [request] = hub.requests;
    expect(request?.method).toBe('GET');
    expect(request?.path).toBe('/api/agents');
    expect(request?.searchParams.get('status')).toBe('online');
    expect(request?.searchParams.getAll('label')).toEqual(['role=web', 'env=prod']);
    expect(request?.headers.authorization).toBe('Bearer op-token');
  });

  it('sends no query string when no filter is given', async () => {
    await createFarolClient({ baseUrl: hub.url, token: 't' }).listAgents();
    expect([...(hub.requests[0]?.searchParams.keys() ?? [])]).toEqual([]);
  });

  it('encodes the agent reference into the path', async () => {
    const found = await createFarolClient({ baseUrl: hub.url, token: 't' }).getAgent('web 1');
    expect(found.id).toBe(agent.id);
    expect(hub.requests[0]?.rawPath).toBe('/api/agents/web%201');
  });

  it('sends a patch as a JSON body', async () => {
    const updated = await createFarolClient({ baseUrl: hub.url, token: 't' }).updateAgent('web-1', { name: 'web-2' });
    expect(updated.name).toBe('web-2');
    const [request] = hub.requests;
    expect(request?.method).toBe('PATCH');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({ name: 'web-2' });
  });

  it('resolves a delete answered with 204', async () => {
    await expect(createFarolClient({ baseUrl: hub.url, token: 't' }).deleteAgent('web-1')).resolves.toBeUndefined();
    expect(hub.requests[0]?.method).toBe('DELETE');
  });

  it('passes the metrics range as query parameters', async () => {
    const metrics = await createFarolClient({ baseUrl: hub.url, token: 't' }).getMetrics('web-1', { from: 1000, to: 2000, resolution: '1m' });
    expect(metrics.resolution).toBe('1m');
    expect(hub.requests[0]?.query).toEqual({ from: '1000', to: '2000', resolution: '1m' });
  });

  it('creates a join token with the ttl as a duration string and returns the secret', async () => {
    const client = createFarolClient({ baseUrl: hub.url, token: 't' });
    const created = await client.createJoinToken({ ttl: '24h', uses: 3, labels: { env: 'prod' }, note: 'rack 4' });
    expect(created.token).toBe('secret-join-token');
    expect(hub.requests[0]?.method).toBe('POST');
    expect(hub.requests[0]?.path).toBe('/api/join-tokens');
    expect(hub.requests[0]?.body).toEqual({ ttl: '24h', uses: 3, labels: { env: 'prod' }, note: 'rack 4' });
  });

  it('lists and revokes join tokens', async () => {
    const client = createFarolClient({ baseUrl: hub.url, token: 't' });
    await expect(client.listJoinTokens()).resolves.toEqual({ tokens: [] });
    await client.revokeJoinToken('jt_1');
    expect(hub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/join-tokens', 'DELETE /api/join-tokens/jt_1']);
  });

  it('omits the authorization header when no token is set', async () => {
    const health = await createFarolClient({ baseUrl: hub.url }).health();
    expect(health.status).toBe('ok');
    expect(hub.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('adds the caller\'s per-request headers, by method (the dashboard\'s CSRF token, #21)', async () => {
    const client = createFarolClient({ baseUrl: hub.url, headers: (method): Record<string, string> => (method === 'GET' ? {} : { 'x-csrf-token': 'csrf-1' }) });
    await client.listJoinTokens();
    await client.revokeJoinToken('jt_1');
    expect(hub.requests.map((r) => [r.method, r.headers['x-csrf-token']])).toEqual([
      ['GET', undefined],
      ['DELETE', 'csrf-1'],
    ]);
  });

  it('keeps a path prefix and drops trailing slashes of the base URL', async () => {
    await hub.close();
    hub = await startFakeHub({ 'GET /farol/api/me': { status: 200, body: { kind: 'user', id: 'usr_1', name: 'admin', role: 'admin', permissions: ['nodes:read'], scope: null, via: 'token', tokenId: 'tok_admin', mfaEnabled: false, mfaAt: null } } });
    const me = await createFarolClient({ baseUrl: `${hub.url}/farol//`, token: 't' }).me();
    expect(me).toEqual({ kind: 'user', id: 'usr_1', name: 'admin', role: 'admin', permissions: ['nodes:read'], scope: null, via: 'token', tokenId: 'tok_admin', mfaEnabled: false, mfaAt: null });
    expect(hub.requests[0]?.path).toBe('/farol/api/me');
  });
});

describe('createFarolClient failures', () => {
  it('turns a problem body into a FarolApiError with its status, code and detail', async () => {
    hub = await startFakeHub({ 'GET /api/me': { status: 401, body: problemFor('token_invalid', 'unknown token') } });
    const error = await createFarolClient({ baseUrl: hub.url, token: 'bad' }).me().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(FarolApiError);
    expect(error).toMatchObject({ status: 401, code: 'token_invalid', detail: 'unknown token', isAuthFailure: true, isNetworkFailure: false });
  });

  it('keeps the field issues of a validation problem', async () => {
    const issues = [{ path: 'name', message: 'names are 1-63 chars' }];
    hub = await startFakeHub({ 'PATCH /api/agents/x': { status: 400, body: problemFor('validation_failed', 'bad patch', issues) } });
    const error = await createFarolClient({ baseUrl: hub.url, token: 't' }).updateAgent('x', { name: 'y' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'validation_failed', issues });
  });

  it('maps an error page that is not a problem body by its status', async () => {
    hub = await startFakeHub({ 'GET /api/agents': { status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' } });
    const error = await createFarolClient({ baseUrl: hub.url, token: 't' }).listAgents().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, code: 'unavailable' });
    expect((error as FarolApiError).detail).toContain('HTTP 502');
  });

  it('reports a success body that breaks the protocol instead of returning it', async () => {
    hub = await startFakeHub({ 'GET /api/agents': { status: 200, body: { agents: [{ id: 'nope' }] } } });
    const error = await createFarolClient({ baseUrl: hub.url, token: 't' }).listAgents().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 200, code: 'internal' });
    expect((error as Error).message).toContain('does not match the protocol');
  });

  it('names the URL and says "connection refused" when nothing listens', async () => {
    hub = await startFakeHub({});
    const deadUrl = hub.url;
    await hub.close();

    const error = await createFarolClient({ baseUrl: deadUrl, token: 't' }).me().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FarolApiError);
    expect(error).toMatchObject({ status: 0, code: 'unavailable', detail: 'connection refused', isNetworkFailure: true });
    expect((error as Error).message).toBe(`cannot reach the hub at ${deadUrl}: connection refused`);
  });

  it('gives up on a hub that does not answer within the timeout', async () => {
    const silent = createServer(() => {
      // Never answers: the client must time out on its own.
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    hub = {
      url,
      requests: [],
      calls: () => [],
      close: () => {
        silent.closeAllConnections();
        return new Promise<void>((resolve) => silent.close(() => resolve()));
      },
    };
    const error = await createFarolClient({ baseUrl: url, token: 't', timeoutMs: 200 }).me().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, code: 'unavailable', detail: 'no response in time' });
  });

  it('uses an injected fetch', async () => {
    hub = await startFakeHub({});
    // The fake hub above stays idle: the injected fetch answers instead of the network.
    const seen: string[] = [];
    const client = createFarolClient({
      baseUrl: 'http://hub.example',
      token: 't',
      fetch: async (input) => {
        seen.push(String(input));
        return new Response(JSON.stringify(ME), { status: 200 });
      },
    });
    await expect(client.me()).resolves.toEqual(ME);
    expect(seen).toEqual(['http://hub.example/api/me']);
  });
});
