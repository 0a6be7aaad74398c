import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

let cli: CliHarness;
let hub: FakeHub;

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub(
    { 'GET /api/me': { status: 200, body: { kind: 'user', id: 'usr_1', name: 'admin', role: 'admin', permissions: ['nodes:read'], scope: null, via: 'token', tokenId: 'tok_admin', mfaEnabled: false, mfaAt: null } }, 'GET /api/agents': { status: 200, body: { agents: [] } } },
    { token: 'good' },
  );
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol login', () => {
  it('checks the token with the hub and saves it readable by the owner only', async () => {
    const result = await cli.run(['login', '--hub', `${hub.url}/`, '--token', 'good']);

    const file = path.join(cli.home, '.config', 'farol', 'config.json');
    expect(result).toMatchObject({ code: 0, stdout: `logged in to ${hub.url} as admin (admin); saved to ${file}\n` });
    expect(hub.calls()).toEqual(['GET /api/me']);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ hubUrl: hub.url, token: 'good' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('lets later commands use the saved hub and token', async () => {
    await cli.run(['login', '--hub', hub.url, '--token', 'good']);
    const result = await cli.run(['agents', 'ls']);
    expect(result.code).toBe(0);
    expect(hub.requests.at(-1)?.authorization).toBe('Bearer good');
  });

  it('writes to XDG_CONFIG_HOME, or to FAROL_CONFIG when set', async () => {
    await cli.run(['login', '--hub', hub.url, '--token', 'good'], { XDG_CONFIG_HOME: path.join(cli.home, 'xdg') });
    expect(existsSync(path.join(cli.home, 'xdg', 'farol', 'config.json'))).toBe(true);
    const custom = path.join(cli.home, 'custom.json');
    await cli.run(['login', '--hub', hub.url, '--token', 'good'], { FAROL_CONFIG: custom });
    expect(existsSync(custom)).toBe(true);
  });

  it('refuses a bad token in one line and saves nothing', async () => {
    const result = await cli.run(['login', '--hub', hub.url, '--token', 'bad']);
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `farol: the hub refused the token (token_invalid); run farol login --hub ${hub.url} --token T\n`,
    });
    expect(existsSync(path.join(cli.home, '.config', 'farol', 'config.json'))).toBe(false);
  });

  it('asks for a token when none is given', async () => {
    const result = await cli.run(['login', '--hub', hub.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`farol: sign in: farol login --hub ${hub.url} --user NAME (password in FAROL_PASSWORD), or --token T\n`);
  });
});
