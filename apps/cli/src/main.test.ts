import { problemFor } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from './test-support/cli-runner.js';
import { sampleAgent, startFakeHub, type FakeHub } from './test-support/fake-hub.js';

let cli: CliHarness;
let hub: FakeHub | undefined;

beforeEach(async () => {
  cli = await createCliHarness();
});
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  await cli.cleanup();
});

describe('farol errors', () => {
  it('says the hub is unreachable in one line and exits 1', async () => {
    hub = await startFakeHub({});
    const deadUrl = hub.url;
    await hub.close();
    hub = undefined;

    const result = await cli.run(['agents', 'ls', '--hub', deadUrl, '--token', 't']);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `farol: cannot reach the hub at ${deadUrl} (connection refused); is it running? set --hub or FAROL_HUB_URL\n`,
    );
  });

  it('tells the operator to log in again when the hub refuses the token', async () => {
    hub = await startFakeHub({}, { token: 'right' });

    const result = await cli.run(['agents', 'ls', '--hub', hub.url, '--token', 'wrong']);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`farol: the hub refused the token (token_invalid); run farol login --hub ${hub.url} --token T\n`);
  });

  it('names the unknown agent and points to the list', async () => {
    hub = await startFakeHub({});
    const result = await cli.run(['agents', 'show', 'ghost', '--hub', hub.url, '--token', 't']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('farol: no agent named "ghost"; see farol agents ls\n');
  });

  it('explains a missing token instead of calling the hub without one', async () => {
    hub = await startFakeHub({});
    const result = await cli.run(['agents', 'ls', '--hub', hub.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`farol: no token for the hub at ${hub.url}; run farol login --hub ${hub.url} --token T (or set FAROL_TOKEN)\n`);
    expect(hub.requests).toEqual([]);
  });

  it('lists the hub\'s field issues when it rejects a request', async () => {
    hub = await startFakeHub({
      'PATCH /api/agents/web-1': { status: 400, body: problemFor('validation_failed', 'bad', [{ path: 'name', message: 'too long' }]) },
    });
    const result = await cli.run(['agents', 'rename', 'web-1', 'web-2', '--hub', hub.url, '--token', 't']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('farol: the hub rejected the request: name: too long\n');
  });

  it('points to the hub log when the hub fails', async () => {
    hub = await startFakeHub({ 'GET /api/agents': { status: 500, body: problemFor('internal', 'database is locked') } });
    const result = await cli.run(['agents', 'ls', '--hub', hub.url, '--token', 't']);
    expect(result).toMatchObject({ code: 1, stderr: "farol: the hub failed (internal): database is locked; see the hub's log\n" });
  });

  it('exits 2 for an unknown option', async () => {
    const result = await cli.run(['agents', 'ls', '--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("farol: unknown option '--bogus'\n");
  });

  it('exits 2 for an unknown command', async () => {
    const result = await cli.run(['agnets']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^farol: unknown command 'agnets'/);
  });

  it('exits 2 for a hub URL that is not http(s)', async () => {
    const result = await cli.run(['agents', 'ls', '--hub', 'ftp://x', '--token', 't']);
    expect(result).toMatchObject({ code: 2, stderr: 'farol: "ftp://x" is not an http(s) URL; give the hub as http://HOST:PORT\n' });
  });

  it('exits 2 and shows help when a command group is given no subcommand', async () => {
    const result = await cli.run(['agents']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: farol agents');
  });

  it('prints the version and exits 0', async () => {
    const result = await cli.run(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('prints help for --help and exits 0', async () => {
    const result = await cli.run(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['login', 'agents', 'join-tokens', 'hub', 'dev', 'agent']) expect(result.stdout).toContain(command);
  });

  it('names join-tokens and api-tokens in help, and still runs the old token and tokens names (#21)', async () => {
    const help = (await cli.run(['--help'])).stdout;
    expect(help).toMatch(/^ {2}join-tokens\b/m);
    expect(help).toMatch(/^ {2}api-tokens\b/m);
    expect(help).not.toMatch(/^ {2}tokens?\b/m);
    hub = await startFakeHub({ 'GET /api/join-tokens': { status: 200, body: { tokens: [] } }, 'GET /api/tokens': { status: 200, body: { tokens: [] } } });
    for (const args of [['join-tokens', 'ls'], ['token', 'ls'], ['api-tokens', 'ls'], ['tokens', 'ls']]) {
      const result = await cli.run([...args, '--hub', hub.url, '--token', 't', '--json']);
      expect(result.code, args.join(' ')).toBe(0);
    }
    expect(hub.requests.map((r) => r.path)).toEqual(['/api/join-tokens', '/api/join-tokens', '/api/tokens', '/api/tokens']);
  });

  it('starts every error line with farol:, also when started as node bin/farol.mjs (#21)', async () => {
    const target = { commandId: 'cmd_0123456789abcdef', agentId: 'ag_0123456789abcdef', agentName: 'box', state: 'failed', exitCode: null, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, sentAt: 1, startedAt: 1, endedAt: 2, error: 'no Docker engine' };
    const counts = { queued: 0, sent: 0, running: 0, succeeded: 0, failed: 1, timed_out: 0, cancelled: 0, expired: 0, refused: 0 };
    const failed = { id: 'job_0123456789abcdef', command: { kind: 'docker_restart', container: 'db' }, targetsSpec: { agents: ['box'] }, state: 'done', ttlMs: 300_000, timeoutMs: 60_000, createdBy: 'admin', createdAt: 1, expiresAt: 300_001, cancelledAt: null, finishedAt: 2, total: 1, counts, targets: [target] };
    hub = await startFakeHub({ 'POST /api/agents/box/command': { status: 201, body: failed } });
    const checkout = { commandName: 'node bin/farol.mjs' };
    const results = [
      await cli.run(['containers', 'restart', 'box', 'db', '--hub', hub.url, '--token', 't'], {}, checkout),
      await cli.run(['agents', 'ls', '--hub', 'ftp://x'], {}, checkout),
      await cli.run(['agents', 'ls', '--bogus'], {}, checkout),
    ];
    expect(results[0]!.stderr).toBe('farol: box: failed: no Docker engine\n');
    for (const result of results) {
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/^farol: /);
      expect(result.stderr).not.toContain('node bin/farol.mjs:');
    }
  });

  it('accepts the connection options before the subcommand too', async () => {
    hub = await startFakeHub({ 'GET /api/agents': { status: 200, body: { agents: [sampleAgent()] } } });
    const result = await cli.run(['--hub', hub.url, '--token', 'early', '--json', 'agents', 'ls']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ agents: [sampleAgent()] });
    expect(hub.requests[0]?.authorization).toBe('Bearer early');
  });
});
