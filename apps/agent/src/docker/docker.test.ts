import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HeartbeatSampleSchema, type ContainerSample } from '@farol/protocol';
import { createDefaultCollectors, createSampler } from '../collectors/sampler.js';
import { loadAgentConfig } from '../config.js';
import { createMemoryLogger } from '../logging/logger.js';
import { systemClock } from '../runtime/clock.js';
import { containerPath, createDockerClient, parseDockerHost } from './docker-engine.client.js';
import { cpuPercent, createContainersCollector, healthFromStatus, memoryUsed, missingContainer, parseDockerTime, type ContainersReading } from './containers.collector.js';
import { TailText, createLogDemuxer } from './log-stream.js';
import { parseWatchList } from './watch-list.js';

function frame(stream: 1 | 2, text: string | Buffer): Buffer {
  const body = typeof text === 'string' ? Buffer.from(text) : text;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('Docker endpoint', () => {
  it('reads DOCKER_HOST the way the docker CLI does', () => {
    expect(parseDockerHost(undefined)).toMatchObject({ kind: 'unix', socketPath: '/var/run/docker.sock' });
    expect(parseDockerHost('unix:///run/user/1000/docker.sock')).toMatchObject({ kind: 'unix', socketPath: '/run/user/1000/docker.sock', label: 'unix:///run/user/1000/docker.sock' });
    expect(parseDockerHost('/tmp/d.sock')).toMatchObject({ kind: 'unix', socketPath: '/tmp/d.sock' });
    expect(parseDockerHost('tcp://10.0.0.5:2375')).toMatchObject({ kind: 'tcp', host: '10.0.0.5', port: 2375, label: 'tcp://10.0.0.5:2375' });
    expect(parseDockerHost('tcp://docker.lan')).toMatchObject({ kind: 'tcp', host: 'docker.lan', port: 2375 });
    expect(parseDockerHost('tcp://[::1]:2376')).toMatchObject({ kind: 'tcp', host: '::1', port: 2376 });
  });

  it('refuses endpoints it cannot honour, saying why', () => {
    expect(() => parseDockerHost('ssh://me@box')).toThrow(/use unix:\/\/\/path\/to\/docker.sock or tcp:\/\/host:port/);
    expect(() => parseDockerHost('unix://relative.sock')).toThrow(/absolute path/);
    expect(() => parseDockerHost('tcp://box:2376', { DOCKER_TLS_VERIFY: '1' })).toThrow(/TLS/);
  });

  it('never builds an API path from a reference that is not a container name or id', () => {
    expect(containerPath('web_1.blue-2', '/json')).toBe('/containers/web_1.blue-2/json');
    expect(containerPath('0123456789ab')).toBe('/containers/0123456789ab');
    for (const bad of ['../images/json', 'a/b', 'x?all=1', '.x', '-x', 'a b', 'a%2Fb', 'é', '', 'x'.repeat(129), 'a\nb']) {
      expect(() => containerPath(bad, '/stop')).toThrow(/not a container name or id/);
    }
  });
});

describe('watch list', () => {
  it('matches names and globs, and names the entries nothing matches', () => {
    const watch = parseWatchList('db, web-*  cache?,db');
    expect(watch.entries).toEqual(['db', 'web-*', 'cache?']);
    expect(watch.matches('db')).toBe(true);
    expect(watch.matches('db2')).toBe(false);
    expect(watch.matches('web-1')).toBe(true);
    expect(watch.matches('cache1')).toBe(true);
    expect(watch.matches('cache12')).toBe(false);
    // `.` is literal, not "any character".
    expect(parseWatchList('a.b').matches('axb')).toBe(false);
    expect(watch.missing(['db', 'cache7'])).toEqual(['web-*']);
    expect(parseWatchList(undefined).entries).toEqual([]);
  });

  it('refuses an entry that cannot be a container name', () => {
    expect(() => parseWatchList('db,../x')).toThrow('watch entry "../x" is not a container name or glob');
    expect(() => parseWatchList('a/b')).toThrow(/not a container name/);
  });
});

describe('container figures', () => {
  it('computes CPU percent like docker stats, and none without a usable baseline', () => {
    expect(cpuPercent(null, { total: 10, system: 10 }, 2)).toBeNull();
    // Half of the host's delta on 2 CPUs is one full core: 100 %.
    expect(cpuPercent({ total: 0, system: 0 }, { total: 500, system: 1000 }, 2)).toBe(100);
    expect(cpuPercent({ total: 100, system: 1000 }, { total: 150, system: 2000 }, 4)).toBe(20);
    expect(cpuPercent({ total: 100, system: 1000 }, { total: 150, system: 1000 }, 4)).toBeNull();
    expect(cpuPercent({ total: 200, system: 1000 }, { total: 100, system: 2000 }, 4)).toBeNull();
  });

  it('reports memory without the inactive page cache (cgroup v1 and v2)', () => {
    expect(memoryUsed({ usage: 1000, stats: { total_inactive_file: 300 } })).toBe(700);
    expect(memoryUsed({ usage: 1000, stats: { inactive_file: 100 } })).toBe(900);
    expect(memoryUsed({ usage: 1000 })).toBe(1000);
    expect(memoryUsed({})).toBeNull();
  });

  it('reads health from the list status and treats Go\'s zero time as never', () => {
    expect(healthFromStatus('Up 3 minutes (healthy)')).toBe('healthy');
    expect(healthFromStatus('Up 1 second (health: starting)')).toBe('starting');
    expect(healthFromStatus('Up 2 hours (unhealthy)')).toBe('unhealthy');
    expect(healthFromStatus('Exited (0) 5 seconds ago')).toBe('none');
    expect(parseDockerTime('0001-01-01T00:00:00Z')).toBeNull();
    expect(parseDockerTime('2026-11-23T05:54:40.943191862Z')).toBe(Date.parse('2026-11-23T05:54:40.943Z'));
  });
});

describe('log stream', () => {
  it('splits Docker\'s framing into stdout and stderr, across chunk boundaries and split characters', () => {
    const out: Array<[string, string]> = [];
    const demux = createLogDemuxer((stream, text) => out.push([stream, text]));
    const euro = Buffer.from('€');
    const whole = Buffer.concat([frame(1, 'one\n'), frame(2, 'bad\n'), frame(1, Buffer.concat([Buffer.from('price '), euro.subarray(0, 1)])), frame(1, Buffer.concat([euro.subarray(1), Buffer.from('\n')]))]);
    // One byte at a time: the worst a socket can do.
    for (let i = 0; i < whole.length; i++) demux.push(whole.subarray(i, i + 1));
    demux.end();
    const joined = (stream: string) => out.filter(([s]) => s === stream).map(([, t]) => t).join('');
    expect(joined('stdout')).toBe('one\nprice €\n');
    expect(joined('stderr')).toBe('bad\n');
  });

  it('keeps the newest lines when a log is larger than the cap, and says so', () => {
    const tail = new TailText(20);
    for (let i = 1; i <= 10; i++) tail.append(`line ${i}\n`);
    expect(tail.text).toBe('line 9\nline 10\n');
    expect(tail.truncated).toBe(true);
    const small = new TailText(100);
    small.append('a\n');
    expect([small.text, small.truncated]).toEqual(['a\n', false]);
  });
});

describe('containers collector', () => {
  it('answers within its time budget when the engine accepts but never answers, and says so once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'farol-slow-docker-'));
    const socketPath = path.join(dir, 'docker.sock');
    const held: Socket[] = [];
    const server = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const memory = createMemoryLogger('debug');
      const collector = createContainersCollector({
        client: createDockerClient(parseDockerHost(`unix://${socketPath}`)),
        watch: parseWatchList('db'),
        clock: systemClock,
        logger: memory.logger,
        budgetMs: 300,
      });
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const reading = await collector.collect();
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(reading.docker).toMatchObject({ state: 'error', error: 'the Docker engine did not list containers within 300 ms' });
        expect(reading.containers).toEqual([]);
      }
      expect(memory.lines().filter((line) => line.level === 40)).toHaveLength(1);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent config for Docker', () => {
  const base = { state: '/tmp/farol-config-test' };
  it('honours DOCKER_HOST, FAROL_WATCH_CONTAINERS and the design notes\' WATCH_CONTAINERS', () => {
    expect(loadAgentConfig(base, { DOCKER_HOST: 'tcp://10.1.1.1:2375', WATCH_CONTAINERS: 'db,web-*' })).toMatchObject({ dockerHost: 'tcp://10.1.1.1:2375', watchContainers: 'db,web-*' });
    expect(loadAgentConfig(base, { FAROL_WATCH_CONTAINERS: 'api', WATCH_CONTAINERS: 'db' }).watchContainers).toBe('api');
    expect(loadAgentConfig({ ...base, dockerHost: 'unix:///x.sock' }, { DOCKER_HOST: 'tcp://a:1' }).dockerHost).toBe('unix:///x.sock');
  });

  it('reports a bad Docker endpoint or watch entry with its flag and variable', () => {
    expect(() => loadAgentConfig(base, { DOCKER_HOST: 'ssh://box', FAROL_WATCH_CONTAINERS: 'a/b' })).toThrow(
      /--docker-host \/ DOCKER_HOST: DOCKER_HOST ssh:\/\/box: use unix[\s\S]*--watch-containers \/ FAROL_WATCH_CONTAINERS: watch entry "a\/b"/,
    );
  });
});

describe('heartbeat sampler with containers', () => {
  const docker = { state: 'available' as const, endpoint: 'unix:///var/run/docker.sock', version: '27.1', error: null, since: 1 };

  it('carries the containers and the Docker status in every sample', async () => {
    const { logger } = createMemoryLogger('warn');
    const reading: ContainersReading = { docker, containers: [missingContainer('db')] };
    const sampler = createSampler({ collectors: createDefaultCollectors({ clock: systemClock, logger }), clock: systemClock, logger, containers: { name: 'containers', fallback: { docker, containers: [] }, collect: async () => reading } });
    const sample = await sampler.sample();
    expect(HeartbeatSampleSchema.parse(sample)).toMatchObject({ docker, containers: [{ name: 'db', state: 'missing', watched: true }] });
  });

  it('drops only the containers when they fail the schema; the rest of the heartbeat goes', async () => {
    const { logger, lines } = createMemoryLogger('warn');
    const broken = { ...missingContainer('db'), state: 'exploded' } as unknown as ContainerSample;
    const sampler = createSampler({
      collectors: createDefaultCollectors({ clock: systemClock, logger }),
      clock: systemClock,
      logger,
      containers: { name: 'containers', fallback: { docker, containers: [] }, collect: async () => ({ docker, containers: [broken] }) },
    });
    const sample = await sampler.sample();
    expect(sample.containers).toBeUndefined();
    expect(sample.cpu.perCore.length).toBeGreaterThan(0);
    expect(lines().filter((line) => line.msg === 'containers failed the schema; this sample carries none')).toHaveLength(1);
  });
});
