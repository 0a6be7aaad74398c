import { execFileSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AuditList, Check, CheckHistory, CheckRunResponse, ChecksAssign } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, type PeerIdentity } from '../../testing/protocol-peer.js';

let hub: HubFixture;
const closers: Array<() => Promise<void> | void> = [];
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  hub = await startHubFixture();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await hub?.stop();
});

const listen = (server: net.Server, port = 0): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
const close = (server: net.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

async function createCheck(body: Record<string, unknown>): Promise<Check> {
  const created = await hub.api('POST', '/api/checks', body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as Check;
}
async function runNow(ref: string): Promise<CheckRunResponse> {
  const ran = await hub.api('POST', `/api/checks/${encodeURIComponent(ref)}/run`);
  expect(ran.status, JSON.stringify(ran.body)).toBe(200);
  return ran.body as CheckRunResponse;
}
const alertsOf = async (ruleName: string): Promise<Alert[]> =>
  ((await hub.api('GET', '/api/alerts?state=all&limit=100')).body as { alerts: Alert[] }).alerts.filter((a) => a.ruleName === ruleName);

describe('checks run by the hub itself (#19)', () => {
  it('sees a loopback HTTP service go down and come back, with keyword, history and uptime', async () => {
    const server = http.createServer((_req, res) => res.end('status: healthy'));
    const port = await listen(server);
    const check = await createCheck({ name: 'api', probe: { kind: 'http', url: `http://127.0.0.1:${port}/health`, keyword: 'healthy' }, interval: '1m', timeout: '2s' });
    expect(check.runOn).toEqual({ hub: true });

    expect((await runNow('api')).results[0]).toMatchObject({ location: 'hub', status: 'ok', message: expect.stringMatching(/^HTTP 200 in \d+ ms$/) });
    await close(server);
    expect((await runNow('api')).results[0]).toMatchObject({ status: 'critical', latencyMs: null, message: expect.stringContaining('ECONNREFUSED') });
    const again = http.createServer((_req, res) => res.end('status: degraded'));
    await listen(again, port);
    closers.push(() => close(again));
    expect((await runNow('api')).results[0]).toMatchObject({ status: 'critical', message: 'HTTP 200, but the body does not contain "healthy"' });

    const history = (await hub.api('GET', '/api/checks/api/results')).body as CheckHistory;
    // The scheduler's own first run may add one more: at least the three asked for, newest first.
    expect(history.results.length).toBeGreaterThanOrEqual(3);
    expect(history.results[0]!.status).toBe('critical');
    expect(history.uptime.h24).toBeGreaterThan(0);
    expect(history.uptime.h24).toBeLessThan(100);
    expect(history.locations).toEqual([{ location: 'hub', agentId: null, uptime: expect.objectContaining({ h24: history.uptime.h24 }) }]);

    const shown = (await hub.api('GET', '/api/checks/api')).body as Check;
    expect(shown).toMatchObject({ status: 'critical', locations: [expect.objectContaining({ location: 'hub', status: 'critical' })] });
    const audit = (await hub.api('GET', '/api/audit?limit=50')).body as AuditList;
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['check.create', 'check.run']));
  });

  it('follows a TCP port closing and opening again', async () => {
    const server = net.createServer((socket) => socket.end());
    const port = await listen(server);
    await createCheck({ name: 'db port', probe: { kind: 'tcp', host: '127.0.0.1', port }, interval: '30s', timeout: '1s' });
    expect((await runNow('db port')).results[0]!.status).toBe('ok');
    await close(server);
    expect((await runNow('db port')).results[0]).toMatchObject({ status: 'critical', message: `127.0.0.1:${port}: ECONNREFUSED` });
    const again = net.createServer((socket) => socket.end());
    await listen(again, port);
    closers.push(() => close(again));
    expect((await runNow('db port')).results[0]!.status).toBe('ok');
  });

  it('checks a DNS answer from a loopback resolver', async () => {
    const resolver = await startDnsResponder({ 'svc.farol.test': '10.1.2.3' });
    closers.push(() => {
      resolver.socket.close();
    });
    await createCheck({ name: 'dns ok', probe: { kind: 'dns', name: 'svc.farol.test', type: 'A', expect: '10.1.2.3', server: `127.0.0.1:${resolver.port}` }, timeout: '2s' });
    await createCheck({ name: 'dns moved', probe: { kind: 'dns', name: 'svc.farol.test', type: 'A', expect: '10.9.9.9', server: `127.0.0.1:${resolver.port}` }, timeout: '2s' });
    expect((await runNow('dns ok')).results[0]).toMatchObject({ status: 'ok', message: 'A svc.farol.test: 10.1.2.3' });
    expect((await runNow('dns moved')).results[0]).toMatchObject({ status: 'critical', message: 'A svc.farol.test is 10.1.2.3, expected 10.9.9.9' });
  });

  it('reports the days left of a certificate that expires soon and fires the expiring rule once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'farol-checks-cert-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3', '-subj', '/CN=127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => res.end('ok'));
    const port = await listen(server);
    closers.push(() => close(server));
    const rule = await hub.api('POST', '/api/alert-rules', { name: 'cert expiring', condition: { kind: 'check', condition: 'certificate', days: 14, checks: ['tls site'] }, severity: 'warning' });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);

    await createCheck({ name: 'tls site', probe: { kind: 'http', url: `https://127.0.0.1:${port}/`, certExpiryDays: 14 }, timeout: '2s' });
    // Self-signed: refused while TLS is verified.
    expect((await runNow('tls site')).results[0]).toMatchObject({ status: 'critical', message: expect.stringMatching(/self.signed|SELF_SIGNED/i) });
    const check = (await hub.api('GET', '/api/checks/tls site')).body as Check;
    const replaced = await hub.api('PUT', `/api/checks/${check.id}`, { name: 'tls site', probe: { kind: 'http', url: `https://127.0.0.1:${port}/`, certExpiryDays: 14, verifyTls: false }, timeout: '2s' });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    const result = (await runNow('tls site')).results[0]!;
    expect(result.status).toBe('warning');
    expect(result.certDaysLeft).toBeGreaterThan(2);
    expect(result.certDaysLeft).toBeLessThanOrEqual(3);
    expect(result.message).toMatch(/the certificate expires in [\d.]+ days/);

    const [alert] = await waitFor(async () => {
      const found = await alertsOf('cert expiring');
      return found.some((a) => a.state === 'firing') ? found : undefined;
    }, 5_000, 'the certificate alert');
    expect(alert).toMatchObject({ kind: 'check', agentId: null, subject: 'check tls site', summary: expect.stringContaining('the certificate expires in'), threshold: 14, unit: 'days' });
    await runNow('tls site');
    expect(await alertsOf('cert expiring')).toHaveLength(1);
    // Disabled: nothing watches it any more, so its alert ends (quietly).
    const disabled = await hub.api('PUT', `/api/checks/${check.id}`, { name: 'tls site', probe: { kind: 'http', url: `https://127.0.0.1:${port}/`, verifyTls: false }, timeout: '2s', enabled: false });
    expect(disabled.status).toBe(200);
    await waitFor(async () => ((await alertsOf('cert expiring'))[0]?.state === 'resolved' ? true : undefined), 5_000, 'the alert of a disabled check resolved');
  });

  it('refuses bad checks with a field and a reason (#19)', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 'fast', probe: { kind: 'tcp', host: '127.0.0.1', port: 1 }, interval: '5s' }, 'interval'],
      [{ name: 'slow', probe: { kind: 'tcp', host: '127.0.0.1', port: 1 }, interval: '10s', timeout: '10s' }, 'timeout'],
      [{ name: 'plugin on hub', probe: { kind: 'command', argv: ['/bin/true'] } }, 'runOn'],
      [{ name: 'relative', probe: { kind: 'command', argv: ['check_disk'] }, runOn: { selector: 'role=edge' } }, 'probe.argv'],
      [{ name: 'dash host', probe: { kind: 'ping', host: '-f' } }, 'probe.host'],
      [{ name: 'ghost', probe: { kind: 'ping', host: '127.0.0.1' }, runOn: { agents: ['no-such-machine'] } }, 'runOn.agents'],
    ];
    for (const [body, field] of cases) {
      const refused = await hub.api('POST', '/api/checks', body);
      expect(refused.status, JSON.stringify(refused.body)).toBe(400);
      expect(JSON.stringify(refused.body)).toContain(field);
    }
    expect((await hub.api('POST', '/api/checks', { name: 'api', probe: { kind: 'tcp', host: '127.0.0.1', port: 1 } })).status).toBe(409);
    expect((await hub.api('GET', '/api/checks/nothing-here')).status).toBe(404);
  });

  it('documents the check routes in the OpenAPI document', async () => {
    const paths = Object.keys(((await hub.api('GET', '/api/openapi.json')).body as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/checks', '/api/checks/{id}', '/api/checks/{id}/results', '/api/checks/{id}/run']));
  });
});

