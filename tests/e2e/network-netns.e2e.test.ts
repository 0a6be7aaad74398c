import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, NetworkPingResult, NetworkStatus } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, farolBin, root, tempDir, waitFor, type Proc } from './support/processes.js';

// `farol network ping` and the hub round trip (issue #19) through real links with a known
// delay: two network namespaces of this test's own, joined by a veth pair whose far side delays
// every packet by 40 ms (tc netem). The hub and agent A run in namespace A, agent B in namespace
// B; the test reaches the hub over a second veth pair from the root namespace. Addresses are
// 10.x inside these namespaces only; nothing leaves the machine.

const suffix = String(process.pid % 100_000);
const NS_A = `farol-net-a-${suffix}`;
const NS_B = `farol-net-b-${suffix}`;
const DELAY_MS = 40;
const HUB_PORT = 7_555;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}
const inNs = (ns: string, ...args: string[]): void => ip('netns', 'exec', ns, ...args);

/** Why namespaces cannot be made here, or null when they can (root and `ip netns` work). */
function namespacesUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
    execFileSync('tc', ['-V'], { stdio: 'pipe' });
    execFileSync('ping', ['-V'], { stdio: 'pipe' });
  } catch (error) {
    return `ip netns, tc or ping is not usable: ${(error as Error).message}`;
  }
  return null;
}
const unavailable = namespacesUnavailable();
if (unavailable) console.warn(`network namespace test skipped: ${unavailable}`);

const dir = tempDir('network-netns');
const procs: Proc[] = [];
const hubUrl = `http://10.201.0.2:${HUB_PORT}`;

