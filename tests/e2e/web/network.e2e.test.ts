import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, NetworkRttHistory, NetworkStatus, NetworkTopology } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

/**
 * The Network page (issue #19) in a real browser, against a hub process and two agent
 * processes. No tailnet exists here: each agent finds a stand-in `tailscale` on its PATH that
 * prints a recorded `tailscale status --json` (the shape of tailscale 1.76). The topology must
 * group the two machines on their tailnet and show one link direct, the other relayed, in the
 * dashboard (English and Portuguese) and in `farol network topology` / `status`.
 */
const dir = tempDir('web-network');
let hub: Proc & { url: string };
const agents: Proc[] = [];
let browser: Browser;
let page: Page;
let problems: PageProblems;
const topologyIds = new Map<string, string>();

const TAILNET = 'tail-e2e.ts.net';
const peer = (host: string, ips: string[], relay: string, curAddr: string, os = 'linux') => ({
  ID: `n-${host}`,
  PublicKey: `nodekey:${host.padEnd(64, '0').slice(0, 64)}`,
  HostName: host,
  DNSName: `${host}.${TAILNET}.`,
  OS: os,
  UserID: 101,
  TailscaleIPs: ips,
  AllowedIPs: ips.map((ip) => `${ip}/32`),
  Addrs: curAddr ? [curAddr] : null,
  CurAddr: curAddr,
  Relay: relay,
  RxBytes: 123_456,
  TxBytes: 98_765,
  Created: '2026-01-10T08:00:00Z',
  LastWrite: '2026-12-06T11:58:00Z',
  LastSeen: '2026-12-06T11:58:00Z',
  LastHandshake: curAddr ? '2026-12-06T11:58:30Z' : '0001-01-01T00:00:00Z',
  Online: true,
  ExitNode: false,
  ExitNodeOption: false,
  Active: true,
  InNetworkMap: true,
  InMagicSock: true,
  InEngine: true,
});
const status = (self: ReturnType<typeof peer>, peers: Array<ReturnType<typeof peer>>) => ({
  Version: '1.76.6-t1a2b3c4d',
  TUN: true,
  BackendState: 'Running',
  HaveNodeKey: true,
  AuthURL: '',
  TailscaleIPs: self.TailscaleIPs,
  Self: self,
  Health: [],
  MagicDNSSuffix: TAILNET,
  CurrentTailnet: { Name: TAILNET, MagicDNSSuffix: TAILNET, MagicDNSEnabled: true },
  CertDomains: null,
  Peer: Object.fromEntries(peers.map((p) => [p.PublicKey, p])),
  User: { '101': { ID: 101, LoginName: 'ops@example.com', DisplayName: 'Ops' } },
  ClientVersion: null,
});

/** A directory with a `tailscale` that prints `recorded` for `status --json` and fails otherwise. */
function standInTailscale(name: string, recorded: unknown): string {
  const bin = path.join(dir.path, `${name}-bin`);
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'status.json'), JSON.stringify(recorded, null, 2));
  writeFileSync(path.join(bin, 'tailscale'), `#!/bin/sh\n[ "$1" = status ] && [ "$2" = --json ] || { echo "stand-in: only status --json" >&2; exit 2; }\nexec cat "${path.join(bin, 'status.json')}"\n`);
  chmodSync(path.join(bin, 'tailscale'), 0o755);
  return bin;
}

function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = run([farolBin, ...args], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN, FAROL_LOG_LEVEL: 'warn' } });
  return proc.exited.then((code) => ({ code, output: proc.output() }));
}

