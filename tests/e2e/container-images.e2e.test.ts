import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { AgentContainersSchema, type AgentContainers, type AgentList } from '@farol/protocol';
import { dockerSkipReason, startDockerEngine, TEST_IMAGE, type DockerEngine } from '../support/docker-engine.js';
import { importNode24BaseImages } from '../support/node24-images.js';
import { ADMIN_TOKEN, api, freePort, joinToken, root, tempDir, waitFor } from './support/processes.js';

// The container images (issue #15, ADR 0019): deploy/docker/hub.Dockerfile and agent.Dockerfile
// built for real by a private dockerd on Node 24 base images made here (no registry), then a hub
// container with a /data volume and an agent container that monitors that dockerd as its host.
// The dockerd has no bridge (tests/support/docker-engine.ts), so both run on the host network,
// the hub bound to loopback. Also brings deploy/compose/compose.yaml up with those images.

const skip = dockerSkipReason();
/** Debian's docker-compose (v1), as .ci/run installs it; on a machine without it those tests say so. */
const composeMissing = !['/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')].some((dir) => existsSync(path.join(dir, 'docker-compose')));
if (composeMissing && process.env.CI) throw new Error('docker-compose is needed (apt install docker-compose): CI must provide it');
const HUB_IMAGE = 'farol-test/hub:ci';
const AGENT_IMAGE = 'farol-test/agent:ci';

