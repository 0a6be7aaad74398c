import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecretSummary } from '@farol/protocol';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { NOW, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

const summary: SecretSummary = {
  name: 'DB_PASSWORD',
  scope: 'env=prod',
  source: 'hub',
  ref: null,
  description: null,
  version: 1,
  createdAt: NOW - 60_000,
  updatedAt: NOW - 60_000,
  updatedBy: 'admin',
};

let cli: CliHarness;
let hub: FakeHub;

beforeEach(async () => {
  cli = await createCliHarness();
});
afterEach(async () => {
  await hub?.close();
  await cli.cleanup();
});

describe('farol secrets', () => {
  it('sets a secret from an environment variable, never printing the value', async () => {
    hub = await startFakeHub({ 'PUT /api/secrets/DB_PASSWORD': { status: 201, body: summary } }, { token: 'tok' });
    const result = await cli.run(['secrets', 'set', 'DB_PASSWORD', '--scope', 'env=prod', '--from-env', 'PW', '--hub', hub.url, '--token', 'tok'], { PW: 's3cret-value' });
    expect(result.code).toBe(0);
    expect(hub.requests[0]!.body).toEqual({ value: 's3cret-value', scope: 'env=prod' });
    expect(result.stdout).toBe('secret DB_PASSWORD v1 (hub) scoped to env=prod\n');
    expect(result.stdout + result.stderr).not.toContain('s3cret-value');
  });

  it('sets a Vault reference read through by the hub', async () => {
    hub = await startFakeHub({ 'PUT /api/secrets/DB_PASSWORD': { status: 201, body: { ...summary, source: 'vault', ref: { path: 'apps/db', key: 'password' } } } }, { token: 'tok' });
    const result = await cli.run(['secrets', 'set', 'DB_PASSWORD', '--scope', 'env=prod', '--vault', 'apps/db', '--key', 'password', '--hub', hub.url, '--token', 'tok']);
    expect(result.code).toBe(0);
    expect(hub.requests[0]!.body).toEqual({ source: 'vault', ref: { path: 'apps/db', key: 'password' }, scope: 'env=prod' });
  });

  it('refuses no value or two values with one line and exit 2', async () => {
    for (const args of [[], ['--value', 'a', '--from-env', 'PW']]) {
      const result = await cli.run(['secrets', 'set', 'DB_PASSWORD', '--scope', '*', ...args, '--hub', 'http://127.0.0.1:9', '--token', 'tok'], { PW: 'x' });
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('give the value once');
    }
  });

  it('lists secrets without values and removes one; an unknown one says what to do', async () => {
    hub = await startFakeHub(
      {
        'GET /api/secrets': { status: 200, body: { secrets: [summary] } },
        'DELETE /api/secrets/DB_PASSWORD': { status: 204 },
        'DELETE /api/secrets/NOPE': { status: 404, body: { type: 'urn:farol:error:not_found', title: 'not found', status: 404, code: 'not_found', detail: 'no secret NOPE' } },
      },
      { token: 'tok' },
    );
    const list = await cli.run(['secrets', 'ls', '--hub', hub.url, '--token', 'tok']);
    expect(list.stdout).toMatch(/^NAME\s+SCOPE\s+SOURCE\s+VERSION/);
    expect(list.stdout).toContain('DB_PASSWORD');
    expect(list.stdout).toContain('env=prod');
    expect((await cli.run(['secrets', 'rm', 'DB_PASSWORD', '--hub', hub.url, '--token', 'tok'])).stdout).toBe('removed secret DB_PASSWORD\n');
    const missing = await cli.run(['secrets', 'rm', 'NOPE', '--hub', hub.url, '--token', 'tok']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no secret "NOPE"; see');
  });

  it('farol exec --secret sends the names with the shell command', async () => {
    const done = {
      id: 'job_0123456789abcdef',
      command: { kind: 'shell', argv: ['./migrate'], secrets: ['DB_PASSWORD'] },
      targetsSpec: { agents: ['web-1'] },
      state: 'done',
      ttlMs: 300_000,
      timeoutMs: 60_000,
      createdBy: 'admin',
      createdAt: NOW,
      expiresAt: NOW + 300_000,
      cancelledAt: null,
      finishedAt: NOW,
      total: 1,
      counts: { queued: 0, sent: 0, running: 0, succeeded: 1, failed: 0, timed_out: 0, cancelled: 0, expired: 0, refused: 0 },
      targets: [],
    };
    hub = await startFakeHub({ 'POST /api/jobs': { status: 201, body: done }, [`GET /api/jobs/${done.id}`]: { status: 200, body: done } }, { token: 'tok' });
    const result = await cli.run(['exec', '--secret', 'DB_PASSWORD', 'web-1', '--json', '--hub', hub.url, '--token', 'tok', '--', './migrate']);
    expect(hub.requests[0]!.body).toEqual({ command: { kind: 'shell', argv: ['./migrate'], secrets: ['DB_PASSWORD'] }, targets: { agents: ['web-1'] } });
    expect(result.code).toBe(0);
    const bad = await cli.run(['exec', '--secret', '1-bad', 'web-1', '--hub', hub.url, '--token', 'tok', '--', './migrate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--secret 1-bad');
  });
});