/** A process started inside a namespace (`ip netns exec` replaces itself with it: the pid is the process's). */
function runIn(ns: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { cwd: root, env: { ...process.env, FAROL_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

async function api<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${hubUrl}${route}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

function removeNamespaces(): void {
  for (const ns of [NS_A, NS_B]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // Not there (never made, or already gone): nothing to remove.
      continue;
    }
  }
  try {
    ip('link', 'del', `fnr${suffix}`);
  } catch {
    // Deleting namespace A already removed the pair's root end.
  }
}

let linkKind = '';

async function linkWithDelay(): Promise<void> {
  ip('link', 'add', `fab${suffix}`, 'type', 'veth', 'peer', 'name', `fba${suffix}`);
  ip('link', 'set', `fab${suffix}`, 'netns', NS_A);
  ip('link', 'set', `fba${suffix}`, 'netns', NS_B);
  try {
    inNs(NS_B, 'tc', 'qdisc', 'add', 'dev', `fba${suffix}`, 'root', 'netem', 'delay', `${DELAY_MS}ms`);
    linkKind = 'veth + tc netem';
    return;
  } catch (error) {
    // "Specified qdisc kind is unknown": this kernel was built without netem (CONFIG_NET_SCH_NETEM).
    console.warn(`tc netem is not available (${(error as Error).message.trim().split('\n').at(-1)}); delaying the link with TUN devices instead`);
  }
  inNs(NS_A, 'ip', 'link', 'del', `fab${suffix}`);
  const copier = spawn('python3', [path.join(root, 'tests/e2e/support/delay-link.py'), NS_A, `fab${suffix}`, NS_B, `fba${suffix}`, String(DELAY_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  copier.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
  copier.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => copier.once('exit', (code) => resolve(code)));
  procs.push({ child: copier, output: () => said, exited, stop: async (signal = 'SIGTERM') => (copier.exitCode === null ? (copier.kill(signal), exited) : exited) });
  await waitFor(() => {
    if (copier.exitCode !== null) throw new Error(`delay-link.py exited: ${said}`);
    return said.includes('ready') || undefined;
  }, 10_000, 'the delaying link');
  linkKind = 'TUN pair + delay-link.py';
}

beforeAll(async () => {
  if (unavailable) return;
  removeNamespaces();
  ip('netns', 'add', NS_A);
  ip('netns', 'add', NS_B);
  // A <-> B, 10.200.0.0/24, where everything B sends is delayed by 40 ms: a veth pair with
  // netem on B's side, or, on a kernel without netem, two TUN devices joined by a delaying copier.
  await linkWithDelay();
  inNs(NS_A, 'ip', 'addr', 'add', '10.200.0.1/24', 'dev', `fab${suffix}`);
  inNs(NS_B, 'ip', 'addr', 'add', '10.200.0.2/24', 'dev', `fba${suffix}`);
  // Root <-> A, 10.201.0.0/30: how this test reaches the hub.
  ip('link', 'add', `fnr${suffix}`, 'type', 'veth', 'peer', 'name', `fna${suffix}`);
  ip('link', 'set', `fna${suffix}`, 'netns', NS_A);
  ip('addr', 'add', '10.201.0.1/30', 'dev', `fnr${suffix}`);
  inNs(NS_A, 'ip', 'addr', 'add', '10.201.0.2/30', 'dev', `fna${suffix}`);
  for (const [ns, links] of [
    [NS_A, [`fab${suffix}`, `fna${suffix}`, 'lo']],
    [NS_B, [`fba${suffix}`, 'lo']],
  ] as const) {
    for (const link of links) inNs(ns, 'ip', 'link', 'set', link, 'up');
  }
  ip('link', 'set', `fnr${suffix}`, 'up');

  const hub = runIn(NS_A, [farolBin, 'hub', '--port', String(HUB_PORT), '--bind', '0.0.0.0', '--data', path.join(dir.path, 'hub')], { FAROL_ADMIN_TOKEN: ADMIN_TOKEN });
  procs.push(hub);
  await waitFor(async () => {
    if (hub.child.exitCode !== null) throw new Error(`hub exited: ${hub.output()}`);
    try {
      return (await fetch(`${hubUrl}/ready`)).ok || undefined;
    } catch {
      return undefined;
    }
  }, 30_000, 'hub ready');
  const token = (await api<{ token: string }>('POST', '/api/join-tokens', { uses: 2 })).body.token;
  for (const [name, ns] of [
    ['machine-a', NS_A],
    ['machine-b', NS_B],
  ] as const) {
    procs.push(runIn(ns, [agentBundle, 'run', '--hub', 'http://10.200.0.1:' + HUB_PORT, '--token', token, '--state', path.join(dir.path, name), '--name', name, '--interval', '5s', '--reconnect-max', '1s']));
  }
  await waitFor(async () => ((await api<AgentList>('GET', '/api/agents?status=online')).body.agents.length === 2 ? true : undefined), 40_000, 'two agents online');
}, 90_000);

afterAll(async () => {
  for (const proc of procs) await proc.stop('SIGKILL');
  if (!unavailable) removeNamespaces();
  dir.remove();
});

describe.skipIf(unavailable !== null)('the network between two machines with 40 ms between them (#19)', () => {
  it('measures A -> B with farol network ping over the shared subnet, about 40 ms', async () => {
    const cli = runIn(NS_A, [farolBin, 'network', 'ping', 'machine-a', 'machine-b', '--count', '4', '--json'], { FAROL_HUB_URL: `http://10.201.0.2:${HUB_PORT}`, FAROL_TOKEN: ADMIN_TOKEN, FAROL_LOG_LEVEL: 'warn' });
    expect(await cli.exited, cli.output()).toBe(0);
    const result = JSON.parse(cli.output()) as NetworkPingResult;
    expect(result).toMatchObject({ from: { name: 'machine-a' }, to: { name: 'machine-b' }, address: '10.200.0.2', addressKind: 'lan', state: 'succeeded', sent: 4 });
    expect(result.received).toBeGreaterThanOrEqual(3);
    // netem adds 40 ms to every reply; the ceiling only catches a figure in the wrong unit.
    expect(result.rttMinMs).toBeGreaterThanOrEqual(DELAY_MS * 0.95);
    expect(result.rttAvgMs).toBeLessThan(DELAY_MS * 20);
    console.log(`network ping machine-a -> machine-b: min/avg/max ${result.rttMinMs}/${result.rttAvgMs}/${result.rttMaxMs} ms (${linkKind}, ${DELAY_MS} ms)`);
  }, 60_000);

  it('keeps machine B\'s round trip to the hub at least the 40 ms of its link', async () => {
    // The hub pings every connection every 25 s: the first figures come within about half a minute.
    const status = await waitFor(
      async () => {
        const body = (await api<NetworkStatus>('GET', '/api/network/status')).body;
        return body.machines.every((m) => m.hubRtt.lastMs !== null) ? body : undefined;
      },
      60_000,
      'round trips of both machines',
    );
    const b = status.machines.find((m) => m.name === 'machine-b')!;
    const a = status.machines.find((m) => m.name === 'machine-a')!;
    expect(b.hubRtt.lastMs).toBeGreaterThanOrEqual(DELAY_MS * 0.95);
    expect(b.lanSubnets).toEqual(['10.200.0.0/24']);
    expect(a.lanSubnets).toEqual(['10.200.0.0/24', '10.201.0.0/30']);
    console.log(`hub round trip: machine-a ${a.hubRtt.lastMs} ms, machine-b ${b.hubRtt.lastMs} ms`);
  }, 90_000);
});