/** Runs docker-compose (Debian's) against the private engine. */
async function compose(engine: DockerEngine, args: string[], env: Record<string, string>): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile('docker-compose', args, { cwd: path.join(root, 'deploy/compose'), env: { ...process.env, DOCKER_HOST: engine.host, ...env }, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker-compose ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe.skipIf(skip !== null)('container images (real docker build, hub and agent containers)', () => {
  let engine: DockerEngine;
  const timings: string[] = [];
  const composeDir = tempDir('compose');

  beforeAll(async () => {
    // Image builds write many large layers: overlay2 shares them, vfs would copy each whole.
    const overlay = readFileSync('/proc/filesystems', 'utf8').includes('\toverlay');
    engine = await startDockerEngine({ storageDriver: overlay ? 'overlay2' : 'vfs' });
    let started = Date.now();
    const baseArgs = await importNode24BaseImages(engine);
    timings.push(`base images ${((Date.now() - started) / 1000).toFixed(0)} s`);
    // The legacy builder (no buildx here); host network so npm can reach its registry for anything the cache lacks.
    process.env.DOCKER_BUILDKIT = '0';
    started = Date.now();
    await engine.docker(['build', '-q', '--network', 'host', ...baseArgs, '-f', 'deploy/docker/hub.Dockerfile', '-t', HUB_IMAGE, root]);
    timings.push(`hub image ${((Date.now() - started) / 1000).toFixed(0)} s`);
    started = Date.now();
    await engine.docker(['build', '-q', '--network', 'host', ...baseArgs, '-f', 'deploy/docker/agent.Dockerfile', '-t', AGENT_IMAGE, root]);
    timings.push(`agent image ${((Date.now() - started) / 1000).toFixed(0)} s`);
    console.log(`container images: ${timings.join(', ')}`);
  }, 600_000);

  afterAll(async () => {
    await engine?.stop();
    composeDir.remove();
  }, 60_000);

  it('builds a hub image that runs as uid 1000 with a /data volume, a health check and the dashboard', async () => {
    const [image] = JSON.parse(await engine.docker(['image', 'inspect', HUB_IMAGE])) as Array<{
      Size: number;
      Config: { User: string; Volumes: Record<string, unknown>; Healthcheck: { Test: string[] }; ExposedPorts: Record<string, unknown>; Entrypoint: string[] };
    }>;
    expect(image!.Config.User).toBe('1000:1000');
    expect(Object.keys(image!.Config.Volumes)).toEqual(['/data']);
    expect(Object.keys(image!.Config.ExposedPorts)).toEqual(['8080/tcp']);
    expect(image!.Config.Healthcheck.Test.join(' ')).toContain('/health');
    expect(image!.Config.Entrypoint).toEqual(['node', '/app/bin/farol-hub.mjs']);
    // Measured on the test base (busybox + Node 24): the official slim base adds its Debian layer.
    console.log(`hub image ${(image!.Size / 1_048_576).toFixed(0)} MB, agent image ${((JSON.parse(await engine.docker(['image', 'inspect', AGENT_IMAGE])) as Array<{ Size: number }>)[0]!.Size / 1_048_576).toFixed(0)} MB`);
    expect(image!.Size).toBeLessThan(200 * 1_048_576);
    const listing = await engine.docker(['run', '--rm', '--network', 'none', '--entrypoint', 'ls', HUB_IMAGE, '/app/apps/web/dist', '/app/apps/agent/dist', '/app/node_modules']);
    expect(listing).toContain('index.html');
    expect(listing).toContain('farol-agent.mjs');
    expect(listing).toContain('better-sqlite3');
    expect(listing).not.toContain('vite\n');
  });

  it('runs a hub container on a volume and an agent container that enrolls and reports the host\'s containers', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // A container of the "host" (this dockerd) besides Farol's own two.
    await engine.docker(['run', '-d', '--network', 'none', '--name', 'web-1', TEST_IMAGE, 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done']);
    const hubArgs = [
      'run', '-d', '--network', 'host', '-v', 'farol-data:/data', '--health-interval', '1s',
      '-e', `FAROL_PORT=${port}`, '-e', 'FAROL_BIND=127.0.0.1', '-e', `FAROL_ADMIN_TOKEN=${ADMIN_TOKEN}`, HUB_IMAGE,
    ];
    await engine.docker([...hubArgs.slice(0, 2), '--name', 'farol-hub', ...hubArgs.slice(2)]);
    await engine.waitForContainer('farol-hub', (c) => c.State.Health?.Status === 'healthy', 60_000, 'a healthy hub');
    expect((await (await fetch(`${url}/ready`)).json()) as { status: string }).toMatchObject({ status: 'ready' });
    expect(await (await fetch(`${url}/`)).text()).toContain('<div id="root">');

    const token = await joinToken(url, {});
    await engine.docker([
      'run', '-d', '--name', 'farol-agent', '--network', 'host', '--pid', 'host',
      '-v', `${engine.socketPath}:/var/run/docker.sock:ro`, '-v', '/proc:/host/proc:ro', '-v', '/sys:/host/sys:ro', '-v', '/:/host:ro',
      '-v', 'farol-agent:/var/lib/farol-agent',
      '-e', `FAROL_HUB_URL=${url}`, '-e', `FAROL_JOIN_TOKEN=${token}`, '-e', 'FAROL_HEARTBEAT_INTERVAL=1s',
      AGENT_IMAGE, 'run', '--name', 'docker-host',
    ]);
    const containers = await waitFor(async () => {
      const answer = await api<AgentContainers>(url, 'GET', '/api/agents/docker-host/containers');
      return answer.status === 200 && answer.body.containers.some((c) => c.name === 'web-1') ? answer.body : undefined;
    }, 60_000, 'the agent container reporting the host\'s containers');
    const parsed = AgentContainersSchema.parse(containers);
    expect(parsed.docker?.state).toBe('available');
    const byName = Object.fromEntries(parsed.containers.map((c) => [c.name, c]));
    expect(byName['web-1']).toMatchObject({ state: 'running', image: TEST_IMAGE });
    expect(byName['farol-hub']).toMatchObject({ state: 'running', image: HUB_IMAGE });
    expect(byName['farol-agent']).toMatchObject({ state: 'running', image: AGENT_IMAGE });

    // The volume holds the hub's identity: a new container on it keeps the same agents, which
    // reconnect without enrolling again (the join token was for one use).
    const agentId = parsed.agentId;
    await engine.docker(['rm', '-f', 'farol-hub']);
    await engine.docker([...hubArgs.slice(0, 2), '--name', 'farol-hub-2', ...hubArgs.slice(2)]);
    const restartedAt = Date.now();
    await waitFor(async () => {
      const answer = await api<AgentList>(url, 'GET', '/api/agents').catch(() => null);
      if (answer?.status !== 200) return undefined;
      const agent = answer.body.agents.find((a) => a.id === agentId);
      return agent?.status === 'online' && (agent.lastSeen ?? 0) > restartedAt ? true : undefined;
    }, 60_000, 'the agent reporting to the new hub container');
    expect((await api<AgentList>(url, 'GET', '/api/agents')).body.agents).toHaveLength(1);
    const logs = await engine.docker(['logs', 'farol-agent']);
    expect(logs).not.toMatch(/hub key changed|impostor/i);
    await engine.docker(['rm', '-f', 'farol-hub-2', 'farol-agent', 'web-1']);
  }, 180_000);

  it.skipIf(composeMissing)('brings deploy/compose/compose.yaml up with these images: hub ready, the agent reporting; then down', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      FAROL_HUB_IMAGE: HUB_IMAGE,
      FAROL_AGENT_IMAGE: AGENT_IMAGE,
      FAROL_PORT: String(port),
      FAROL_ADMIN_TOKEN: ADMIN_TOKEN,
      DOCKER_SOCKET: engine.socketPath,
      COMPOSE_PROJECT_NAME: 'farolci',
    };
    // The test engine has no bridge: the same file with only the hub's network changed (host
    // network, loopback, a free port; published ports do not go with it) and a known admin token.
    const spec = parse(readFileSync(path.join(root, 'deploy/compose/compose.yaml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
    const hubService = spec.services.hub!;
    delete hubService.ports;
    hubService.network_mode = 'host';
    hubService.environment = { ...(hubService.environment as Record<string, string>), FAROL_PORT: '${FAROL_PORT}', FAROL_BIND: '127.0.0.1', FAROL_ADMIN_TOKEN: '${FAROL_ADMIN_TOKEN}' };
    const variant = path.join(composeDir.path, 'compose.yaml');
    writeFileSync(variant, stringify(spec));
    const files = ['-f', variant, '--project-directory', path.join(root, 'deploy/compose')];
    await compose(engine, [...files, 'up', '-d', 'hub'], env);
    try {
      await waitFor(async () => ((await fetch(`${url}/ready`).catch(() => null))?.status === 200 ? true : undefined), 60_000, 'the compose hub ready');
      const token = await joinToken(url, {});
      await compose(engine, [...files, 'up', '-d', 'agent'], { ...env, FAROL_JOIN_TOKEN: token, FAROL_HUB_URL: url });
      await waitFor(async () => {
        const answer = await api<AgentContainers>(url, 'GET', '/api/agents/docker-host/containers');
        return answer.status === 200 && answer.body.containers.some((c) => c.name.includes('hub')) ? true : undefined;
      }, 60_000, 'the compose agent reporting');
      const [hub] = JSON.parse(await engine.docker(['inspect', 'farolci_hub_1'])) as Array<{ HostConfig: { Memory: number } }>;
      expect(hub!.HostConfig.Memory).toBe(256 * 1_048_576);
    } finally {
      await compose(engine, [...files, 'down', '-v'], env);
    }
    expect(await engine.docker(['ps', '-aq', '--filter', 'label=com.docker.compose.project=farolci'])).toBe('');
  }, 180_000);

  it.skipIf(composeMissing)('validates both compose files with docker-compose config (needs docker-compose)', async () => {
    const single = await compose(engine, ['-f', 'compose.yaml', 'config'], {});
    expect(single).toContain('mem_limit');
    const ha = await compose(engine, ['-f', 'compose.ha.yaml', 'config'], { FAROL_POSTGRES_PASSWORD: 'example-password' });
    for (const service of ['hub-a', 'hub-b', 'postgres', 'redis', 'haproxy']) expect(ha).toContain(`  ${service}:`);
    expect(ha).toMatch(/FAROL_HUB_KEY_FILE: \/run\/secrets\/hub-key\.json/);
    expect(ha).toMatch(/FAROL_REDIS_URL: redis:\/\/redis:6379\/0/);
    // Without a database password the HA file refuses, naming the variable.
    await expect(compose(engine, ['-f', 'compose.ha.yaml', 'config'], {})).rejects.toThrow(/set FAROL_POSTGRES_PASSWORD/);
  });
});
