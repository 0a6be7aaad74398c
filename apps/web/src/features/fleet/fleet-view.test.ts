import { describe, expect, it } from 'vitest';
import type { FleetMachine } from './fleet-store.js';
import { countByHealth, DEFAULT_FILTER, healthOf, labelOptions, selectRows } from './fleet-view.js';

const NOW = 1_000_000;

function machine(name: string, overrides: Partial<FleetMachine> = {}): FleetMachine {
  return {
    id: `ag_${name.padEnd(16, 'x')}`,
    name,
    hostname: `${name}.example`,
    status: 'online',
    labels: {},
    os: 'linux',
    distro: 'Debian 12',
    arch: 'x64',
    cpuCores: 4,
    lastSeen: NOW - 1_000,
    heartbeatIntervalMs: 10_000,
    cpu: 10,
    memory: 20,
    disk: 30,
    sampleTs: NOW - 1_000,
    cpuHistory: [],
    statusHeardAt: null,
    ...overrides,
  };
}

const fleet = [
  machine('web-10', { labels: { role: 'web', env: 'prod' }, cpu: 80 }),
  machine('web-2', { labels: { role: 'web', env: 'dev' }, cpu: null }),
  machine('db-1', { labels: { role: 'db', env: 'prod' }, cpu: 50, status: 'offline', lastSeen: NOW - 60_000 }),
  machine('new-box', { status: 'offline', lastSeen: null, hostname: 'gpu-node.lab' }),
  machine('slow', { lastSeen: NOW - 25_000 }),
];

describe('fleet view', () => {
  it('tells online, late, offline and never-connected machines apart', () => {
    expect(fleet.map((m) => healthOf(m, NOW))).toEqual(['online', 'online', 'offline', 'never', 'late']);
    expect(countByHealth(fleet, NOW)).toEqual({ online: 2, late: 1, offline: 1, never: 1 });
  });

  it('searches names, hostnames and labels, case-insensitively', () => {
    const names = (query: string) => selectRows(fleet, { ...DEFAULT_FILTER, query }, NOW).map((row) => row.machine.name);
    expect(names('WEB')).toEqual(['web-2', 'web-10']);
    expect(names('gpu-node')).toEqual(['new-box']);
    expect(names('env=prod')).toEqual(['db-1', 'web-10']);
  });

  it('filters by health and by an exact label', () => {
    expect(selectRows(fleet, { ...DEFAULT_FILTER, health: 'offline' }, NOW).map((row) => row.machine.name)).toEqual(['db-1']);
    expect(selectRows(fleet, { ...DEFAULT_FILTER, label: 'role=web' }, NOW).map((row) => row.machine.name)).toEqual(['web-2', 'web-10']);
  });

  it('sorts names naturally and numbers descending with missing values last', () => {
    const sorted = (sort: typeof DEFAULT_FILTER.sort) => selectRows(fleet, { ...DEFAULT_FILTER, sort }, NOW).map((row) => row.machine.name);
    expect(sorted('name')).toEqual(['db-1', 'new-box', 'slow', 'web-2', 'web-10']);
    expect(sorted('cpu')).toEqual(['web-10', 'db-1', 'new-box', 'slow', 'web-2']);
    expect(sorted('lastSeen').at(-1)).toBe('new-box');
  });

  it('offers every label in the fleet once, sorted', () => {
    expect(labelOptions(fleet)).toEqual(['env=dev', 'env=prod', 'role=db', 'role=web']);
  });
});
