import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '@farol/protocol';
import { dockerSkipReason, startDockerEngine, TEST_IMAGE, type DockerEngine } from '../support/docker-engine.js';
import { registrySkipReason, startDockerRegistry, type DockerRegistry } from '../support/docker-registry.js';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Issue #18, against the real thing: a hub process, an agent process on a dockerd of its own,
// Debian's docker-registry on loopback, and the farol CLI. Deploy, update to a new digest with
// the same configuration, roll back from an image whose health check fails, policy refusals,
// injection attempts, and a secret that never reaches the job, the audit log or the database.

const skip = dockerSkipReason() ?? registrySkipReason();
const SECRET = 'farol-e2e-db-password-7f3a9c1e55';
const LOOP = 'trap "exit 0" TERM; while true; do sleep 1; done';

interface Inspect {
  Id: string;
  Image: string;
  Config: { Env: string[]; Labels: Record<string, string>; Healthcheck?: { Test: string[] }; Image: string };
  HostConfig: { Binds: string[] | null; RestartPolicy: { Name: string }; NetworkMode: string };
  State: { Running: boolean; Health?: { Status: string } };
}

describe.skipIf(skip !== null)('farol containers deploy / update / rm (hub, agent, CLI, real dockerd and registry) (#18)', () => {
  const dir = tempDir('deploy');
  const procs: Proc[] = [];
  let engine: DockerEngine;
  let registry: DockerRegistry;
  let hub: Proc & { url: string };
  let app: string;
  const policyFile = () => path.join(dir.path, 'box', 'policy.json');
  const hubData = () => path.join(dir.path, 'hub');
  const site = () => path.join(dir.path, 'site');

  function cli(args: string[]): Promise<{ code: number | null; output: string }> {
    const proc = run([farolBin, ...args], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
    return proc.exited.then((code) => ({ code, output: proc.output() }));
  }

  /** Commits a busybox-based image (with /ok when it should be healthy), pushes it as app:1 and drops the local tag. */
  async function pushApp(version: string, healthy: boolean): Promise<{ id: string; digest: string }> {
    const maker = `make-${version}`;
    await engine.docker(['run', '--name', maker, '--network', 'none', TEST_IMAGE, 'sh', '-c', `echo ${version} > /version${healthy ? ' && touch /ok' : ''}`]);
    await engine.docker(['commit', '--change', `CMD ["sh","-c",${JSON.stringify(LOOP)}]`, maker, app]);
    await engine.docker(['rm', maker]);
    await engine.docker(['push', app]);
    const id = (await engine.docker(['image', 'inspect', '--format', '{{.Id}}', app])).trim();
    const digest = (await engine.docker(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', app])).trim();
    // Untag it, so only a pull from the registry brings it back.
    await engine.docker(['rmi', app]);
    return { id, digest };
  }

  const rollbackTags = async () => (await engine.docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').filter((tag) => tag.startsWith('farol-rollback/web:'));
  let firstRollbackTags: string[] = [];
  const inspect = (name: string) => engine.api<Inspect>(`/containers/${name}/json`);
  const command = (body: unknown) => api<Job & { code?: string; detail?: string }>(hub.url, 'POST', '/api/agents/box/command', body);

  beforeAll(async () => {
    engine = await startDockerEngine();
    registry = await startDockerRegistry();
    app = `${registry.address}/app:1`;
    mkdirSync(site());
    writeFileSync(path.join(site(), 'index.html'), 'hello');
    hub = await startHubProcess(hubData(), await freePort());
    procs.push(hub);
    const token = await joinToken(hub.url, { uses: 1 });
    procs.push(run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'box'), '--name', 'box', '--interval', '1s', '--docker-host', engine.host]));
    await waitFor(async () => ((await api(hub.url, 'GET', '/api/agents/box')).status === 200 ? true : undefined), 30_000, 'box enrolled');
    expect((await api(hub.url, 'PUT', '/api/secrets/DB_PASSWORD', { value: SECRET, scope: '*' })).status).toBeLessThan(300);
  }, 180_000);

  afterAll(async () => {
    for (const proc of procs) await proc.stop('SIGTERM');
    await engine?.stop();
    await registry?.stop();
    dir.remove();
  }, 60_000);

  const deployArgs = () => [
    'containers', 'deploy', 'box', '--image', app, '--name', 'web', '--network', 'none',
    '-e', 'MODE=prod', '--env-secret', 'DB_PASSWORD', '-v', `${site()}:/site:ro`, '--restart', 'unless-stopped',
    '--label', 'team=web', '--health-cmd', 'test -f /ok', '--health-interval', '1',
  ];

  it('refuses a deploy on a machine without a policy: docker.deploy is off by default (#18)', async () => {
    await pushApp('v1', true);
    const refused = await cli(deployArgs());
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/refused by agent policy: docker_deploy is not allowed here/);
    await expect(inspect('web')).rejects.toThrow(/404/);
  }, 60_000);

  it('deploys through the hub and the agent, pulling the image from the registry, with the secret as environment (#18)', async () => {
    writeFileSync(policyFile(), JSON.stringify({ allow: ['docker', 'docker.deploy', 'docker.images'] }));
    const deployed = await cli(deployArgs());
    expect(deployed.output).toMatch(/box\s+\| pulling /);
    expect(deployed.output).toMatch(/box\s+\| started web/);
    expect(deployed.code).toBe(0);
    const web = await engine.waitForContainer('web', (c) => c.State.Health?.Status === 'healthy', 30_000, 'healthy');
    const details = await inspect(web.Name.slice(1));
    expect(details.Config.Env).toEqual(expect.arrayContaining(['MODE=prod', `DB_PASSWORD=${SECRET}`]));
    expect(details.Config.Labels).toMatchObject({ team: 'web' });
    expect(details.HostConfig).toMatchObject({ Binds: [`${site()}:/site:ro`], RestartPolicy: { Name: 'unless-stopped' }, NetworkMode: 'none' });
    expect(details.Config.Healthcheck?.Test).toEqual(['CMD', 'test', '-f', '/ok']);
  }, 90_000);

  it('updates to a new digest with the same configuration, keeping the previous image for rollback (#18)', async () => {
    const before = await inspect('web');
    const v2 = await pushApp('v2', true);
    const answer = await cli(['containers', 'update', 'box', 'web', '--health-timeout', '30', '--json']);
    expect(answer.code).toBe(0);
    const job = JSON.parse(answer.output) as Job;
    expect(job.targets[0]!.data).toMatchObject({ kind: 'docker_update', outcome: 'updated', previousImageId: before.Image, newImageId: v2.id, digest: v2.digest, reason: null });
    const after = await inspect('web');
    expect(after.Image).toBe(v2.id);
    expect(after.Id).not.toBe(before.Id);
    expect(after.Config.Env).toEqual(before.Config.Env);
    expect(after.Config.Labels).toEqual(before.Config.Labels);
    expect(after.Config.Healthcheck).toEqual(before.Config.Healthcheck);
    expect(after.HostConfig).toMatchObject({ Binds: before.HostConfig.Binds, RestartPolicy: before.HostConfig.RestartPolicy, NetworkMode: 'none' });
    await engine.waitForContainer('web', (c) => c.State.Health?.Status === 'healthy', 30_000, 'healthy after the update');
    // The previous image stays, tagged for a rollback, until the next update.
    firstRollbackTags = await rollbackTags();
    expect(firstRollbackTags).toHaveLength(1);

    const again = await cli(['containers', 'update', 'box', 'web', '--json']);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.output) as Job).targets[0]!.data).toMatchObject({ outcome: 'unchanged' });
  }, 120_000);

  it('rolls back to the previous digest when the new image is not healthy, and says why (#18)', async () => {
    const before = await inspect('web');
    const v3 = await pushApp('v3', false);
    const answer = await cli(['containers', 'update', 'box', 'web', '--health-timeout', '20']);
    expect(answer.code).toBe(1);
    expect(answer.output).toMatch(/rolled back to the previous image: the new container is unhealthy/);
    const after = await inspect('web');
    expect(after.Image).toBe(before.Image);
    expect(after.Image).not.toBe(v3.id);
    expect(after.Config.Env).toEqual(before.Config.Env);
    await engine.waitForContainer('web', (c) => c.State.Running && c.State.Health?.Status === 'healthy', 30_000, 'healthy after the rollback');
    const names = JSON.parse(await engine.docker(['ps', '-a', '--format', '{{json .Names}}', '--no-trunc']).then((out) => `[${out.trim().split('\n').join(',')}]`)) as string[];
    expect(names.filter((n) => n.startsWith('web'))).toEqual(['web']);
    // This update cleaned up the earlier update's rollback image and kept the one now running.
    const tags = await rollbackTags();
    expect(tags).toHaveLength(1);
    expect(tags).not.toEqual(firstRollbackTags);
  }, 120_000);

  it('refuses a deploy the machine\'s policy does not list (docker only) (#18)', async () => {
    writeFileSync(policyFile(), JSON.stringify({ allow: ['docker'] }));
    const refused = await command({ command: { kind: 'docker_deploy', image: app, name: 'web2', network: 'none' } });
    expect(refused.body.targets[0]).toMatchObject({ state: 'refused', error: expect.stringMatching(/docker_deploy is not allowed here/) });
    await expect(inspect('web2')).rejects.toThrow(/404/);
    writeFileSync(policyFile(), JSON.stringify({ allow: ['docker', 'docker.deploy', 'docker.images'] }));
  }, 60_000);

  it('refuses injection attempts in every field at 400, before anything is sent (#18)', async () => {
    const base = { kind: 'docker_deploy', image: app, name: 'web3' };
    const attempts: Array<Record<string, unknown>> = [
      { ...base, name: '../etc' },
      { ...base, name: 'web;rm -rf /' },
      { ...base, name: '-web' },
      { ...base, image: 'nginx; rm -rf /' },
      { ...base, image: '--privileged' },
      { ...base, image: 'nginx:1.27 --net=host' },
      { ...base, image: 'NGINX' },
      { ...base, ports: [{ hostPort: 70000, containerPort: 80 }] },
      { ...base, ports: [{ hostPort: 8080, containerPort: 80, protocol: 'sctp;x' }] },
      { ...base, ports: [{ hostIp: '0.0.0.0; x', hostPort: 8080, containerPort: 80 }] },
      { ...base, mounts: [{ source: 'relative/path', target: '/x' }] },
      { ...base, mounts: [{ source: '/srv/../etc', target: '/x' }] },
      { ...base, mounts: [{ source: '/srv', target: '/x:rw,z' }] },
      { ...base, env: { 'A=B': 'x' } },
      { ...base, env: { 'A B': 'x' } },
      { ...base, env: { A: 'x\u0000y' } },
      { ...base, secrets: ['DB-PASSWORD'] },
      { ...base, labels: { 'k;v': 'x' } },
      { ...base, restart: 'sometimes' },
      { ...base, network: '$(reboot)' },
      { ...base, health: { cmd: [] } },
      { ...base, privileged: true },
      { kind: 'docker_rm', container: '../../containers' },
      { kind: 'docker_update', container: 'web/../x' },
      { kind: 'docker_pull', image: 'busybox latest' },
    ];
    for (const attempt of attempts) {
      const answer = await command({ command: attempt });
      expect(answer.status, JSON.stringify(attempt)).toBe(400);
      expect(answer.body.code).toBe('validation_failed');
    }
    const cliAttempt = await cli(['containers', 'deploy', 'box', '--image', app, '--name', 'x', '-p', '8080:80;reboot']);
    expect(cliAttempt.code).toBe(2);
    expect(cliAttempt.output).toMatch(/-p 8080:80;reboot: a port is HOST:CONTAINER/);
  }, 60_000);

  it('pulls, lists and prunes images, and removes a container (#18)', async () => {
    const pulled = await cli(['images', 'pull', 'box', app]);
    expect(pulled.code).toBe(0);
    expect(pulled.output).toMatch(/box\s+\| .*(Digest: sha256|Status: )/);
    const listed = await command({ command: { kind: 'docker_images' } });
    expect(listed.body.targets[0]!.data).toMatchObject({ kind: 'docker_images', images: expect.arrayContaining([expect.objectContaining({ tags: expect.arrayContaining([app]) })]) });
    expect((await cli(['images', 'prune', 'box'])).output).toMatch(/removed \d+ image\(s\)/);

    const running = await cli(['containers', 'rm', 'box', 'web']);
    expect(running.code).toBe(1);
    expect(running.output).toMatch(/web is running: stop it first or use --force/);
    expect((await cli(['containers', 'rm', 'box', 'web', '--force'])).code).toBe(0);
    await expect(inspect('web')).rejects.toThrow(/404/);
  }, 120_000);

  it('never stores the secret\'s value: not in the jobs, the audit log or the database files (#18)', async () => {
    const jobs = await api<{ jobs: Array<{ id: string }> }>(hub.url, 'GET', '/api/jobs?limit=500');
    expect(jobs.body.jobs.length).toBeGreaterThan(3);
    for (const { id } of jobs.body.jobs) expect(JSON.stringify((await api(hub.url, 'GET', `/api/jobs/${id}`)).body)).not.toContain(SECRET);
    const audit = await api(hub.url, 'GET', '/api/audit?limit=500');
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).toMatch(/docker[ _]deploy/);
    expect(JSON.stringify(audit.body)).not.toContain(SECRET);
    const files: string[] = [];
    const walk = (at: string): void => {
      for (const entry of readdirSync(at)) {
        const full = path.join(at, entry);
        if (statSync(full).isDirectory()) walk(full);
        else files.push(full);
      }
    };
    walk(hubData());
    expect(files.some((f) => /\.db$/.test(f))).toBe(true);
    for (const file of files) expect(readFileSync(file).includes(Buffer.from(SECRET)), file).toBe(false);
  }, 60_000);
});