beforeAll(async () => {
  const port = await freePort();
  hub = await startHubProcess(path.join(dir.path, 'hub'), port);
  const token = await joinToken(hub.url, { uses: 2 });
  const a = peer('net-alpha', ['100.64.0.11', 'fd7a:115c:a1e0::11'], 'fra', '');
  // bravo's tailnet address is a loopback one, so the ping the page runs to it stays on this machine.
  const b = peer('net-bravo', ['127.0.0.12', 'fd7a:115c:a1e0::12'], 'ams', '');
  const nas = peer('nas-box', ['100.64.0.30'], 'fra', '', 'freebsd');
  const bins = {
    // alpha reaches bravo directly and the NAS (no agent) through the NAS's home relay (fra);
    // bravo reaches alpha through alpha's home relay (fra): `Relay` is the peer's DERP region.
    'net-alpha': standInTailscale('alpha', status(a, [{ ...b, CurAddr: '192.168.50.12:41641', Addrs: ['192.168.50.12:41641'] }, nas])),
    'net-bravo': standInTailscale('bravo', status(b, [a])),
  };
  for (const [name, bin] of Object.entries(bins)) {
    agents.push(run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, name), '--name', name, '--interval', '2s', '--reconnect-max', '1s'], { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } }));
  }
  const [, started] = await Promise.all([
    waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.length === 2 ? true : undefined), 30_000, 'two agents online'),
    launchChromium(),
  ]);
  browser = started;
  ({ page, problems } = await openDashboard(browser, { hub: hub.url, timeoutMs: 20_000, signIn: { storedToken: ADMIN_TOKEN } }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const agent of agents) await agent.stop();
  await hub?.stop();
  dir.remove();
});

