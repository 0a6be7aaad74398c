import { describe, expect, it } from 'vitest';
import type { NetworkMachine, NetworkTopology } from '@farol/protocol';
import { renderNetworkPing } from './network-ping.js';
import { renderNetworkStatus } from './network-status.js';
import { renderNetworkTopology } from './network-topology.js';

const machine = (name: string, extra: Partial<NetworkMachine> = {}): NetworkMachine => ({
  agentId: `ag_${name.padEnd(16, '0')}`,
  name,
  status: 'online',
  labels: {},
  hubRtt: { lastMs: 41.25, lastAt: 1, recentP50Ms: 40.5, baselineP50Ms: 12 },
  tailnet: 'example.ts.net',
  tailscaleIps: ['100.64.0.1'],
  lanSubnets: ['10.200.0.0/24'],
  publicAddress: null,
  directLinks: 1,
  relayedLinks: 0,
  worse: false,
  reasons: [],
  ...extra,
});

describe('farol network (#19)', () => {
  it('prints each machine\'s round trips and says why one got worse', () => {
    const text = renderNetworkStatus([machine('alpha'), machine('bravo', { worse: true, relayedLinks: 1, directLinks: 0, reasons: [{ code: 'link_relayed', peerName: 'alpha', relay: 'fra' }, { code: 'hub_rtt_up', recentP50Ms: 120, baselineP50Ms: 31.04 }] })]);
    expect(text).toMatch(/^NAME\s+STATUS\s+HUB RTT\s+P50 15M\s+P50 24H/);
    expect(text).toMatch(/alpha\s+online\s+41\.3 ms\s+40\.5 ms\s+12\.0 ms\s+example\.ts\.net\s+10\.200\.0\.0\/24\s+-\s+1 direct, 0 relayed\s+ok/);
    expect(text).toMatch(/bravo .*0 direct, 1 relayed\s+WORSE/);
    expect(text).toContain('bravo: link to alpha is relayed via DERP fra; it was direct within 24 h');
    expect(text).toContain('bravo: hub round trip 120.0 ms over the last 15 min, usually 31.0 ms');
  });

  it('prints networks with their machines, then the links', () => {
    const alpha = machine('alpha');
    const bravo = machine('bravo');
    const topology: NetworkTopology = {
      machines: [alpha, bravo],
      groups: [{ kind: 'tailnet', key: 'example.ts.net', agentIds: [alpha.agentId, bravo.agentId] }],
      links: [
        { from: alpha.agentId, to: bravo.agentId, peerName: 'bravo', peerIps: ['100.64.0.2'], online: true, direct: false, relay: 'fra', curAddr: null, latencyMs: null, lastDirectAt: 1, worse: true, updatedAt: 1 },
        { from: bravo.agentId, to: null, peerName: 'nas', peerIps: ['100.64.0.9'], online: true, direct: true, relay: 'fra', curAddr: '192.168.1.9:41641', latencyMs: null, lastDirectAt: 1, worse: false, updatedAt: 1 },
      ],
      generatedAt: 1,
    };
    const text = renderNetworkTopology(topology);
    expect(text).toMatch(/example\.ts\.net\s+tailnet\s+alpha, bravo/);
    expect(text).toMatch(/alpha\s+bravo\s+relayed\s+DERP fra\s+-\s+WORSE \(was direct\)/);
    expect(text).toMatch(/bravo\s+nas \(no agent\)\s+direct\s+192\.168\.1\.9:41641/);
  });

  it('prints a ping\'s figures, or why nothing came back', () => {
    const base = { from: { agentId: 'ag_a000000000000000', name: 'a' }, to: { agentId: 'ag_b000000000000000', name: 'b' }, address: '10.200.0.2', addressKind: 'lan' as const, jobId: 'job_0000000000000000', sent: 4 };
    expect(renderNetworkPing({ ...base, state: 'succeeded', received: 4, rttMinMs: 40.3, rttAvgMs: 40.8, rttMaxMs: 41.6, error: null })).toBe('a -> b (10.200.0.2, lan): 4/4 replies, rtt min/avg/max 40.3 ms / 40.8 ms / 41.6 ms\n');
    expect(renderNetworkPing({ ...base, state: 'failed', received: 0, rttMinMs: null, rttAvgMs: null, rttMaxMs: null, error: 'no reply from 10.200.0.2' })).toBe('a -> b (10.200.0.2, lan): 0/4 replies — no reply from 10.200.0.2\n');
  });
});
