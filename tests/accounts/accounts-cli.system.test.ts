import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubFixture, type HubFixture } from '../../apps/hub/src/testing/hub-fixture.js';
import { createCliHarness, type CliHarness } from '../../apps/cli/src/test-support/cli-runner.js';

/** The CLI of issue #6 against a real hub: sign in with a password, API tokens, users, join tokens. */
describe('farol login, tokens, users and join-tokens against a real hub', () => {
  let hub: HubFixture;
  let cli: CliHarness;

  beforeAll(async () => {
    hub = await startHubFixture();
    cli = await createCliHarness();
  });
  afterAll(async () => {
    await cli?.cleanup();
    await hub?.stop();
  });

  it('signs in with username and password, saves a new API token, and later commands use it', async () => {
    const wrong = await cli.run(['login', '--hub', hub.url, '--user', 'admin'], { FAROL_PASSWORD: 'not the password at all' });
    expect(wrong).toMatchObject({ code: 1 });
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toContain('wrong username or password');

    const login = await cli.run(['login', '--hub', hub.url, '--user', 'admin'], { FAROL_PASSWORD: hub.adminPassword! });
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`logged in to ${hub.url} as admin (admin)`);

    // Minting a token proves the password again (issue #11): one line says how when it is missing.
    const unproven = await cli.run(['api-tokens', 'create', 'nightly backup']);
    expect(unproven).toMatchObject({ code: 1, stderr: 'farol: creating an API token needs your password: FAROL_PASSWORD=… farol api-tokens create "nightly backup"\n' });
    const proof = { FAROL_PASSWORD: hub.adminPassword! };
    const created = await cli.run(['tokens', 'create', 'nightly backup', '--ttl', '7d', '--permission', 'nodes:read', '--json'], proof);
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; token: string; permissions: string[] };
    expect(token.permissions).toEqual(['nodes:read']);
    expect((await hub.api('GET', '/api/agents', undefined, token.token)).status).toBe(200);
    expect((await hub.api('GET', '/api/audit', undefined, token.token)).status).toBe(403);

    const listed = await cli.run(['tokens', 'ls']);
    expect(listed.stdout).toMatch(new RegExp(`${token.id}\\s+nightly backup\\s+active\\s+nodes:read`));
    expect(listed.stdout).not.toContain(token.token);

    expect((await cli.run(['tokens', 'revoke', token.id])).stderr).toContain('revoking another API token needs your password');
    expect((await cli.run(['tokens', 'revoke', token.id], proof)).stdout).toBe(`revoked API token ${token.id}\n`);
    expect((await hub.api('GET', '/api/agents', undefined, token.token)).status).toBe(401);
    const missing = await cli.run(['tokens', 'revoke', 'tok_nope']);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('no API token "tok_nope"') });
  });

  it('adds users, changes their role and scope, disables them', async () => {
    const added = await cli.run(['users', 'add', 'rita', '--role', 'operator', '--scope', 'env=staging'], { FAROL_NEW_PASSWORD: 'a long enough passphrase' });
    expect(added.stdout).toMatch(/^added rita \(usr_[a-z0-9]+\) as operator for env=staging\n$/);
    expect((await cli.run(['users', 'role', 'rita', 'viewer', '--all-machines'])).stdout).toBe('rita: active, viewer\n');
    expect((await cli.run(['users', 'disable', 'rita'])).stdout).toBe('rita: disabled, viewer\n');
    const list = await cli.run(['users', 'ls']);
    expect(list.stdout).toMatch(/rita\s+viewer\s+all machines\s+disabled\s+off/);
    const self = await cli.run(['users', 'disable', 'admin']);
    expect(self).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot disable yourself') });
  });

  it('keeps `farol token` for join tokens and adds `farol join-tokens` as the same thing', async () => {
    const created = await cli.run(['join-tokens', 'create', '--json']);
    const { id } = JSON.parse(created.stdout) as { id: string };
    expect((await cli.run(['token', 'ls'])).stdout).toContain(id);
    expect((await cli.run(['join-tokens', 'ls'])).stdout).toContain(id);
  });
});
