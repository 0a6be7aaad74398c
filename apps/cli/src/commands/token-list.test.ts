import type { JoinToken } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { NOW, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

let cli: CliHarness;
let hub: FakeHub;

const tokens: JoinToken[] = [
  { id: 'jt_old', labels: {}, note: null, maxUses: 1, uses: 1, createdAt: NOW - 3 * 86_400_000, expiresAt: NOW - 2 * 86_400_000, revokedAt: null, lastUsedAt: NOW - 3 * 86_400_000, state: 'used_up' },
  { id: 'jt_new', labels: { env: 'prod' }, note: 'rack 4', maxUses: 10, uses: 2, createdAt: NOW - 60_000, expiresAt: NOW + 3_600_000, revokedAt: null, lastUsedAt: null, state: 'active' },
];

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({
    'GET /api/join-tokens': { status: 200, body: { tokens } },
    'DELETE /api/join-tokens/jt_new': { status: 204 },
  });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol token ls', () => {
  it('lists tokens newest first with state, uses and expiry', async () => {
    const result = await cli.run(['token', 'ls', '--hub', hub.url, '--token', 't']);
    expect(result.stdout).toBe(
      [
        'ID      STATE    USES  EXPIRES  CREATED  LABELS    NOTE',
        'jt_new  active   2/10  in 1h    1m ago   env=prod  rack 4',
        'jt_old  used_up  1/1   2d ago   3d ago   -         -',
        '',
      ].join('\n'),
    );
  });

  it('prints the list as JSON with --json', async () => {
    const result = await cli.run(['token', 'ls', '--json', '--hub', hub.url, '--token', 't']);
    expect(JSON.parse(result.stdout)).toEqual({ tokens });
  });
});

describe('farol token revoke', () => {
  it('revokes the token by id', async () => {
    const result = await cli.run(['token', 'revoke', 'jt_new', '--hub', hub.url, '--token', 't']);
    expect(result).toMatchObject({ code: 0, stdout: 'revoked join token jt_new\n' });
    expect(hub.calls()).toEqual(['DELETE /api/join-tokens/jt_new']);
  });

  it('names a token id the hub does not know', async () => {
    const result = await cli.run(['token', 'revoke', 'jt_nope', '--hub', hub.url, '--token', 't']);
    expect(result).toMatchObject({ code: 1, stderr: 'farol: no join token with id "jt_nope"; see farol join-tokens ls\n' });
  });
});
