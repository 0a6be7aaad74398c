import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerDeployCommandSchema } from '@farol/protocol';
import { loadPolicy, type Policy } from '../remote/policy.schema.js';
import { createBodyOf, imagePath, pullQuery, recreateBodyOf, rollbackRepository, type InspectForRecreate } from './deploy.js';

describe('deploy bodies (#18)', () => {
  it('turns a validated deploy into an Engine API create body, secrets already in env', () => {
    const command = DockerDeployCommandSchema.parse({
      kind: 'docker_deploy',
      image: 'nginx:1.27',
      name: 'web',
      ports: [{ hostPort: 8080, containerPort: 80 }],
      env: { KEY: 'V', DB_PASSWORD: 'from-the-hub' },
      mounts: [{ source: '/srv/web', target: '/usr/share/nginx/html', readOnly: true }],
      restart: 'unless-stopped',
      labels: { k: 'v' },
      health: { cmd: ['curl', '-f', 'http://localhost/'], intervalSeconds: 5, retries: 3 },
    });
    expect(createBodyOf(command)).toEqual({
      Image: 'nginx:1.27',
      Env: ['KEY=V', 'DB_PASSWORD=from-the-hub'],
      Labels: { k: 'v' },
      ExposedPorts: { '80/tcp': {} },
      Healthcheck: { Test: ['CMD', 'curl', '-f', 'http://localhost/'], Interval: 5_000_000_000, Retries: 3 },
      HostConfig: {
        PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
        Binds: ['/srv/web:/usr/share/nginx/html:ro'],
        RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      },
    });
  });

  it('always pulls one tag or digest, never every tag of a repository', () => {
    expect(pullQuery('nginx')).toEqual({ fromImage: 'nginx', tag: 'latest' });
    expect(pullQuery('127.0.0.1:5000/app:1')).toEqual({ fromImage: '127.0.0.1:5000/app', tag: '1' });
    expect(pullQuery('127.0.0.1:5000/app')).toEqual({ fromImage: '127.0.0.1:5000/app', tag: 'latest' });
    expect(pullQuery(`app@sha256:${'b'.repeat(64)}`)).toEqual({ fromImage: 'app', tag: `sha256:${'b'.repeat(64)}` });
  });

  it('names rollback tags validly whatever the container name', () => {
    expect(rollbackRepository('Web_App.1')).toBe('farol-rollback/web-app-1');
    expect(() => imagePath('../../containers/x')).toThrow(/not an image reference/);
  });

  it('recreates with the operator\'s configuration and the new image\'s own defaults', () => {
    const container: InspectForRecreate = {
      Id: 'abcdef0123456789'.repeat(4),
      Name: '/web',
      Image: 'sha256:old',
      Config: {
        Image: 'app:1',
        Hostname: 'abcdef012345',
        Env: ['PATH=/bin', 'VERSION=1', 'MODE=prod', 'DB_PASSWORD=x'],
        Labels: { 'org.image.version': '1', team: 'web' },
        Cmd: ['sh', '-c', 'loop'],
        Healthcheck: { Test: ['CMD', 'test', '-f', '/ok'] },
      },
      HostConfig: { NetworkMode: 'appnet', Binds: ['/srv:/site:ro'], RestartPolicy: { Name: 'always' }, PortBindings: { '80/tcp': [{ HostPort: '8080' }] } },
      NetworkSettings: { Networks: { appnet: { Aliases: ['abcdef012345', 'web'] }, backend: { Aliases: null } } },
    };
    const oldImage = { Id: 'sha256:old', Config: { Env: ['PATH=/bin', 'VERSION=1'], Labels: { 'org.image.version': '1' }, Cmd: ['sh', '-c', 'loop'] } };
    const { body, extraNetworks } = recreateBodyOf(container, oldImage, 'app:1');
    expect(body).toEqual({
      Image: 'app:1',
      Env: ['MODE=prod', 'DB_PASSWORD=x'],
      Labels: { team: 'web' },
      Healthcheck: { Test: ['CMD', 'test', '-f', '/ok'] },
      HostConfig: container.HostConfig,
      NetworkingConfig: { EndpointsConfig: { appnet: { Aliases: ['web'] } } },
    });
    expect(extraNetworks).toEqual([{ name: 'backend', config: { Aliases: [] } }]);
  });
});

describe('docker.deploy in the agent policy (#18)', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const policyWith = (content: unknown | null): Policy => {
    const dir = mkdtempSync(path.join(tmpdir(), 'farol-policy-'));
    dirs.push(dir);
    const file = path.join(dir, 'policy.json');
    if (content !== null) writeFileSync(file, JSON.stringify(content));
    const policy = loadPolicy(file);
    if ('error' in policy) throw new Error(policy.error);
    return policy;
  };

  it('refuses deploy, update and rm on a machine without a policy file, and allows the rest', () => {
    const policy = policyWith(null);
    for (const kind of ['docker_deploy', 'docker_update', 'docker_rm'] as const) expect(policy.allows(kind), kind).toBe(false);
    for (const kind of ['shell', 'docker_restart', 'docker_pull', 'docker_images'] as const) expect(policy.allows(kind), kind).toBe(true);
  });

  it('allows them when the machine lists docker.deploy (or "*"), not with docker or docker_write', () => {
    expect(policyWith({ allow: ['docker.deploy'] }).allows('docker_update')).toBe(true);
    expect(policyWith({ allow: ['*'] }).allows('docker_deploy')).toBe(true);
    expect(policyWith({ allow: ['docker', 'docker_write'] }).allows('docker_deploy')).toBe(false);
    expect(policyWith({ allow: ['docker.images'] }).allows('docker_prune')).toBe(true);
  });
});
