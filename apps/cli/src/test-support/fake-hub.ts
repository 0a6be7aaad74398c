import type { Agent } from '@farol/protocol';

// The HTTP fake hub is shared with the client's tests (issue #21: one fake hub, not two); the
// CLI's fixtures follow.
export { startFakeHub, type FakeHub, type RecordedRequest, type Reply } from '@farol/test-support';

/** Fixed "now" of the CLI tests: 2026-01-01 00:00:00 UTC. */
export const NOW = Date.UTC(2026, 0, 1);

/** An online agent with every kind of detail filled in. */
export function sampleAgent(overrides: Partial<Agent> = {}): Agent {
  return {
    id: 'ag_0123456789abcdef',
    name: 'web-1',
    hostname: 'web-1.lan',
    status: 'online',
    labels: { role: 'web', env: 'prod' },
    createdAt: NOW - 86_400_000,
    lastSeen: NOW - 12_000,
    keyFingerprint: 'q1w2e3r4',
    heartbeatIntervalMs: 5000,
    system: {
      hostname: 'web-1.lan',
      os: 'linux',
      distro: 'Debian GNU/Linux',
      release: '12',
      kernel: '6.1.0-18-amd64',
      arch: 'x64',
      cpuModel: 'AMD EPYC 7302',
      cpuCores: 16,
      memoryTotal: 64 * 1024 ** 3,
      agentVersion: '0.1.0',
      ips: [
        { interface: 'eth0', address: '192.168.1.10', family: 'IPv4', isTailscale: false },
        { interface: 'tailscale0', address: '100.101.102.103', family: 'IPv4', isTailscale: true },
      ],
    },
    latest: {
      ts: NOW - 12_000,
      cpu: { total: 12.4, perCore: [10, 14.8], load: [0.5, 0.4, 0.3] },
      memory: {
        total: 64 * 1024 ** 3,
        used: 29 * 1024 ** 3,
        available: 35 * 1024 ** 3,
        percent: 45.3,
        swapTotal: 0,
        swapUsed: 0,
        swapPercent: 0,
      },
      filesystems: [
        { mount: '/', device: '/dev/sda1', type: 'ext4', size: 100 * 1024 ** 3, used: 71 * 1024 ** 3, percent: 71 },
        { mount: '/data', device: '/dev/sdb1', type: 'xfs', size: 1024 ** 4, used: 100 * 1024 ** 3, percent: 9.8 },
      ],
      diskIo: { readBps: 1024 * 1024, writeBps: 2048 },
      network: { rxBps: 5000, txBps: 7000, interfaces: [] },
      uptimeSeconds: 90_061,
      processCount: 312,
      topCpu: [{ pid: 4242, name: 'postgres', user: 'postgres', cpu: 55.5, memory: 12.1, rss: 512 * 1024 ** 2 }],
      topMemory: [{ pid: 4242, name: 'postgres', user: 'postgres', cpu: 55.5, memory: 12.1, rss: 512 * 1024 ** 2 }],
      temperatures: { cpu: 48, max: 61 },
      gpus: [{ index: 0, name: 'NVIDIA RTX A4000', utilization: 37, memoryUsed: 4 * 1024 ** 3, memoryTotal: 16 * 1024 ** 3, temperature: 55, powerWatts: 70 }],
    },
    ...overrides,
  };
}
