import Database from 'better-sqlite3';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditList, CommandRun, IpAddress, NetworkPingResult, NetworkRttHistory, NetworkStatus, NetworkTopology, SystemInfo, TailscaleNode, TailscaleReport } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { isPostgresRun } from '../../testing/postgres-test-db.js';
import { connectPeer, emitAck, enrollPeer, newChallenge, readCommandRun, systemInfo, type PeerIdentity } from '../../testing/protocol-peer.js';

// The network view (issue #19) against a real hub (SQLite, and PostgreSQL under int-pg) with
// hand-driven agents: their interfaces, their tailscale status, scope on every object, and the
// hub's round trips measured from the Engine.IO heartbeat (every 25 s).

let hub: HubFixture;
const PASSWORD = 'correct horse battery staple';
interface Peer {
  identity: PeerIdentity;
  socket: Socket;
  runs: CommandRun[];
}
const peers = new Map<string, Peer>();

const ip = (address: string, prefixLength: number, isTailscale = false): IpAddress => ({ interface: isTailscale ? 'tailscale0' : 'eth0', address, family: 'IPv4', isTailscale, prefixLength });
const node = (hostName: string, tailscaleIps: string[], extra: Partial<TailscaleNode> = {}): TailscaleNode => ({ hostName, dnsName: `${hostName}.example.ts.net.`, os: 'linux', tailscaleIps, online: true, relay: 'fra', curAddr: '', latencyMs: null, lastHandshake: null, ...extra });
const report = (self: TailscaleNode, peerNodes: TailscaleNode[]): TailscaleReport => ({ backendState: 'Running', tailnet: 'example.ts.net', self, peers: peerNodes, peersCut: false });

async function addPeer(name: string, labels: Record<string, string>, ips: IpAddress[]): Promise<Peer> {
  const token = await hub.createJoinToken({ labels });
  const identity = await enrollPeer(hub.url, token, name);
  const connected = await connectPeer(hub.url, identity);
  if (!connected.socket) throw new Error(connected.error.message);
  const peer: Peer = { identity, socket: connected.socket, runs: [] };
  connected.socket.on('command:run', (run: CommandRun) => peer.runs.push(run));
  const system: SystemInfo = { ...systemInfo(name), ips };
  const helloAck = await emitAck(connected.socket, 'agent:hello', { system, heartbeatIntervalMs: 10_000, challenge: newChallenge() });
  expect(helloAck).toMatchObject({ ok: true });
  peers.set(name, peer);
  return peer;
}

async function operatorToken(username: string, role: string, scope?: string): Promise<string> {
  const created = await hub.api('POST', '/api/users', { username, password: PASSWORD, role, ...(scope ? { scope } : {}) });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const login = await hub.api('POST', '/api/auth/login', { username, password: PASSWORD, issue: 'token' }, null);
  return (login.body as { token: { token: string } }).token.token;
}

beforeAll(async () => {
  hub = await startHubFixture();
  await addPeer('prod-1', { env: 'prod' }, [ip('192.168.1.10', 24), ip('100.64.0.1', 32, true)]);
  await addPeer('stg-1', { env: 'staging' }, [ip('192.168.1.11', 24), ip('100.64.0.2', 32, true)]);
  await addPeer('stg-2', { env: 'staging' }, [ip('10.50.0.2', 24)]);
}, 60_000);

afterAll(async () => {
  for (const peer of peers.values()) peer.socket.close();
  await hub?.stop();
});

const idOf = (name: string): string => peers.get(name)!.identity.agentId;

