import { describe, expect, it } from 'vitest';
import type { IpAddress, TailscaleNode, TailscaleReport } from '@farol/protocol';
import { chooseAddress, groupMachines, ipv4Subnet, isPrivateAddress, lanSubnets, linkGotWorse, publicAddress, rttGotWorse, type MachineNetworkFacts } from './network-rules.js';

const ip = (address: string, prefixLength?: number, isTailscale = false): IpAddress => ({ interface: isTailscale ? 'tailscale0' : 'eth0', address, family: address.includes(':') ? 'IPv6' : 'IPv4', isTailscale, ...(prefixLength === undefined ? {} : { prefixLength }) });
const node = (hostName: string, tailscaleIps: string[], extra: Partial<TailscaleNode> = {}): TailscaleNode => ({ hostName, dnsName: `${hostName}.example.ts.net.`, os: 'linux', tailscaleIps, online: true, relay: 'fra', curAddr: '', latencyMs: null, lastHandshake: null, ...extra });
const report = (self: TailscaleNode, peers: TailscaleNode[]): TailscaleReport => ({ backendState: 'Running', tailnet: 'example.ts.net', self, peers, peersCut: false });
const machine = (agentId: string, ips: IpAddress[], extra: Partial<MachineNetworkFacts> = {}): MachineNetworkFacts => ({ agentId, ips, remoteAddress: null, tailscale: null, ...extra });

describe('which network a machine is on (#19)', () => {
  it('computes IPv4 subnets from the prefix length, /24 when an older agent sent none', () => {
    expect(ipv4Subnet('10.1.2.77', 16)).toBe('10.1.0.0/16');
    expect(ipv4Subnet('192.168.5.9')).toBe('192.168.5.0/24');
    expect(lanSubnets([ip('10.0.0.5', 8), ip('100.100.1.1', 32, true), ip('8.8.4.4', 24), ip('169.254.3.3', 16)])).toEqual(['10.0.0.0/8']);
  });

  it('tells private from public addresses', () => {
    for (const address of ['10.2.3.4', '172.20.0.1', '192.168.1.1', '127.0.0.1', '100.64.1.1', 'fd00::1', 'fe80::1', '::1']) expect(isPrivateAddress(address), address).toBe(true);
    for (const address of ['8.8.8.8', '172.32.0.1', '2001:db8::1']) expect(isPrivateAddress(address), address).toBe(false);
    expect(publicAddress({ ips: [ip('10.0.0.5', 24)], remoteAddress: '::ffff:203.0.113.9' })).toBe('203.0.113.9');
    expect(publicAddress({ ips: [ip('10.0.0.5', 24)], remoteAddress: '127.0.0.1' })).toBeNull();
  });

  it('groups machines by tailnet, LAN subnet and public address', () => {
    const a = machine('ag_a', [ip('192.168.1.10', 24), ip('100.64.0.1', 32, true)], { remoteAddress: '203.0.113.9', tailscale: report(node('a', ['100.64.0.1']), [node('b', ['100.64.0.2'])]) });
    const b = machine('ag_b', [ip('192.168.1.11', 24)], { remoteAddress: '203.0.113.9', tailscale: report(node('b', ['100.64.0.2']), []) });
    const c = machine('ag_c', [ip('10.9.0.4', 16)], { remoteAddress: '198.51.100.7' });
    // A machine without tailscale status but with a tailnet address another machine lists as a peer.
    const d = machine('ag_d', [ip('100.64.0.9', 32, true)]);
    const e = machine('ag_e', [ip('10.9.200.1', 16)], { tailscale: null });
    a.tailscale!.peers.push(node('d', ['100.64.0.9']));
    expect(groupMachines([a, b, c, d, e])).toEqual([
      { kind: 'tailnet', key: 'example.ts.net', agentIds: ['ag_a', 'ag_b', 'ag_d'] },
      { kind: 'lan', key: '10.9.0.0/16', agentIds: ['ag_c', 'ag_e'] },
      { kind: 'lan', key: '192.168.1.0/24', agentIds: ['ag_a', 'ag_b'] },
      { kind: 'public', key: '198.51.100.7', agentIds: ['ag_c'] },
      { kind: 'public', key: '203.0.113.9', agentIds: ['ag_a', 'ag_b'] },
    ]);
  });
});

describe('which address network ping uses (#19)', () => {
  const onTailnet = (id: string, tsIp: string, lan: string) => machine(id, [ip(lan, 24), ip(tsIp, 32, true)], { tailscale: report(node(id, [tsIp]), []) });

  it('prefers the tailnet address when both are on the tailnet', () => {
    const a = onTailnet('ag_a', '100.64.0.1', '192.168.1.10');
    const b = onTailnet('ag_b', '100.64.0.2', '192.168.1.11');
    expect(chooseAddress(a, b, [a, b])).toEqual({ address: '100.64.0.2', kind: 'tailnet' });
  });

  it('uses an address in a subnet both share when they are not both on the tailnet', () => {
    const a = machine('ag_a', [ip('10.200.0.1', 24), ip('10.201.0.2', 30)]);
    const b = machine('ag_b', [ip('172.16.0.3', 24), ip('10.200.0.2', 24)], { remoteAddress: '198.51.100.7' });
    expect(chooseAddress(a, b, [a, b])).toEqual({ address: '10.200.0.2', kind: 'lan' });
  });

  it('falls back to the public address, and to nothing', () => {
    const a = machine('ag_a', [ip('10.0.0.1', 24)]);
    const b = machine('ag_b', [ip('192.168.7.7', 24)], { remoteAddress: '198.51.100.7' });
    expect(chooseAddress(a, b, [a, b])).toEqual({ address: '198.51.100.7', kind: 'public' });
    expect(chooseAddress(a, machine('ag_c', [ip('192.168.7.8', 24)]), [a])).toBeNull();
  });
});

describe('a link that got worse (#19)', () => {
  const minutes = (n: number, value: number) => Array.from({ length: n }, () => value);

  it('flags a hub round trip whose last 15 min median is well above its 24 h median', () => {
    expect(rttGotWorse(minutes(15, 95), minutes(600, 30))).toEqual({ worse: true, recentP50: 95, baselineP50: 30 });
  });

  it('does not flag a small absolute change, nor judge without enough minutes', () => {
    // 0.4 -> 1.2 ms is three times as much but 0.8 ms more: a LAN machine, not a problem.
    expect(rttGotWorse(minutes(15, 1.2), minutes(600, 0.4)).worse).toBe(false);
    expect(rttGotWorse(minutes(15, 45), minutes(600, 30)).worse).toBe(false);
    expect(rttGotWorse(minutes(2, 500), minutes(600, 30)).worse).toBe(false);
    expect(rttGotWorse(minutes(15, 500), minutes(10, 30)).worse).toBe(false);
  });

  it('flags a link relayed now that was direct within 24 hours', () => {
    const now = 1_000_000_000_000;
    expect(linkGotWorse({ direct: false, online: true }, now - 3_600_000, now)).toBe(true);
    expect(linkGotWorse({ direct: false, online: true }, now - 25 * 3_600_000, now)).toBe(false);
    expect(linkGotWorse({ direct: false, online: true }, null, now)).toBe(false);
    expect(linkGotWorse({ direct: true, online: true }, now, now)).toBe(false);
    expect(linkGotWorse({ direct: false, online: false }, now - 60_000, now)).toBe(false);
  });
});