describe('checks run from machines (#19)', () => {
  const peers: Array<{ peer: PeerIdentity; socket: Socket; assigned: ChecksAssign[] }> = [];
  let checkId: string;

  beforeAll(async () => {
    const token = await hub.createJoinToken({ uses: 3, labels: { role: 'edge' } });
    for (const name of ['edge-a', 'edge-b', 'edge-c']) {
      const peer = await enrollPeer(hub.url, token, name);
      const { socket } = await connectPeer(hub.url, peer);
      const assigned: ChecksAssign[] = [];
      socket!.on('checks:assign', (payload: ChecksAssign) => assigned.push(payload));
      expect((await hello(socket!, 10_000, name)).ok).toBe(true);
      peers.push({ peer, socket: socket!, assigned });
    }
    closers.push(() => peers.forEach(({ socket }) => socket.disconnect()));
  });

  const report = (index: number, status: string, message: string) =>
    emitAck<{ stored: number; ignored: number }>(peers[index]!.socket, 'check:results', { results: [{ checkId, ts: Date.now(), status, latencyMs: status === 'critical' ? null : 5, message, certDaysLeft: null, perfdata: [] }] });

  it('assigns a selector check to every matching machine, and fires "down from 2 of 3 locations" once, then resolves', async () => {
    const rule = await hub.api('POST', '/api/alert-rules', { name: 'edge api down', condition: { kind: 'check', condition: 'down', minLocations: 2, checks: ['edge api'] }, severity: 'critical' });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const check = await createCheck({ name: 'edge api', probe: { kind: 'http', url: 'http://127.0.0.1:9/' }, interval: '30s', runOn: { selector: 'role=edge' } });
    checkId = check.id;
    for (const { assigned } of peers) {
      await waitFor(() => (assigned.at(-1)?.checks.some((c) => c.id === checkId) ? true : undefined), 5_000, 'the assignment');
      expect(assigned.at(-1)!.checks.find((c) => c.id === checkId)).toMatchObject({ name: 'edge api', intervalMs: 30_000, probe: { kind: 'http' } });
    }

    expect(await report(0, 'critical', 'ECONNREFUSED')).toEqual({ ok: true, data: { stored: 1, ignored: 0 } });
    await report(1, 'ok', 'HTTP 200 in 5 ms');
    await report(2, 'ok', 'HTTP 200 in 4 ms');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await alertsOf('edge api down')).toEqual([]);

    await report(1, 'critical', 'connect ETIMEDOUT');
    const firing = await waitFor(async () => (await alertsOf('edge api down')).find((a) => a.state === 'firing'), 5_000, 'the down alert');
    expect(firing.summary).toMatch(/^check edge api down from 2 of 3 locations \(edge-a, edge-b\): connect ETIMEDOUT/);
    expect(firing).toMatchObject({ kind: 'check', agentId: null, instance: checkId, value: 2, threshold: 2 });

    await report(0, 'critical', 'ECONNREFUSED');
    await report(2, 'critical', 'ECONNREFUSED');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await alertsOf('edge api down')).toHaveLength(1);

    await report(0, 'ok', 'HTTP 200');
    await report(1, 'ok', 'HTTP 200');
    const resolved = await waitFor(async () => (await alertsOf('edge api down')).find((a) => a.state === 'resolved'), 5_000, 'the resolved alert');
    expect(resolved.summary).toBe('check edge api is up again (2 of 3 locations)');
    expect(await alertsOf('edge api down')).toHaveLength(1);

    const history = (await hub.api('GET', `/api/checks/${checkId}/results?location=edge-b`)).body as CheckHistory;
    expect(history.results.map((r) => r.status)).toEqual(['ok', 'critical', 'ok']);
    expect(history.locations.map((l) => l.location).sort()).toEqual(['edge-a', 'edge-b', 'edge-c']);
  });

  it('drops results of checks a machine was not assigned', async () => {
    const other = await createCheck({ name: 'hub only', probe: { kind: 'tcp', host: '127.0.0.1', port: 9 } });
    const ack = await emitAck(peers[0]!.socket, 'check:results', { results: [{ checkId: other.id, ts: Date.now(), status: 'ok', latencyMs: 1, message: 'forged', certDaysLeft: null, perfdata: [] }] });
    expect(ack).toEqual({ ok: true, data: { stored: 0, ignored: 1 } });
  });

  it('asks the machines to run it now, and tells them when it is deleted', async () => {
    const asked: string[][] = [];
    peers[0]!.socket.on('checks:run', ({ checkIds }: { checkIds: string[] }) => asked.push(checkIds));
    const ran = await runNow('edge api');
    expect(ran.requested.sort()).toEqual(['edge-a', 'edge-b', 'edge-c']);
    await waitFor(() => (asked.length > 0 ? true : undefined), 5_000, 'checks:run');
    expect(asked[0]).toEqual([checkId]);
    expect((await hub.api('DELETE', '/api/checks/edge api')).status).toBe(204);
    await waitFor(() => (peers[0]!.assigned.at(-1)!.checks.every((c) => c.id !== checkId) ? true : undefined), 5_000, 'the shorter list');
    expect((await hub.api('GET', `/api/checks/${checkId}/results`)).status).toBe(404);
  });

  it('lets a scoped role see and manage only checks that run on machines in its scope (#19)', async () => {
    const created = await hub.api('POST', '/api/users', { username: 'edgy', password: PASSWORD, role: 'operator', scope: 'role=edge' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const login = await hub.api('POST', '/api/auth/login', { username: 'edgy', password: PASSWORD, issue: 'token' }, null);
    const token = (login.body as { token: { token: string } }).token.token;
    const probe = { kind: 'tcp', host: '127.0.0.1', port: 9 };
    expect((await hub.api('POST', '/api/checks', { name: 'scoped hub', probe }, token)).status).toBe(403);
    expect((await hub.api('POST', '/api/checks', { name: 'scoped wide', probe, runOn: { selector: 'env=prod' } }, token)).status).toBe(403);
    const mine = await hub.api('POST', '/api/checks', { name: 'scoped edge', probe, runOn: { selector: 'role=edge,env=prod' } }, token);
    expect(mine.status, JSON.stringify(mine.body)).toBe(201);
    const listed = (await hub.api('GET', '/api/checks', undefined, token)).body as { checks: Check[] };
    expect(listed.checks.map((c) => c.name)).toEqual(['scoped edge']);
    expect((await hub.api('GET', '/api/checks/api', undefined, token)).status).toBe(403);
    expect((await hub.api('DELETE', '/api/checks/api', undefined, token)).status).toBe(403);
    const viewer = await hub.api('POST', '/api/users', { username: 'looker', password: PASSWORD, role: 'viewer' });
    expect(viewer.status).toBe(201);
    const viewerLogin = await hub.api('POST', '/api/auth/login', { username: 'looker', password: PASSWORD, issue: 'token' }, null);
    const viewerToken = (viewerLogin.body as { token: { token: string } }).token.token;
    expect((await hub.api('GET', '/api/checks', undefined, viewerToken)).status).toBe(200);
    expect((await hub.api('POST', '/api/checks/api/run', undefined, viewerToken)).status).toBe(403);
  });
});

/** A tiny authoritative DNS server on loopback UDP: A records from a table, NXDOMAIN otherwise. */
async function startDnsResponder(records: Record<string, string>): Promise<{ socket: UdpSocket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    let offset = 12;
    const labels: string[] = [];
    while (query[offset]! > 0) {
      labels.push(query.subarray(offset + 1, offset + 1 + query[offset]!).toString('ascii'));
      offset += query[offset]! + 1;
    }
    const question = query.subarray(12, offset + 5);
    const address = records[labels.join('.').toLowerCase()];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header.writeUInt16BE(address ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(address ? 1 : 0, 6);
    const answer = address ? Buffer.concat([Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]), Buffer.from(address.split('.').map(Number))]) : Buffer.alloc(0);
    socket.send(Buffer.concat([header, question, answer]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { socket, port: socket.address().port };
}
