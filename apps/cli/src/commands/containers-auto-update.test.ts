import type { ContainerUpdateRule } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { NOW, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

let cli: CliHarness;
let hub: FakeHub;

const rule: ContainerUpdateRule = {
  id: 'cur_abc',
  selector: 'env=prod',
  containers: ['web', 'api-*'],
  window: { start: '02:00', end: '05:00', timezone: 'Europe/Lisbon' },
  channels: ['ops'],
  createdBy: 'admin',
  createdAt: NOW,
};

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({
    'GET /api/container-updates/rules': { status: 200, body: { rules: [rule] } },
    'POST /api/container-updates/rules': { status: 201, body: rule },
    'DELETE /api/container-updates/rules/cur_abc': { status: 204 },
  });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol containers auto-update (#18)', () => {
  it('lists the rules', async () => {
    const result = await cli.run(['containers', 'auto-update', 'ls', '--hub', hub.url, '--token', 't']);
    expect(result.stdout.split('\n')).toEqual([
      'ID       MACHINES  CONTAINERS  WINDOW                     CHANNELS  REGISTRY  BY',
      'cur_abc  env=prod  web,api-*   02:00-05:00 Europe/Lisbon  ops       -         admin',
      '',
    ]);
  });

  it('adds a rule with globs, a window and channels, and refuses a bad glob before asking the hub', async () => {
    const added = await cli.run(['containers', 'auto-update', 'add', 'env=prod', '-c', 'web', '-c', 'api-*', '--window', '02:00-05:00@Europe/Lisbon', '--channel', 'ops', '--hub', hub.url, '--token', 't']);
    expect(added).toMatchObject({ code: 0, stdout: 'added auto-update rule cur_abc: web,api-* on env=prod\n' });
    expect(hub.requests[0]?.body).toEqual({ selector: 'env=prod', containers: ['web', 'api-*'], window: { start: '02:00', end: '05:00', timezone: 'Europe/Lisbon' }, channels: ['ops'] });
    const bad = await cli.run(['containers', 'auto-update', 'add', 'all', '-c', '../x', '--hub', hub.url, '--token', 't']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/a container name or glob/);
    expect(hub.requests).toHaveLength(1);
  });

  it('adds a rule naming a private registry and the secret with its login, and wants both (ADR 0023)', async () => {
    const added = await cli.run(['containers', 'auto-update', 'add', 'all', '-c', 'app', '--registry', 'reg.lan:5000', '--registry-secret', 'REG_LOGIN', '--hub', hub.url, '--token', 't']);
    expect(added.code).toBe(0);
    expect(hub.requests[0]?.body).toEqual({ selector: 'all', containers: ['app'], registry: 'reg.lan:5000', registrySecret: 'REG_LOGIN' });
    for (const args of [['--registry', 'reg.lan:5000'], ['--registry-secret', 'REG_LOGIN'], ['--registry', 'http://reg.lan', '--registry-secret', 'REG_LOGIN'], ['--registry', 'reg.lan', '--registry-secret', 'REG-LOGIN']]) {
      const bad = await cli.run(['containers', 'auto-update', 'add', 'all', '-c', 'app', ...args, '--hub', hub.url, '--token', 't']);
      expect(bad.code, args.join(' ')).not.toBe(0);
    }
    expect(hub.requests).toHaveLength(1);
  });

  it('removes a rule', async () => {
    expect(await cli.run(['containers', 'auto-update', 'rm', 'cur_abc', '--hub', hub.url, '--token', 't'])).toMatchObject({ code: 0, stdout: 'removed auto-update rule cur_abc\n' });
  });
});
