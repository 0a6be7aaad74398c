import { afterEach, describe, expect, it } from 'vitest';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';
import { enrollPeer } from '../../testing/protocol-peer.js';
import { isLoopbackBind, isMetricsPublic } from './metrics-access.js';

// Issue #11 (L5): /metrics names every machine and container. A hub that listens beyond
// loopback asks for a bearer token with metrics:read, unless FAROL_METRICS_PUBLIC=true.

const PASSWORD = 'correct horse battery staple';
let hub: HubFixture | undefined;

afterEach(async () => {
  await hub?.stop();
  hub = undefined;
});

async function tokenFor(fixture: HubFixture, username: string, role: string, scope?: string): Promise<string> {
  expect((await fixture.api('POST', '/api/users', { username, password: PASSWORD, role, ...(scope ? { scope } : {}) })).status).toBe(201);
  const login = await fixture.api('POST', '/api/auth/login', { username, password: PASSWORD, issue: 'token' }, null);
  return (login.body as { token: { token: string } }).token.token;
}

describe('who may read /metrics', () => {
  it('is public only while the hub listens on loopback, unless FAROL_METRICS_PUBLIC says otherwise (#11)', () => {
    for (const bind of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost']) expect(isLoopbackBind(bind), bind).toBe(true);
    for (const bind of ['0.0.0.0', '::', '100.101.102.103', '192.168.1.10', 'hub.example']) expect(isLoopbackBind(bind), bind).toBe(false);
    expect(isMetricsPublic({ bind: '127.0.0.1' })).toBe(true);
    expect(isMetricsPublic({ bind: '0.0.0.0' })).toBe(false);
    expect(isMetricsPublic({ bind: '100.101.102.103', metricsPublic: true })).toBe(true);
    expect(isMetricsPublic({ bind: '127.0.0.1', metricsPublic: false })).toBe(false);
  });

  it('asks for a bearer token with metrics:read when /metrics is not public: viewers yes, a role without it or a scoped role no (#11)', async () => {
    hub = await startHubFixture({ FAROL_METRICS_PUBLIC: 'false', FAROL_LOGIN_RATE_LIMIT: '1000' });
    await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env: 'prod' } }), 'prodbox');
    const anonymous = await hub.api('GET', '/metrics', undefined, null);
    expect(anonymous.status).toBe(401);
    expect(String(anonymous.body)).not.toContain('prodbox');

    const viewer = await tokenFor(hub, 'vera', 'viewer');
    const read = await hub.api('GET', '/metrics', undefined, viewer);
    expect(read.status).toBe(200);
    expect(String(read.body)).toContain('farol_agent_up');

    expect((await hub.api('POST', '/api/roles', { name: 'reader', permissions: ['nodes:read'] })).status).toBe(201);
    expect((await hub.api('GET', '/metrics', undefined, await tokenFor(hub, 'rhea', 'reader'))).status).toBe(403);
    // It lists every machine, so a role limited to a label scope may not read it.
    expect((await hub.api('GET', '/metrics', undefined, await tokenFor(hub, 'rita', 'operator', 'env=staging'))).status).toBe(403);
  });

  it('keeps /metrics open on a loopback hub, and anywhere with FAROL_METRICS_PUBLIC=true (#11)', async () => {
    hub = await startHubFixture();
    expect((await hub.api('GET', '/metrics', undefined, null)).status).toBe(200);
    await hub.stop();
    hub = await startHubFixture({ FAROL_METRICS_PUBLIC: 'true' });
    expect((await hub.api('GET', '/metrics', undefined, null)).status).toBe(200);
  });
});
