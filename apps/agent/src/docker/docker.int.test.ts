import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandResult, ContainerSample, HeartbeatSample } from '@farol/protocol';
import { dockerSkipReason, startDockerEngine, startTestContainers, TEST_CONTAINERS, TEST_IMAGE, type DockerEngine } from '../../../../tests/support/docker-engine.js';
import { useAgentHarness, waitFor } from '../testing/agent-harness.js';
import { signTestCommand } from '../testing/test-hub.js';

const skip = dockerSkipReason();

describe.skipIf(skip !== null)('Docker containers (real agent, real dockerd, Socket.IO test hub)', () => {
  let engine: DockerEngine;
  const h = useAgentHarness();

  beforeAll(async () => {
    engine = await startDockerEngine();
    await startTestContainers(engine);
  }, 90_000);
  afterAll(async () => {
    await engine?.stop();
  }, 30_000);

  const latestWith = (check: (sample: HeartbeatSample) => boolean): HeartbeatSample | undefined => [...h.stored()].reverse().find(check);
  const byName = (sample: HeartbeatSample, name: string): ContainerSample | undefined => sample.containers?.find((c) => c.name === name);

  async function command(cmd: Parameters<typeof signTestCommand>[1]['command'], timeoutMs = 10_000): Promise<CommandResult> {
    const token = signTestCommand(h.hubState, { sub: h.agent()!.agentId, command: cmd, timeoutMs: 30_000 });
    const commandId = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).commandId as string;
    h.hub.sendCommand(token);
    await waitFor(() => h.hubState.results.some((r) => r.commandId === commandId), timeoutMs, `the result of ${cmd.kind}`);
    return h.hubState.results.find((r) => r.commandId === commandId)!;
  }

  it('reports every container in each heartbeat with health, restarts, CPU and memory, and watched ones that are missing', async () => {
    // A generous budget: this test is about what a sample says, not about a loaded test machine
    // (the budget itself is tested against an engine that never answers).
    void h.start({ dockerHost: engine.host, watchContainers: `${TEST_CONTAINERS.healthy}, farol-ghost web-*` }, { dockerBudgetMs: 5_000 });
    // CPU needs two stats readings (a delta); on a loaded machine a reading may miss the budget.
    const withCpu = (s: HeartbeatSample) => typeof byName(s, TEST_CONTAINERS.healthy)?.cpuPercent === 'number';
    await waitFor(() => latestWith(withCpu) !== undefined, 15_000, 'a sample with container CPU');
    const sample = latestWith(withCpu)!;
    expect(sample.docker).toMatchObject({ state: 'available', endpoint: engine.host, error: null });
    expect(sample.docker!.version).toMatch(/^\d+\.\d+/);

    const healthy = byName(sample, TEST_CONTAINERS.healthy)!;
    expect(healthy).toMatchObject({ state: 'running', health: 'healthy', image: TEST_IMAGE, watched: true, exitCode: null });
    expect(healthy.id).toMatch(/^[a-f0-9]{64}$/);
    expect(healthy.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(healthy.memoryBytes).toBeGreaterThan(0);
    expect(healthy.memoryLimitBytes).toBeGreaterThan(healthy.memoryBytes!);
    expect(healthy.startedAt).toBeGreaterThan(Date.now() - 120_000);

    expect(byName(sample, TEST_CONTAINERS.unhealthy)).toMatchObject({ state: 'running', health: 'unhealthy', watched: false });
    expect(byName(sample, TEST_CONTAINERS.exited)).toMatchObject({ state: 'exited', exitCode: 3, health: 'none', cpuPercent: null, memoryBytes: null });
    const restarting = byName(sample, TEST_CONTAINERS.restarting)!;
    expect(restarting.restartCount).toBeGreaterThanOrEqual(2);

    // Watched but absent: reported, not silently left out (a glob that matches nothing too).
    expect(byName(sample, 'farol-ghost')).toMatchObject({ state: 'missing', watched: true, id: '' });
    expect(byName(sample, 'web-*')).toMatchObject({ state: 'missing', watched: true });
    // Watched ones come first.
    expect(sample.containers!.slice(0, 3).map((c) => c.name).sort()).toEqual([TEST_CONTAINERS.healthy, 'farol-ghost', 'web-*'].sort());
  });

  it('reports a machine without Docker once, not at every heartbeat, and picks Docker up when it appears', async () => {
    const socket = path.join(tmpdir(), `farol-no-docker-${process.pid}-${Date.now()}.sock`);
    void h.start({ dockerHost: `unix://${socket}`, watchContainers: 'db' });
    await waitFor(() => h.stored().length >= 3, 10_000, 'three heartbeats');
    for (const sample of h.stored()) {
      expect(sample.docker).toMatchObject({ state: 'unavailable', endpoint: `unix://${socket}` });
      expect(sample.docker!.error).toContain('ENOENT');
      // Nothing can run without an engine: the watched container is missing.
      expect(sample.containers).toEqual([expect.objectContaining({ name: 'db', state: 'missing', watched: true })]);
    }
    const noDocker = h.logs().filter((line) => String(line.msg).startsWith('no Docker engine'));
    expect(noDocker).toHaveLength(1);
    expect(h.logs().filter((line) => (line.level as number) >= 40 && /docker|container/i.test(`${String(line.msg)} ${String(line.collector)}`))).toEqual([]);

    // The engine appears at that path (a link to the test engine's socket).
    symlinkSync(engine.socketPath, socket);
    try {
      await waitFor(() => h.stored().some((s) => s.docker?.state === 'available'), 8_000, 'Docker picked up');
      const sample = latestWith((s) => s.docker?.state === 'available')!;
      expect(byName(sample, TEST_CONTAINERS.healthy)).toMatchObject({ state: 'running' });
      expect(h.messages().filter((m) => m.startsWith('Docker engine reachable'))).toHaveLength(1);
    } finally {
      rmSync(socket, { force: true });
    }
  });

  it('stops, starts and restarts a real container on the hub\'s command', async () => {
    const name = 'farol-target';
    await engine.docker(['run', '-d', '--network', 'none', '--name', name, TEST_IMAGE, 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done']);
    void h.start({ dockerHost: engine.host });
    await waitFor(() => h.stored().length >= 1, 8_000, 'linked');

    const stopped = await command({ kind: 'docker_stop', container: name, timeoutSeconds: 5 });
    expect(stopped).toMatchObject({ state: 'succeeded', exitCode: 0, data: { kind: 'docker_stop', changed: true, container: { name, state: 'exited' } } });
    expect((await engine.api<{ State: { Status: string } }>(`/containers/${name}/json`)).State.Status).toBe('exited');

    const again = await command({ kind: 'docker_stop', container: name });
    expect(again).toMatchObject({ state: 'succeeded', data: { changed: false }, stdout: expect.stringContaining('already stopped') });

    const started = await command({ kind: 'docker_start', container: name });
    expect(started).toMatchObject({ state: 'succeeded', data: { kind: 'docker_start', changed: true, container: { state: 'running' } } });
    const before = await engine.waitForContainer(name, (c) => c.State.Running, 5_000, 'running');

    const restarted = await command({ kind: 'docker_restart', container: name, timeoutSeconds: 5 });
    expect(restarted).toMatchObject({ state: 'succeeded', data: { kind: 'docker_restart', container: { state: 'running' } } });
    const after = await engine.api<{ State: { StartedAt: string; Running: boolean } }>(`/containers/${name}/json`);
    expect(after.State.Running).toBe(true);
    expect(Date.parse(after.State.StartedAt)).toBeGreaterThan(Date.parse(before.State.StartedAt));

    const absent = await command({ kind: 'docker_restart', container: 'farol-nope' });
    expect(absent).toMatchObject({ state: 'failed', error: 'no such container: farol-nope' });
  });

  it('returns a container\'s real log lines, stdout and stderr apart, honouring tail and since', async () => {
    void h.start({ dockerHost: engine.host });
    await waitFor(() => h.stored().length >= 1, 8_000, 'linked');
    const all = await command({ kind: 'docker_logs', container: TEST_CONTAINERS.healthy });
    expect(all).toMatchObject({ state: 'succeeded', stdout: 'out-line-1\nout-line-2\n', stderr: 'err-line-1\n', stdoutTruncated: false });

    const last = await command({ kind: 'docker_logs', container: TEST_CONTAINERS.healthy, tail: 1 });
    expect(last).toMatchObject({ stdout: 'out-line-2\n', stderr: '' });
    const lastTwo = await command({ kind: 'docker_logs', container: TEST_CONTAINERS.healthy, tail: 2 });
    expect(lastTwo).toMatchObject({ stdout: 'out-line-1\nout-line-2\n', stderr: '' });

    const future = await command({ kind: 'docker_logs', container: TEST_CONTAINERS.healthy, since: Math.floor(Date.now() / 1000) + 3600 });
    expect(future).toMatchObject({ state: 'succeeded', stdout: '', stderr: '' });

    const stamped = await command({ kind: 'docker_logs', container: TEST_CONTAINERS.exited, timestamps: true });
    expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z bye\n$/);
  });

  it('refuses a signed command whose container name is an injection attempt, before any Docker call', async () => {
    void h.start({ dockerHost: engine.host });
    await waitFor(() => h.stored().length >= 1, 8_000, 'linked');
    const attempts = ['../images/json', 'x?force=1', 'a/b', '$(reboot)', 'farol-healthy;rm -rf /', '-H', '.hidden', 'a b', 'x\n'];
    for (const container of attempts) {
      const command = { kind: 'docker_stop', container } as never;
      h.hub.sendCommand(signTestCommand(h.hubState, { sub: h.agent()!.agentId, command }));
    }
    await waitFor(() => h.hubState.acks.length === attempts.length, 5_000, 'every refusal');
    for (const ack of h.hubState.acks) {
      expect(ack.status).toBe('refused');
      expect(ack.reason).toContain('a container is named by its Docker name');
    }
    expect(h.hubState.results).toEqual([]);
    const healthy = await engine.api<{ State: { Running: boolean } }>(`/containers/${TEST_CONTAINERS.healthy}/json`);
    expect(healthy.State.Running).toBe(true);
  });

  it('follows the local policy: docker_write refused, then allowed as a group', async () => {
    const policy = path.join(h.stateDir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ allow: ['docker_ps', 'docker_logs'] }));
    void h.start({ dockerHost: engine.host });
    await waitFor(() => h.stored().length >= 1, 8_000, 'linked');
    const before = await engine.api<{ State: { StartedAt: string } }>(`/containers/${TEST_CONTAINERS.healthy}/json`);

    const refused = await command({ kind: 'docker_restart', container: TEST_CONTAINERS.healthy });
    expect(refused).toMatchObject({ state: 'refused', error: 'refused by agent policy: docker_restart is not allowed here' });
    const ps = await command({ kind: 'docker_ps' });
    expect(ps.state).toBe('succeeded');
    expect(ps.data).toMatchObject({ kind: 'docker_ps', docker: { state: 'available' } });
    if (ps.data?.kind !== 'docker_ps') throw new Error('no docker_ps data');
    expect(ps.data.containers.map((c) => c.name)).toEqual(expect.arrayContaining(Object.values(TEST_CONTAINERS)));
    const after = await engine.api<{ State: { StartedAt: string } }>(`/containers/${TEST_CONTAINERS.healthy}/json`);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);

    writeFileSync(policy, JSON.stringify({ allow: ['docker_write'] }));
    const logs = await command({ kind: 'docker_logs', container: TEST_CONTAINERS.healthy });
    expect(logs.state).toBe('refused');
    const unhealthyStart = await command({ kind: 'docker_start', container: TEST_CONTAINERS.unhealthy });
    expect(unhealthyStart).toMatchObject({ state: 'succeeded', data: { changed: false } });
  });
});
