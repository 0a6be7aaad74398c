import { describe, expect, it } from 'vitest';
import { buildDeployCommand, parseRegistrySecret } from './containers-deploy.js';

describe('farol containers deploy flags (#18)', () => {
  it('maps docker-run-like flags onto the validated deploy command', () => {
    expect(
      buildDeployCommand({
        image: 'nginx:1.27',
        name: 'web',
        publish: ['8080:80', '127.0.0.1:5353:53/udp'],
        env: ['KEY=V=with=equals'],
        envSecret: ['DB_PASSWORD'],
        registrySecret: 'REG_LOGIN',
        volume: ['/srv/web:/usr/share/nginx/html:ro'],
        restart: 'unless-stopped',
        label: ['k=v'],
        healthCmd: 'wget -q -O- http://localhost/',
        healthInterval: 5,
      }),
    ).toEqual({
      kind: 'docker_deploy',
      image: 'nginx:1.27',
      name: 'web',
      ports: [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      ],
      env: { KEY: 'V=with=equals' },
      secrets: ['DB_PASSWORD'],
      registrySecret: 'REG_LOGIN',
      mounts: [{ source: '/srv/web', target: '/usr/share/nginx/html', readOnly: true }],
      restart: 'unless-stopped',
      labels: { k: 'v' },
      health: { cmd: ['wget', '-q', '-O-', 'http://localhost/'], intervalSeconds: 5 },
    });
  });

  it.each([
    [{ publish: ['80'] }, /^-p 80: a port is HOST:CONTAINER/],
    [{ volume: ['relative:/x'] }, /^-v relative:\/x: .*absolute/],
    [{ env: ['NOVALUE'] }, /^-e "NOVALUE": expected KEY=value/],
    [{ env: ['A B=1'] }, /^env\.A B: environment names/],
    [{ image: 'nginx;reboot' }, /^image: an image reference/],
    [{ name: '../etc' }, /^name: a container name/],
  ])('says which flag is wrong: %o', (change, message) => {
    expect(() => buildDeployCommand({ image: 'nginx:1.27', name: 'web', ...change })).toThrow(message);
  });

  it('takes --registry-secret as a secret name only (ADR 0023)', () => {
    expect(parseRegistrySecret('REG_LOGIN')).toBe('REG_LOGIN');
    for (const bad of ['REG-LOGIN', '$(id)', '1REG', '']) expect(() => parseRegistrySecret(bad)).toThrow(/a secret name/);
  });
});
