import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentContainersSchema, type AgentContainers, type Job } from '@farol/protocol';
import { dockerSkipReason, startDockerEngine, startTestContainers, TEST_CONTAINERS, TEST_IMAGE, type DockerEngine } from '../support/docker-engine.js';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Containers end to end: a hub process, an agent process reporting a real dockerd of its own,
// and the farol CLI (issue #3, Docker).

const skip = dockerSkipReason();

describe.skipIf(skip !== null)('farol containers (hub, agent and CLI processes, real dockerd)', () => {
  const dir = tempDir('containers');
  const procs: Proc[] = [];
  let engine: DockerEngine;
  let hub: Proc & { url: string };

  function cli(args: string[]): Promise<{ code: number | null; output: string }> {
    const proc = run([farolBin, ...args], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
    return proc.exited.then((code) => ({ code, output: proc.output() }));
  }

  const containersOf = async (agent: string) => (await api<AgentContainers>(hub.url, 'GET', `/api/agents/${agent}/containers`)).body;

  beforeAll(async () => {
    engine = await startDockerEngine();
    await startTestContainers(engine);
    hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
    procs.push(hub);
    const token = await joinToken(hub.url, { uses: 2 });
    procs.push(
      run([
        agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'box'), '--name', 'box', '--interval', '1s',
        '--docker-host', engine.host, '--watch-containers', `${TEST_CONTAINERS.healthy},farol-ghost`,
      ]),
    );
    await waitFor(async () => {
      const answer = await api<AgentContainers>(hub.url, 'GET', '/api/agents/box/containers');
      return answer.status === 200 && answer.body.docker?.state === 'available' ? true : undefined;
    }, 30_000, 'box reporting its containers');
  }, 120_000);

  afterAll(async () => {
    for (const proc of procs) await proc.stop('SIGTERM');
    await engine?.stop();
    dir.remove();
  }, 60_000);

  it('serves the latest heartbeat\'s containers over REST and as Prometheus gauges, and 404 for an unknown machine', async () => {
    const answer = AgentContainersSchema.parse(await containersOf('box'));
    expect(answer.docker).toMatchObject({ state: 'available', endpoint: engine.host });
    const byName = Object.fromEntries(answer.containers.map((c) => [c.name, c]));
    expect(byName[TEST_CONTAINERS.healthy]).toMatchObject({ state: 'running', health: 'healthy', watched: true, image: TEST_IMAGE });
    expect(byName[TEST_CONTAINERS.unhealthy]).toMatchObject({ health: 'unhealthy', watched: false });
    expect(byName[TEST_CONTAINERS.exited]).toMatchObject({ state: 'exited', exitCode: 3 });
    expect(byName['farol-ghost']).toMatchObject({ state: 'missing', watched: true });

    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    const line = (name: string, container: string, watched: boolean) =>
      // The hub label every series carries (#14) is left out of the comparison.
      metrics
        .split('\n')
        .map((l) => l.replace(/,hub="[^"]*"/, ''))
        .find((l) => l.startsWith(`${name}{agent_id="${answer.agentId}",container="${container}",watched="${watched}"}`));
    expect(line('farol_container_up', TEST_CONTAINERS.healthy, true)).toMatch(/ 1$/);
    expect(line('farol_container_up', TEST_CONTAINERS.exited, false)).toMatch(/ 0$/);
    expect(line('farol_container_up', 'farol-ghost', true)).toMatch(/ 0$/);
    expect(line('farol_container_healthy', TEST_CONTAINERS.healthy, true)).toMatch(/ 1$/);
    expect(line('farol_container_healthy', TEST_CONTAINERS.unhealthy, false)).toMatch(/ 0$/);
    expect(line('farol_container_healthy', TEST_CONTAINERS.exited, false)).toBeUndefined();
    expect(Number(line('farol_container_restarts', TEST_CONTAINERS.restarting, false)?.split(' ').pop())).toBeGreaterThanOrEqual(2);

    const unknown = await api<{ code: string }>(hub.url, 'GET', '/api/agents/nope/containers');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
  });

  it('lists containers as a table and as JSON', async () => {
    const table = await cli(['containers', 'ls', 'box']);
    expect(table.code).toBe(0);
    const lines = table.output.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+HEALTH\s+RESTARTS\s+CPU\s+MEMORY\s+IMAGE\s+DIGEST\s+UPDATE\s+STARTED\s+WATCHED$/);
    expect(lines.find((l) => l.startsWith(`${TEST_CONTAINERS.healthy} `))).toMatch(/running\s+healthy\s+0\s+([\d.]+%|-)\s+.*farol-test\/busybox:latest.*yes$/);
    expect(lines.find((l) => l.startsWith(`${TEST_CONTAINERS.exited} `))).toMatch(/exited \(3\)/);
    expect(lines.find((l) => l.startsWith('farol-ghost '))).toMatch(/missing/);

    const json = await cli(['containers', 'ls', 'box', TEST_CONTAINERS.unhealthy, '--json']);
    expect(json.code).toBe(0);
    const parsed = AgentContainersSchema.parse(JSON.parse(json.output));
    expect(parsed.containers.map((c) => [c.name, c.health])).toEqual([[TEST_CONTAINERS.unhealthy, 'unhealthy']]);
  });

  it('stops, starts and restarts a real container, and prints its logs', async () => {
    await engine.docker(['run', '-d', '--network', 'none', '--name', 'farol-cli-target', TEST_IMAGE, 'sh', '-c', 'echo ready; trap "exit 0" TERM; while true; do sleep 1; done']);
    const stop = await cli(['containers', 'stop', 'box', 'farol-cli-target', '--timeout', '5']);
    expect(stop).toMatchObject({ code: 0, output: expect.stringContaining('farol-cli-target stopped') });
    expect((await engine.waitForContainer('farol-cli-target', (c) => !c.State.Running, 5_000)).State.Status).toBe('exited');

    const start = await cli(['containers', 'start', 'box', 'farol-cli-target']);
    expect(start).toMatchObject({ code: 0, output: expect.stringContaining('farol-cli-target started') });
    const started = await engine.waitForContainer('farol-cli-target', (c) => c.State.Running, 5_000);

    const restart = await cli(['containers', 'restart', 'box', 'farol-cli-target']);
    expect(restart).toMatchObject({ code: 0, output: expect.stringContaining('farol-cli-target restarted') });
    const restarted = await engine.waitForContainer('farol-cli-target', (c) => c.State.Running, 5_000);
    expect(Date.parse(restarted.State.StartedAt)).toBeGreaterThan(Date.parse(started.State.StartedAt));

    const logs = await cli(['containers', 'logs', 'box', TEST_CONTAINERS.healthy, '--tail', '2']);
    expect(logs).toEqual({ code: 0, output: 'out-line-1\nout-line-2\n' });
    const none = await cli(['containers', 'logs', 'box', TEST_CONTAINERS.healthy, '--since', '2099-01-01T00:00:00Z']);
    expect(none).toEqual({ code: 0, output: '' });
  });

  it('refuses container names that could reach the Engine API path, at the CLI and at the hub', async () => {
    for (const name of ['../images/json', 'a/b', 'x?force=true', '.hidden']) {
      const attempt = await cli(['containers', 'restart', 'box', name]);
      expect(attempt.code).toBe(2);
      expect(attempt.output.trim().split('\n')).toHaveLength(1);
      expect(attempt.output).toContain('a container is named by its Docker name');
    }
    for (const container of ['../../containers/farol-healthy/kill', 'farol-healthy/../x', 'a b', 'x%2F..', '-rf', '']) {
      const one = await api<{ code: string }>(hub.url, 'POST', '/api/agents/box/command', { command: { kind: 'docker_stop', container } });
      expect(one.status).toBe(400);
      expect(one.body.code).toBe('validation_failed');
      const many = await api<{ code: string }>(hub.url, 'POST', '/api/jobs', { command: { kind: 'docker_logs', container, tail: 5 }, targets: { all: true } });
      expect(many.status).toBe(400);
    }
    const jobs = (await api<{ jobs: Job[] }>(hub.url, 'GET', '/api/jobs')).body.jobs;
    expect(jobs.every((job) => !('container' in job.command) || /^farol-/.test(job.command.container))).toBe(true);
    expect((await engine.api<{ State: { Running: boolean } }>(`/containers/${TEST_CONTAINERS.healthy}/json`)).State.Running).toBe(true);
  });

  it('says in one line what to do when the machine or container does not exist', async () => {
    const agent = await cli(['containers', 'ls', 'nope']);
    expect(agent.code).toBe(1);
    expect(agent.output.trim()).toMatch(/^farol: no agent named "nope"; see .*farol(\.mjs)? agents ls$/);
    const container = await cli(['containers', 'restart', 'box', 'farol-nope']);
    expect(container.code).toBe(1);
    expect(container.output.trim()).toMatch(/^(node )?\S*farol(\.mjs)?: box: failed: no such container: farol-nope$/);
  });
});
