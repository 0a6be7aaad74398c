import { describe, expect, it } from 'vitest';
import { parsePingOutput } from '../remote/network-ping.command.js';
import { reduceTailscaleStatus } from './tailscale.collector.js';

/** Shaped like `tailscale status --json` of tailscale 1.7x (fields the agent does not use trimmed). */
const STATUS = {
  Version: '1.76.1-t1234',
  BackendState: 'Running',
  Self: { ID: 'n1', HostName: 'edge-1', DNSName: 'edge-1.example.ts.net.', OS: 'linux', TailscaleIPs: ['100.64.0.1', 'fd7a:115c:a1e0::1'], Online: true, Relay: 'fra', CurAddr: '', LastHandshake: '0001-01-01T00:00:00Z' },
  MagicDNSSuffix: 'example.ts.net',
  CurrentTailnet: { Name: 'example.ts.net', MagicDNSSuffix: 'example.ts.net', MagicDNSEnabled: true },
  Peer: {
    'nodekey:2': { HostName: 'db-1', DNSName: 'db-1.example.ts.net.', OS: 'linux', TailscaleIPs: ['100.64.0.2'], Online: true, Relay: 'fra', CurAddr: '192.168.1.11:41641', LastHandshake: '2026-12-06T11:00:00Z', RxBytes: 100 },
    'nodekey:3': { HostName: 'laptop', DNSName: 'laptop.example.ts.net.', OS: 'macOS', TailscaleIPs: ['100.64.0.3', 'not-an-ip; rm -rf /'], Online: true, Relay: 'nyc', CurAddr: '' },
  },
};

describe('tailscale status (#19)', () => {
  it('reduces tailscale status --json to self, peers and whether each goes direct', () => {
    const report = reduceTailscaleStatus(JSON.stringify(STATUS));
    expect(report).toMatchObject({ backendState: 'Running', tailnet: 'example.ts.net', peersCut: false, self: { hostName: 'edge-1', tailscaleIps: ['100.64.0.1', 'fd7a:115c:a1e0::1'], lastHandshake: null } });
    expect(report.peers.map((p) => [p.hostName, p.curAddr, p.relay, p.tailscaleIps])).toEqual([
      ['db-1', '192.168.1.11:41641', 'fra', ['100.64.0.2']],
      ['laptop', '', 'nyc', ['100.64.0.3']],
    ]);
    expect(report.peers[0]!.lastHandshake).toBe(Date.parse('2026-12-06T11:00:00Z'));
  });

  it('refuses text that is not a status', () => {
    expect(() => reduceTailscaleStatus('{"BackendState":"NeedsLogin"}')).toThrow(/no Self/);
    expect(() => reduceTailscaleStatus('not json')).toThrow();
  });
});

describe('network_ping output (#19)', () => {
  it('reads the round trips of iputils ping, lost replies included', () => {
    const out = 'PING 10.200.0.2 (10.200.0.2) 56(84) bytes of data.\n64 bytes from 10.200.0.2: icmp_seq=1 ttl=64 time=40.3 ms\n64 bytes from 10.200.0.2: icmp_seq=3 ttl=64 time=41.9 ms\n\n--- 10.200.0.2 ping statistics ---\n3 packets transmitted, 2 received, 33% packet loss\n';
    expect(parsePingOutput('10.200.0.2', 3, out)).toEqual({ kind: 'network_ping', host: '10.200.0.2', sent: 3, received: 2, rttMinMs: 40.3, rttAvgMs: 41.1, rttMaxMs: 41.9 });
    expect(parsePingOutput('10.200.0.2', 3, '')).toMatchObject({ received: 0, rttAvgMs: null });
  });
});
