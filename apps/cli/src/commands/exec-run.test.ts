import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job, JobTarget } from '@farol/protocol';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { NOW, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';
import { execExitCode, parseSelector } from './exec-run.js';

function target(name: string, fields: Partial<JobTarget> = {}): JobTarget {
  return {
    commandId: `cmd_${name.replace(/[^a-z0-9]/g, 'x').padEnd(16, '0')}`,
    agentId: `ag_${name.replace(/[^a-z0-9]/g, 'x').padEnd(16, '0')}`,
    agentName: name,
    state: 'succeeded',
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    data: null,
    sentAt: NOW,
    startedAt: NOW,
    endedAt: NOW + 120,
    error: null,
    ...fields,
  };
}

function job(targets: JobTarget[], fields: Partial<Job> = {}): Job {
  const counts = { queued: 0, sent: 0, running: 0, succeeded: 0, failed: 0, timed_out: 0, cancelled: 0, expired: 0, refused: 0 };
  for (const t of targets) counts[t.state]++;
  return {
    id: 'job_0123456789abcdef',
    command: { kind: 'shell', argv: ['uptime'] },
    targetsSpec: { agents: targets.map((t) => t.agentName) },
    state: targets.every((t) => !['queued', 'sent', 'running'].includes(t.state)) ? 'done' : 'running',
    ttlMs: 300_000,
    timeoutMs: 60_000,
    createdBy: 'admin',
    createdAt: NOW - 5_000,
    expiresAt: NOW + 295_000,
    cancelledAt: null,
    finishedAt: NOW,
    total: targets.length,
    counts,
    targets,
    ...fields,
  };
}

let cli: CliHarness;
let hub: FakeHub;

beforeEach(async () => {
  cli = await createCliHarness();
});
afterEach(async () => {
  await hub?.close();
  await cli.cleanup();
});

describe('farol exec', () => {
  it('reads a selector as names, a label selector or all', () => {
    expect(parseSelector('web-1')).toEqual({ agents: ['web-1'] });
    expect(parseSelector('web-1, web-2,web-1')).toEqual({ agents: ['web-1', 'web-2'] });
    expect(parseSelector('role=gpu,env!=dev')).toEqual({ selector: 'role=gpu,env!=dev' });
    expect(parseSelector('all')).toEqual({ all: true });
    expect(() => parseSelector('role=gpu;rm')).toThrow(/bad label term/);
  });

  it('sends argv untouched, prints each machine\'s lines with its name, and exits 1 when one failed', async () => {
    const queued = job([target('web-1', { state: 'running', exitCode: null }), target('db-10', { state: 'queued', exitCode: null })]);
    const done = job([
      target('web-1', { stdout: 'up 3 days\nload 0.1\n' }),
      target('db-10', { state: 'failed', exitCode: 2, stderr: 'no such file\n', error: 'exited with code 2' }),
    ]);
    hub = await startFakeHub({ 'POST /api/jobs': { status: 201, body: queued }, [`GET /api/jobs/${done.id}`]: { status: 200, body: done } }, { token: 'tok' });
    const result = await cli.run(['exec', 'web-1,db-10', '--timeout', '30s', '--hub', hub.url, '--token', 'tok', '--', 'sh', '-c', 'echo $HOME; rm x']);

    expect(hub.requests.find((r) => r.path === '/api/jobs')!.body).toEqual({
      command: { kind: 'shell', argv: ['sh', '-c', 'echo $HOME; rm x'] },
      targets: { agents: ['web-1', 'db-10'] },
      timeoutMs: 30_000,
    });
    expect(result.stdout).toBe('web-1 | up 3 days\nweb-1 | load 0.1\n');
    expect(result.stderr).toContain('offline, will run if back within the TTL: db-10\n');
    expect(result.stderr).toContain('db-10 | no such file\n');
    expect(result.stderr).toContain('[2/2 done] db-10: failed: exited with code 2\n');
    expect(result.stderr).toContain('2/2 done: 1 succeeded, 1 failed\n');
    expect(result.code).toBe(1);
  });

  it('runs a --shell script, and exits 0 when every machine succeeded; --json prints the job', async () => {
    const done = job([target('web-1', { stdout: 'ok\n' })], { command: { kind: 'shell', shell: true, script: 'echo ok' } });
    hub = await startFakeHub({ 'POST /api/jobs': { status: 201, body: done }, [`GET /api/jobs/${done.id}`]: { status: 200, body: done } }, { token: 'tok' });
    const result = await cli.run(['exec', 'role=web', '--shell', 'echo ok', '--json', '--hub', hub.url, '--token', 'tok']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(done);
    expect(hub.requests[0]!.body).toEqual({ command: { kind: 'shell', shell: true, script: 'echo ok' }, targets: { selector: 'role=web' } });
  });

  it('exits with the remote exit code on one machine, and 1 when one of several failed (#21)', async () => {
    const failed = job([target('web-1', { state: 'failed', exitCode: 3, error: 'exited with code 3' })]);
    hub = await startFakeHub({ 'POST /api/jobs': { status: 201, body: failed }, [`GET /api/jobs/${failed.id}`]: { status: 200, body: failed } }, { token: 'tok' });
    const result = await cli.run(['exec', 'web-1', '--json', '--hub', hub.url, '--token', 'tok', '--', 'sh', '-c', 'exit 3']);
    expect(result.code).toBe(3);

    expect(execExitCode(job([target('web-1', { state: 'timed_out', exitCode: null, error: 'timed out after 60s' })]))).toBe(1);
    expect(execExitCode(job([target('web-1', { state: 'refused', exitCode: null })]))).toBe(1);
    expect(execExitCode(job([target('web-1'), target('db-1', { state: 'failed', exitCode: 7 })]))).toBe(1);
    expect(execExitCode(job([target('web-1'), target('db-1')]))).toBe(0);
  });

  it('documents its exit codes in --help (#21)', async () => {
    const result = await cli.run(['exec', '--help']);
    expect(result.stdout).toContain('Exit code: 0 when every machine succeeded. On one machine, the remote command\'s own exit code');
  });

  it('refuses a command line with nothing to run, or both a script and a command', async () => {
    const none = await cli.run(['exec', 'web-1', '--hub', 'http://127.0.0.1:9', '--token', 'tok']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('nothing to run');
    const both = await cli.run(['exec', 'web-1', '--shell', 'id', '--hub', 'http://127.0.0.1:9', '--token', 'tok', '--', 'id']);
    expect(both.code).toBe(2);
    const badTimeout = await cli.run(['exec', 'web-1', '--timeout', 'soon', '--hub', 'http://127.0.0.1:9', '--token', 'tok', '--', 'id']);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toContain('is not a duration');
  });
});

describe('farol jobs and farol audit', () => {
  it('lists jobs with their results, and shows one with every machine\'s output', async () => {
    const done = job([target('web-1', { stdout: 'hello\n' }), target('db-1', { state: 'timed_out', exitCode: null, error: 'timed out after 500 ms' })]);
    hub = await startFakeHub(
      { 'GET /api/jobs': { status: 200, body: { jobs: [done], nextCursor: null } }, [`GET /api/jobs/${done.id}`]: { status: 200, body: done } },
      { token: 'tok' },
    );
    const list = await cli.run(['jobs', 'ls', '--hub', hub.url, '--token', 'tok']);
    expect(list.stdout).toContain('job_0123456789abcdef  uptime   2        done   1 succeeded, 1 timed out  5s ago   admin');
    const show = await cli.run(['jobs', 'show', done.id, '--hub', hub.url, '--token', 'tok']);
    expect(show.stdout).toContain('db-1     timed_out  -     0.12s  timed out after 500 ms');
    expect(show.stdout).toContain('web-1 | hello');
  });

  it('exits 1 from audit verify when an entry was tampered with', async () => {
    hub = await startFakeHub({ 'GET /api/audit/verify': { status: 200, body: { ok: false, entries: 6, firstBad: { seq: 7, reason: 'its content does not match its hash (the entry was changed)' } } } }, { token: 'tok' });
    const result = await cli.run(['audit', 'verify', '--hub', hub.url, '--token', 'tok']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('audit log TAMPERED at entry 7: its content does not match its hash (the entry was changed)\n');
  });
});
