import type { JoinTokenCreated } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { NOW, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';
import { installCommands } from './token-create.js';

let cli: CliHarness;
let hub: FakeHub;

const created: JoinTokenCreated = {
  id: 'jt_01',
  token: 'fjt_s3cr3t-Token_value',
  labels: { env: 'prod' },
  note: null,
  maxUses: 3,
  uses: 0,
  createdAt: NOW,
  expiresAt: NOW + 86_400_000,
  revokedAt: null,
  lastUsedAt: null,
  state: 'active',
};

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({ 'POST /api/join-tokens': { status: 201, body: created } });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol join-tokens create', () => {
  it('prints the token and the install commands for Linux/macOS, Windows and a checkout with the hub URL', async () => {
    const result = await cli.run(['token', 'create', '--hub', hub.url, '--token', 'admin']);

    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').map((line) => line.trim());
    expect(lines).toContain('fjt_s3cr3t-Token_value');
    expect(lines).toContain(`curl -fsSL ${hub.url}/install.sh | sh -s -- --token fjt_s3cr3t-Token_value`);
    expect(lines).toContain(`& ([scriptblock]::Create((irm ${hub.url}/install.ps1))) -Token fjt_s3cr3t-Token_value`);
    expect(lines).toContain(`farol agent --hub ${hub.url} --token fjt_s3cr3t-Token_value`);
    expect(result.stdout).toContain('Join token jt_01: 3 uses, expires 2026-01-02 00:00 UTC (in 24h), labels env=prod');
    // 127.0.0.1 is useless on another machine: the operator is told.
    expect(result.stdout).toContain('only works on this machine');
  });

  it('sends ttl, uses, labels and note as the hub expects them', async () => {
    await cli.run(['token', 'create', '--ttl', '7d', '--uses', '3', '--label', 'env=prod', '--label', 'rack=4', '--note', 'new racks', '--hub', hub.url, '--token', 'admin']);
    expect(hub.requests[0]).toMatchObject({
      method: 'POST',
      path: '/api/join-tokens',
      authorization: 'Bearer admin',
      body: { ttl: '7d', uses: 3, labels: { env: 'prod', rack: '4' }, note: 'new racks' },
    });
  });

  it('sends an empty body when no option is given, leaving defaults to the hub', async () => {
    await cli.run(['token', 'create', '--hub', hub.url, '--token', 'admin']);
    expect(hub.requests[0]?.body).toEqual({});
  });

  it('prints the created token as JSON with --json', async () => {
    const result = await cli.run(['token', 'create', '--json', '--hub', hub.url, '--token', 'admin']);
    expect(JSON.parse(result.stdout)).toEqual(created);
  });

  it.each([
    [['--ttl', 'tomorrow'], 'durations look like'],
    [['--uses', '0'], 'whole number of 1 or more'],
    [['--label', 'nokey'], 'is not key=value'],
  ])('refuses %j with a usage error before calling the hub', async (args, message) => {
    const result = await cli.run(['token', 'create', ...args, '--hub', hub.url, '--token', 'admin']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(hub.requests).toEqual([]);
  });
});

describe('installCommands', () => {
  it('quotes a token with shell characters for each shell', () => {
    const lines = installCommands('https://hub.example', "a'b c", 'farol');
    expect(lines.unix).toBe(`curl -fsSL https://hub.example/install.sh | sh -s -- --token 'a'\\''b c'`);
    expect(lines.windows).toBe(`& ([scriptblock]::Create((irm https://hub.example/install.ps1))) -Token 'a''b c'`);
  });

  it('pins the hub key the hub returned with the token (ADR 0024)', () => {
    const lines = installCommands('https://hub.example', 'jt_x.y', 'farol', 'q4Tz0mXq6Yk3c1x0Vb8sUe2oWcR7nLf5DgHjK9aPzQ4');
    expect(lines.unix).toBe('curl -fsSL https://hub.example/install.sh | sh -s -- --token jt_x.y --hub-key q4Tz0mXq6Yk3c1x0Vb8sUe2oWcR7nLf5DgHjK9aPzQ4');
  });
});