describe('the network view (#19)', () => {
  it('groups machines by tailnet and LAN subnet and shows direct and relayed links; a link gone relayed got worse', async () => {
    expect(await emitAck(peers.get('prod-1')!.socket, 'tailscale:report', report(node('prod-1', ['100.64.0.1']), [node('stg-1', ['100.64.0.2'], { curAddr: '192.168.1.11:41641' }), node('laptop', ['100.64.0.7'], { relay: 'nyc' })]))).toEqual({ ok: true, data: {} });
    const stg1 = peers.get('stg-1')!.socket;
    expect(await emitAck(stg1, 'tailscale:report', report(node('stg-1', ['100.64.0.2']), [node('prod-1', ['100.64.0.1'], { curAddr: '192.168.1.10:41641' })]))).toMatchObject({ ok: true });
    expect(await emitAck(stg1, 'tailscale:report', report(node('stg-1', ['100.64.0.2']), [node('prod-1', ['100.64.0.1'], { relay: 'fra' })]))).toMatchObject({ ok: true });
    // The machine's word is checked: a peer "address" that is not an IP is refused.
    const bad = await emitAck(stg1, 'tailscale:report', report(node('stg-1', ['100.64.0.2']), [node('x', ['$(reboot)'])]));
    expect(bad).toMatchObject({ ok: false, error: { code: 'validation_failed' } });

    const topology = (await hub.api('GET', '/api/network/topology')).body as NetworkTopology;
    expect(topology.groups).toEqual([
      { kind: 'tailnet', key: 'example.ts.net', agentIds: [idOf('prod-1'), idOf('stg-1')] },
      { kind: 'lan', key: '10.50.0.0/24', agentIds: [idOf('stg-2')] },
      { kind: 'lan', key: '192.168.1.0/24', agentIds: [idOf('prod-1'), idOf('stg-1')] },
    ]);
    const links = topology.links.map((l) => ({ from: l.from, to: l.to, peer: l.peerName, direct: l.direct, relay: l.relay, worse: l.worse }));
    expect(links).toEqual(
      expect.arrayContaining([
        { from: idOf('prod-1'), to: idOf('stg-1'), peer: 'stg-1', direct: true, relay: 'fra', worse: false },
        { from: idOf('prod-1'), to: null, peer: 'laptop', direct: false, relay: 'nyc', worse: false },
        { from: idOf('stg-1'), to: idOf('prod-1'), peer: 'prod-1', direct: false, relay: 'fra', worse: true },
      ]),
    );
    const status = (await hub.api('GET', '/api/network/status')).body as NetworkStatus;
    const stg = status.machines.find((m) => m.name === 'stg-1')!;
    expect(stg).toMatchObject({ worse: true, tailnet: 'example.ts.net', tailscaleIps: ['100.64.0.2'], lanSubnets: ['192.168.1.0/24'], directLinks: 0, relayedLinks: 1 });
    // A code with its figures (the dashboard words it in the reader's language, issue #19).
    expect(stg.reasons).toEqual([{ code: 'link_relayed', peerName: 'prod-1', relay: 'fra' }]);
    expect(status.machines.find((m) => m.name === 'prod-1')).toMatchObject({ worse: false, directLinks: 1, relayedLinks: 1 });
  });

  it('pings from one machine to the other\'s tailnet address as a signed job, audited', async () => {
    const asked = hub.api('POST', '/api/network/ping', { from: 'stg-1', to: 'prod-1', count: 3 });
    const stg1 = peers.get('stg-1')!;
    const run = await waitFor(() => stg1.runs.at(-1), 10_000, 'the network_ping command');
    const claims = readCommandRun(run);
    expect(claims.command).toEqual({ kind: 'network_ping', host: '100.64.0.1', count: 3 });
    const now = Date.now();
    expect(
      await emitAck(stg1.socket, 'command:result', {
        commandId: claims.commandId,
        state: 'succeeded',
        exitCode: 0,
        signal: null,
        stdout: '',
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        data: { kind: 'network_ping', host: '100.64.0.1', sent: 3, received: 3, rttMinMs: 11.5, rttAvgMs: 12.25, rttMaxMs: 13 },
        startedAt: now - 2_000,
        endedAt: now,
        error: null,
      }),
    ).toMatchObject({ ok: true });
    const answer = await asked;
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body as NetworkPingResult).toMatchObject({ from: { name: 'stg-1' }, to: { name: 'prod-1' }, address: '100.64.0.1', addressKind: 'tailnet', state: 'succeeded', received: 3, rttAvgMs: 12.25 });
    const audit = (await hub.api('GET', '/api/audit?limit=20')).body as AuditList;
    expect(audit.entries.find((e) => e.action === 'network.ping')).toMatchObject({ actor: 'admin', agentId: idOf('stg-1'), details: expect.objectContaining({ to: 'prod-1', address: '100.64.0.1', rttAvgMs: 12.25 }) });

    // No shared network and no public address: said, not guessed.
    const none = await hub.api('POST', '/api/network/ping', { from: 'stg-1', to: 'stg-2' });
    expect(none.status).toBe(409);
    expect((await hub.api('POST', '/api/network/ping', { from: 'stg-1', to: 'stg-1' })).status).toBe(400);
    expect((await hub.api('POST', '/api/network/ping', { from: 'stg-1', to: 'nowhere' })).status).toBe(404);
    expect((await hub.api('POST', '/api/network/ping', { from: 'stg-1', to: 'prod-1', count: 500 })).status).toBe(400);
  });

  it('shows a scoped operator only its machines and refuses a ping from or to one outside its scope', async () => {
    const token = await operatorToken('stager', 'operator', 'env=staging');
    const topology = (await hub.api('GET', '/api/network/topology', undefined, token)).body as NetworkTopology;
    expect(topology.machines.map((m) => m.name)).toEqual(['stg-1', 'stg-2']);
    expect(topology.groups.flatMap((g) => g.agentIds)).not.toContain(idOf('prod-1'));
    expect(JSON.stringify(topology)).not.toContain('prod-1');
    expect(JSON.stringify((await hub.api('GET', '/api/network/status', undefined, token)).body)).not.toContain('prod-1');
    const refused = await hub.api('POST', '/api/network/ping', { from: 'stg-1', to: 'prod-1' }, token);
    expect(refused.status).toBe(403);
    expect((await hub.api('POST', '/api/network/ping', { from: 'prod-1', to: 'stg-1' }, token)).status).toBe(403);
    expect((await hub.api('GET', `/api/network/rtt/${idOf('prod-1')}`, undefined, token)).status).toBe(403);
    expect(peers.get('prod-1')!.runs).toHaveLength(0);

    const viewer = await operatorToken('watcher', 'viewer');
    expect((await hub.api('GET', '/api/network/topology', undefined, viewer)).status).toBe(200);
    expect((await hub.api('POST', '/api/network/ping', { from: 'stg-1', to: 'prod-1' }, viewer)).status).toBe(403);
  });

  it('measures each agent\'s round trip to the hub and keeps it: status, /metrics and history', async () => {
    // The hub pings every connection every 25 s; the peers' Socket.IO clients answer.
    const machine = await waitFor(
      async () => ((await hub.api('GET', '/api/network/status')).body as NetworkStatus).machines.find((m) => m.name === 'stg-2' && m.hubRtt.lastMs !== null),
      40_000,
      'a round trip for stg-2',
    );
    expect(machine.hubRtt.lastMs).toBeGreaterThanOrEqual(0);
    const metrics = (await hub.api('GET', '/metrics')).body as string;
    expect(metrics).toMatch(new RegExp(`farol_agent_hub_rtt_seconds\\{agent_id="${idOf('stg-2')}",name="stg-2"[^}]*\\} [0-9.e-]+`));
    // Gone from this hub: its round trips are stored at once, kept as history.
    peers.get('stg-2')!.socket.close();
    const history = await waitFor(
      async () => {
        const answer = (await hub.api('GET', `/api/network/rtt/stg-2?hours=1`)).body as NetworkRttHistory;
        return answer.points.length > 0 ? answer : undefined;
      },
      10_000,
      'stored round trips of stg-2',
    );
    expect(history).toMatchObject({ agentId: idOf('stg-2'), resolution: '1m' });
    expect(history.points[0]!.n).toBeGreaterThanOrEqual(1);
    expect(((await hub.api('GET', `/api/network/rtt/stg-2?hours=200`)).body as NetworkRttHistory)).toMatchObject({ resolution: '1h', points: [expect.objectContaining({ n: history.points[0]!.n })] });
    const after = ((await hub.api('GET', '/api/network/status')).body as NetworkStatus).machines.find((m) => m.name === 'stg-2')!;
    // Offline now: the newest round trip comes from the database, one of its last minute's.
    const lastMinute = history.points.at(-1)!;
    expect(after.hubRtt.lastMs).toBeGreaterThanOrEqual(lastMinute.minMs);
    expect(after.hubRtt.lastMs).toBeLessThanOrEqual(lastMinute.maxMs);
  }, 60_000);

  it('deletes a removed machine\'s round trips, network facts and tailnet links', async () => {
    const gone = [idOf('stg-1'), idOf('stg-2')];
    // The rows themselves are read from the SQLite file (the service test checks PostgreSQL too).
    const db = isPostgresRun() ? null : new Database(hub.databaseFile, { readonly: true });
    const count = (agentIds: string[]): number =>
      ['network_rtt_1m', 'network_rtt_1h', 'network_agents', 'network_peer_links']
        .map((table) => (db!.prepare(`select count(*) as n from ${table} where agent_id in (${agentIds.map(() => '?').join(', ')})`).get(...agentIds) as { n: number }).n)
        .reduce((a, b) => a + b, 0);
    try {
      // stg-1 has its tailscale report and peer links, stg-2 its round trips (the tests before).
      if (db) expect(count(gone)).toBeGreaterThanOrEqual(4);
      expect((await hub.api('DELETE', '/api/agents/stg-1')).status).toBe(204);
      expect((await hub.api('DELETE', '/api/agents/stg-2')).status).toBe(204);
      const status = (await hub.api('GET', '/api/network/status')).body as NetworkStatus;
      expect(status.machines.map((m) => m.name)).toEqual(['prod-1']);
      if (!db) return;
      await waitFor(() => (count(gone) === 0 ? true : undefined), 10_000, 'the removed machines\' network rows deleted');
      expect(count([idOf('prod-1')])).toBeGreaterThanOrEqual(1);
    } finally {
      db?.close();
    }
  });
});