describe('the network view from a recorded tailscale status (#19)', () => {
  it('groups both machines on their tailnet and shows which link is direct and which relayed', async () => {
    const topology = await waitFor(
      async () => {
        const body = (await api<NetworkTopology>(hub.url, 'GET', '/api/network/topology')).body;
        return body.groups.some((g) => g.kind === 'tailnet' && g.agentIds.length === 2) && body.links.length === 3 ? body : undefined;
      },
      30_000,
      'both tailscale reports',
    );
    const names = new Map(topology.machines.map((m) => [m.agentId, m.name]));
    for (const m of topology.machines) topologyIds.set(m.name, m.agentId);
    expect(topology.groups.find((g) => g.kind === 'tailnet')).toMatchObject({ key: TAILNET });
    expect(topology.links.map((l) => [names.get(l.from), l.to ? names.get(l.to) : `${l.peerName} (no agent)`, l.direct ? 'direct' : `relayed via ${l.relay}`]).sort()).toEqual([
      ['net-alpha', 'nas-box (no agent)', 'relayed via fra'],
      ['net-alpha', 'net-bravo', 'direct'],
      ['net-bravo', 'net-alpha', 'relayed via fra'],
    ]);

    const table = await cli(['network', 'topology']);
    expect(table.code, table.output).toBe(0);
    expect(table.output).toMatch(new RegExp(`${TAILNET.replace(/\./g, '\\.')}\\s+tailnet\\s+net-alpha, net-bravo`));
    expect(table.output).toMatch(/net-alpha\s+net-bravo\s+direct\s+192\.168\.50\.12:41641/);
    expect(table.output).toMatch(/net-bravo\s+net-alpha\s+relayed\s+DERP fra/);
    expect(table.output).toContain('nas-box (no agent)');
    const json = await cli(['network', 'status', '--json']);
    expect(json.code, json.output).toBe(0);
    const statusBody = JSON.parse(json.output) as NetworkStatus;
    expect(statusBody.machines.find((m) => m.name === 'net-alpha')).toMatchObject({ tailnet: TAILNET, tailscaleIps: ['100.64.0.11', 'fd7a:115c:a1e0::11'], directLinks: 1, relayedLinks: 1, worse: false });
  });

  it('shows the Network page with its networks, machines, links and a round-trip chart', async () => {
    // The hub times its heartbeat every 25 s: wait for each machine's first round trip.
    for (const name of ['net-alpha', 'net-bravo']) {
      await waitFor(async () => ((await api<NetworkRttHistory>(hub.url, 'GET', `/api/network/rtt/${name}?hours=1`)).body.points.length > 0 ? true : undefined), 45_000, `a round trip of ${name}`);
    }
    await page.goto(`${hub.url}/`);
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Network' }).click();
    await page.waitForURL('**/network');
    const tailnet = page.locator(`[data-testid=network-group][data-kind=tailnet][data-key="${TAILNET}"]`);
    await tailnet.locator('[data-testid=network-group-machine][data-name=net-bravo]').waitFor();
    expect(await tailnet.locator('[data-testid=network-group-machine]').count()).toBe(2);
    await page.locator('[data-testid=network-link][data-from=net-alpha][data-to=net-bravo][data-path=direct]').waitFor();
    await page.locator('[data-testid=network-link][data-from=net-bravo][data-to=net-alpha][data-path=relayed]').getByText('DERP fra').waitFor();
    await page.locator('[data-testid=network-link][data-to=nas-box]').getByText('(no agent)').waitFor();
    expect(await page.locator('[data-testid=network-machine]').count()).toBe(2);

    // The hub round-trip chart of the machine picked, per minute over the last hour, per hour over the week.
    const rtt = page.locator('[data-testid=network-rtt-history]');
    await page.getByLabel('Machine', { exact: true }).selectOption({ label: 'net-bravo' });
    await page.locator('[data-testid=network-rtt-history][data-resolution="1m"] [data-testid=network-rtt-history-chart] canvas').waitFor();
    const bravoId = topologyIds.get('net-bravo')!;
    expect(await rtt.getAttribute('data-agent')).toBe(bravoId);
    expect(Number(await rtt.getAttribute('data-points'))).toBeGreaterThanOrEqual(1);
    await rtt.getByRole('radio', { name: '7 d' }).click();
    await page.locator('[data-testid=network-rtt-history][data-range="7d"][data-resolution="1h"] [data-testid=network-rtt-history-chart] canvas').waitFor();
    expect(Number(await rtt.getAttribute('data-points'))).toBeGreaterThanOrEqual(1);

    // Ping from one machine to the other: the hub picks bravo's tailnet address, alpha's agent runs ping.
    const ping = page.locator('[data-testid=network-ping]');
    await ping.getByLabel('From').selectOption({ label: 'net-alpha' });
    await ping.getByLabel('To').selectOption({ label: 'net-bravo' });
    await ping.getByRole('button', { name: 'Ping' }).click();
    const result = ping.locator('[data-testid=network-ping-result][data-state=succeeded]');
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toContain('net-alpha → net-bravo (127.0.0.12, tailnet)');
    expect(await result.locator('[data-testid=network-ping-loss]').textContent()).toContain('0 % (4/4)');
    expect(await result.locator('[data-testid=network-ping-avg]').textContent()).toMatch(/\d ms/);
    expect(problems.errors).toEqual([]);
    expect(await cspViolations(page, problems)).toEqual([]);

    // The same page in Portuguese.
    const { context, ...watched } = await openDashboard(browser, { hub: hub.url, context: { locale: 'pt-BR' }, signIn: { storedToken: ADMIN_TOKEN } });
    await watched.page.goto(`${hub.url}/network`);
    await watched.page.getByRole('heading', { name: 'Rede', level: 1 }).waitFor();
    await watched.page.locator('[data-testid=network-link][data-path=relayed]').first().getByText('retransmitido').waitFor();
    await watched.page.getByRole('heading', { name: 'Ida e volta ao hub' }).waitFor();
    await watched.page.getByRole('heading', { name: 'Ping entre máquinas' }).waitFor();
    expect(watched.problems.errors).toEqual([]);
    await context.close();
  });

  it('says why a ping could not run (409 when the machine that pings is offline) and offers no form without commands:exec', async () => {
    // A viewer sees the page but not the form (the hub would refuse it with 403 anyway).
    const created = await api(hub.url, 'POST', '/api/users', { username: 'net-viewer', password: 'correct horse battery staple', role: 'viewer' });
    expect(created.status).toBe(201);
    const login = await api<{ token: { token: string } }>(hub.url, 'POST', '/api/auth/login', { username: 'net-viewer', password: 'correct horse battery staple', issue: 'token' });
    const { context: viewerContext, ...viewer } = await openDashboard(browser, { hub: hub.url, signIn: { storedToken: login.body.token.token } });
    await viewer.page.goto(`${hub.url}/network`);
    await viewer.page.locator('[data-testid=network-rtt-history]').waitFor();
    expect(await viewer.page.locator('[data-testid=network-ping]').count()).toBe(0);
    await viewerContext.close();

    await agents[1]!.stop();
    await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.length === 1 ? true : undefined), 30_000, 'net-bravo offline');
    const ping = page.locator('[data-testid=network-ping]');
    await ping.getByLabel('From').selectOption({ label: 'net-bravo' });
    await ping.getByLabel('To').selectOption({ label: 'net-alpha' });
    await ping.getByRole('button', { name: 'Ping' }).click();
    const error = ping.locator('[data-testid=network-ping-error]');
    await error.waitFor();
    expect(await error.textContent()).toBe('Ping failed: net-bravo is not connected; network ping runs on it');
    expect(problems.errors).toEqual([]);
  });
});
