import { describe, expect, it } from 'vitest';
import { CommandSchema, commandSecretNames, describeCommand } from './jobs.js';
import {
  ContainerUpdateRuleCreateSchema,
  DockerDeployCommandSchema,
  isImageRef,
  parseMountSpec,
  parsePortSpec,
  parseRegistryCredential,
  parseUpdateWindowLabel,
  registryOf,
} from './containers.js';

const base = { kind: 'docker_deploy', image: 'nginx:1.27', name: 'web' } as const;

describe('container deploy schema (#18)', () => {
  it('accepts the fields of a full deploy', () => {
    const parsed = DockerDeployCommandSchema.parse({
      ...base,
      ports: [{ hostPort: 8080, containerPort: 80 }, { hostIp: '127.0.0.1', hostPort: 53, containerPort: 53, protocol: 'udp' }],
      env: { KEY: 'value with spaces; and $(not a shell)' },
      secrets: ['DB_PASSWORD'],
      mounts: [{ source: '/srv/web', target: '/usr/share/nginx/html', readOnly: true }],
      restart: 'unless-stopped',
      labels: { 'com.example/team': 'web' },
      network: 'none',
      health: { cmd: ['wget', '-q', '-O-', 'http://localhost/'], intervalSeconds: 5 },
    });
    expect(parsed.ports?.[0]?.protocol).toBe('tcp');
    expect(CommandSchema.parse(parsed)).toEqual(parsed);
  });

  it.each([
    ['a name with a path', { name: '../etc' }],
    ['a name with a shell', { name: 'web;reboot' }],
    ['an image with a space', { image: 'nginx latest' }],
    ['an image that is an option', { image: '--privileged' }],
    ['an upper-case repository', { image: 'NGINX' }],
    ['an image with a shell', { image: 'nginx;reboot' }],
    ['a port out of range', { ports: [{ hostPort: 0, containerPort: 80 }] }],
    ['an odd protocol', { ports: [{ hostPort: 1, containerPort: 80, protocol: 'sctp' }] }],
    ['a relative mount', { mounts: [{ source: 'srv', target: '/x' }] }],
    ['a mount with ..', { mounts: [{ source: '/srv/../etc', target: '/x' }] }],
    ['a control character in a mount', { mounts: [{ source: '/srv\nx', target: '/x' }] }],
    ['a mount with options smuggled in', { mounts: [{ source: '/srv', target: '/x:rw' }] }],
    ['an env key with =', { env: { 'A=B': 'x' } }],
    ['a NUL in a value', { env: { A: 'x\u0000' } }],
    ['a label key with ;', { labels: { 'k;v': 'x' } }],
    ['a restart policy Docker lacks', { restart: 'sometimes' }],
    ['a network with a shell', { network: '$(reboot)' }],
    ['an empty health command', { health: { cmd: [] } }],
    ['an unknown field', { privileged: true }],
    ['a secret that is also a plain variable', { env: { DB_PASSWORD: 'x' }, secrets: ['DB_PASSWORD'] }],
  ])('refuses %s', (_what, change) => {
    expect(DockerDeployCommandSchema.safeParse({ ...base, ...change }).success).toBe(false);
  });

  it('knows image references as Docker writes them', () => {
    for (const ok of ['nginx', 'nginx:1.27', 'library/nginx:latest', 'ghcr.io/org/app:2', '127.0.0.1:5000/app:1', `registry:5000/app@sha256:${'a'.repeat(64)}`]) expect(isImageRef(ok), ok).toBe(true);
    for (const bad of ['', 'Nginx', 'nginx:', ':1', 'a b', 'nginx@sha256:abc', '/nginx', 'nginx/']) expect(isImageRef(bad), bad).toBe(false);
  });

  it('parses -p and -v as docker run does, and says what is wrong otherwise', () => {
    expect(parsePortSpec('8080:80')).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    expect(parsePortSpec('127.0.0.1:53:53/udp')).toEqual({ hostIp: '127.0.0.1', hostPort: 53, containerPort: 53, protocol: 'udp' });
    expect(parsePortSpec('80')).toMatch(/HOST:CONTAINER/);
    expect(parsePortSpec('8080:80;reboot')).toMatch(/HOST:CONTAINER/);
    expect(parseMountSpec('/srv/web:/usr/share/nginx/html:ro')).toEqual({ source: '/srv/web', target: '/usr/share/nginx/html', readOnly: true });
    expect(parseMountSpec('srv:/x')).toMatch(/absolute path/);
    expect(parseMountSpec('/a:/b:z')).toMatch(/host\/path/);
  });

  it('names the secrets of a deploy, and describes it without values', () => {
    const command = DockerDeployCommandSchema.parse({ ...base, env: { MODE: 'prod' }, secrets: ['DB_PASSWORD'], ports: [{ hostPort: 8080, containerPort: 80 }] });
    expect(commandSecretNames(command)).toEqual(['DB_PASSWORD']);
    expect(describeCommand(command)).toBe('docker deploy web nginx:1.27 -p 8080:80 --env-secret DB_PASSWORD');
  });
});

