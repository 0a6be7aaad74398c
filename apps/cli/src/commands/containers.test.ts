import { describe, expect, it } from 'vitest';
import type { AgentContainers, ContainerSample } from '@farol/protocol';
import { parseContainerRef } from './containers-action.js';
import { renderContainers } from './containers-list.js';
import { parseSince } from './containers-logs.js';

const now = Date.parse('2026-11-23T12:00:00Z');

const container = (name: string, extra: Partial<ContainerSample> = {}): ContainerSample => ({
  id: 'b'.repeat(64),
  name,
  image: 'redis:7',
  state: 'running',
  status: 'Up',
  health: 'none',
  restartCount: 0,
  exitCode: null,
  cpuPercent: 2.345,
  memoryBytes: 3 * 1024 * 1024,
  memoryLimitBytes: 1024 * 1024 * 1024,
  createdAt: now - 7_200_000,
  startedAt: now - 3_600_000,
  watched: false,
  ...extra,
});

describe('farol containers', () => {
  it('reads --since as a duration back from now, an ISO time or unix seconds', () => {
    expect(parseSince('10m', now)).toBe(now / 1000 - 600);
    expect(parseSince('2026-11-23T11:00:00Z', now)).toBe(now / 1000 - 3600);
    expect(parseSince('1700000000', now)).toBe(1_700_000_000);
    expect(() => parseSince('yesterday', now)).toThrow(/expected a duration back from now/);
  });

  it('refuses a container name Docker would not accept, before asking the hub', () => {
    expect(parseContainerRef('redis-1')).toBe('redis-1');
    expect(() => parseContainerRef('../x')).toThrow(/a container is named by its Docker name/);
  });

  it('renders the table with state, health, restarts, CPU, memory, digest, update and the watch mark', () => {
    const answer: AgentContainers = {
      agentId: 'agt_0123456789abcdef',
      ts: now,
      docker: { state: 'available', endpoint: 'unix:///var/run/docker.sock', version: '27.1', error: null, since: now },
      containers: [
        container('cache', { watched: true, health: 'healthy', digest: `sha256:${'1'.repeat(64)}`, availableDigest: `sha256:${'2'.repeat(64)}`, autoUpdate: true }),
        container('job', { state: 'exited', exitCode: 137, cpuPercent: null, memoryBytes: null, restartCount: 4, digest: `sha256:${'3'.repeat(64)}`, availableDigest: null }),
        container('db', { state: 'missing', id: '', image: '', watched: true, cpuPercent: null, memoryBytes: null, startedAt: null }),
      ],
    };
    const windowed: AgentContainers = { ...answer, containers: [container('web', { autoUpdate: true, autoUpdateWindow: '02:00-04:00 Europe/Lisbon', availableDigest: null })] };
    expect(renderContainers(windowed, 'box', now)).toContain('current (auto 02:00-04:00 Europe/Lisbon)');
    expect(renderContainers(answer, 'box', now).split('\n')).toEqual([
      'NAME   STATE         HEALTH   RESTARTS  CPU   MEMORY             IMAGE    DIGEST        UPDATE                         STARTED  WATCHED',
      'cache  running       healthy  0         2.3%  3.0 MiB / 1.0 GiB  redis:7  111111111111  available 222222222222 (auto)  1h ago   yes',
      'job    exited (137)  -        4         -     -                  redis:7  333333333333  current                        1h ago',
      'db     missing       -        -         -     -                  -        -             -                              -        yes',
      '',
    ]);
  });

  it('says in one line why there is no table, naming the Docker socket once (#21)', () => {
    const base = { agentId: 'agt_0123456789abcdef', ts: now, containers: [] };
    expect(renderContainers({ ...base, ts: null, docker: null }, 'box', now)).toBe('box has not reported yet\n');
    expect(renderContainers({ ...base, docker: null }, 'box', now)).toBe('box does not report containers (its agent predates Docker support)\n');
    expect(
      renderContainers({ ...base, docker: { state: 'unavailable', endpoint: 'unix:///var/run/docker.sock', version: null, error: 'no Docker engine at unix:///var/run/docker.sock (ENOENT)', since: now } }, 'box', now),
    ).toBe('box: Docker is unavailable: no Docker engine at unix:///var/run/docker.sock (ENOENT)\n');
    expect(renderContainers({ ...base, docker: { state: 'available', endpoint: 'unix:///d.sock', version: '27', error: null, since: now } }, 'box', now)).toBe('box has no containers\n');
  });
});