describe('private registries and update windows (ADR 0023, #18)', () => {
  it('tells the registry of an image reference the way Docker does', () => {
    expect(registryOf('nginx:1.27')).toBe('docker.io');
    expect(registryOf('library/nginx')).toBe('docker.io');
    expect(registryOf('ghcr.io/org/app:2')).toBe('ghcr.io');
    expect(registryOf('127.0.0.1:5000/app:1')).toBe('127.0.0.1:5000');
    expect(registryOf('localhost/app')).toBe('localhost');
    expect(registryOf('[::1]:5000/app:1')).toBe('[::1]:5000');
  });

  it('reads a registry secret only as {"username","password"}, and never quotes it when it is wrong', () => {
    expect(parseRegistryCredential('{"username":"ci","password":"s3cret-pw"}')).toEqual({ username: 'ci', password: 's3cret-pw' });
    for (const value of ['ci:s3cret-pw', '{"username":"ci"}', '{"username":"","password":"s3cret-pw"}', '{"username":"ci","password":"s3cret-pw","token":"x"}', '["ci","s3cret-pw"]', '{"username":"c\\ni","password":"s3cret-pw"}']) {
      const answer = parseRegistryCredential(value);
      expect(typeof answer, value).toBe('string');
      expect(answer).not.toContain('s3cret-pw');
      expect(answer).toContain('{"username":"…","password":"…"}');
    }
  });

  it('takes a registry secret on pull, deploy and update, and asks for it like any command secret', () => {
    const update = CommandSchema.parse({ kind: 'docker_update', container: 'web', registrySecret: 'REGISTRY' });
    expect(commandSecretNames(update)).toEqual(['REGISTRY']);
    expect(describeCommand(update)).toBe('docker update web --registry-secret REGISTRY');
    const deploy = CommandSchema.parse({ ...base, secrets: ['DB'], registrySecret: 'REGISTRY' });
    expect(commandSecretNames(deploy)).toEqual(['DB', 'REGISTRY']);
    expect(commandSecretNames(CommandSchema.parse({ kind: 'docker_pull', image: 'reg:5000/app:1', registrySecret: 'REGISTRY' }))).toEqual(['REGISTRY']);
    expect(CommandSchema.safeParse({ kind: 'docker_pull', image: 'app', registrySecret: 'A-B' }).success).toBe(false);
    expect(CommandSchema.safeParse({ kind: 'docker_pull', image: 'app', registrySecret: '$(id)' }).success).toBe(false);
  });

  it('wants a rule\'s registry and its secret together, and a registry that is a host', () => {
    const rule = { selector: 'all', containers: ['web'] };
    expect(ContainerUpdateRuleCreateSchema.safeParse({ ...rule, registry: '127.0.0.1:5000', registrySecret: 'REG' }).success).toBe(true);
    expect(ContainerUpdateRuleCreateSchema.safeParse({ ...rule, registry: '127.0.0.1:5000' }).success).toBe(false);
    expect(ContainerUpdateRuleCreateSchema.safeParse({ ...rule, registrySecret: 'REG' }).success).toBe(false);
    for (const registry of ['http://reg:5000', 'reg:5000/path', 'reg :5000', '-reg', 'reg;rm']) {
      expect(ContainerUpdateRuleCreateSchema.safeParse({ ...rule, registry, registrySecret: 'REG' }).success, registry).toBe(false);
    }
  });

  it('reads farol.auto-update.window strictly: HH:MM-HH:MM in UTC or in a named time zone', () => {
    expect(parseUpdateWindowLabel('02:00-04:00')).toEqual({ start: '02:00', end: '04:00', timezone: 'UTC' });
    expect(parseUpdateWindowLabel('22:30-01:00 Europe/Lisbon')).toEqual({ start: '22:30', end: '01:00', timezone: 'Europe/Lisbon' });
    expect(parseUpdateWindowLabel('01:00-03:00 America/Argentina/Buenos_Aires')).toMatchObject({ timezone: 'America/Argentina/Buenos_Aires' });
    for (const bad of ['2:00-4:00', '02:00-24:00', '02:00 - 04:00', '02:00-04:00 Mars/Olympus', '02:00-04:00  UTC', '02:00-02:00', '02:00-04:00;rm', '', 'always']) {
      expect(typeof parseUpdateWindowLabel(bad), bad).toBe('string');
    }
  });
});
