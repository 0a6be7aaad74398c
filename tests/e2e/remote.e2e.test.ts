import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, AgentList, Job } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, hubDatabaseUrl, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Remote commands against the real thing: a hub process with SQLite (or PostgreSQL in the
// e2e-pg project, #13), agent processes that run real programs, and the farol CLI.

const dir = tempDir('remote');
const procs: Proc[] = [];
const agents: Record<string, Proc> = {};
let hub: Proc & { url: string };
let port: number;
let token: string;
const dataDir = path.join(dir.path, 'hub');
const policyFile = path.join(dir.path, 'delta-policy.json');

function startAgent(name: string, extra: string[] = [], env: Record<string, string> = {}): Proc {
  const proc = run(
    [agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, name), '--name', name, '--interval', '1s', '--reconnect-max', '1s', ...extra],
    { env: { E2E_ROLE: name, E2E_DIR: dir.path, ...env } },
  );
  procs.push(proc);
  agents[name] = proc;
  return proc;
}

/** Someone with the database in hand rewrites a past entry; returns its seq. SQLite file or the e2e-pg database (#13). */
async function tamperWithAuditLog(): Promise<{ seq: number }> {
  const select = "select seq from audit_log where action = 'command.create' order by seq limit 1 offset 2";
  const databaseUrl = await hubDatabaseUrl(dataDir);
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query('alter table audit_log disable trigger audit_log_no_update');
      const { rows } = await client.query<{ seq: string }>(select);
      const seq = Number(rows[0]!.seq);
      await client.query(`update audit_log set details = jsonb_set(details::jsonb, '{summary}', '"nothing to see"')::text where seq = $1`, [seq]);
      return { seq };
    } finally {
      await client.end();
    }
  }
  const db = new Database(path.join(dataDir, 'farol.db'));
  db.exec('drop trigger audit_log_no_update');
  const row = db.prepare(select).get() as { seq: number };
  db.prepare("update audit_log set details = json_set(details, '$.summary', 'nothing to see') where seq = ?").run(row.seq);
  db.close();
  return row;
}

async function agentStatus(name: string): Promise<string | undefined> {
  const { status, body } = await api<Agent>(hub.url, 'GET', `/api/agents/${name}`);
  return status === 200 ? body.status : undefined;
}
const waitStatus = (name: string, status: 'online' | 'offline') =>
  waitFor(async () => ((await agentStatus(name)) === status ? true : undefined), 20_000, `${name} ${status}`);
const getJob = async (id: string) => (await api<Job>(hub.url, 'GET', `/api/jobs/${id}`)).body;
const targetOf = (job: Job, name: string) => job.targets.find((t) => t.agentName === name)!;
const waitTarget = (jobId: string, name: string, accept: (state: string) => boolean, what: string) =>
  waitFor(async () => {
    const target = targetOf(await getJob(jobId), name);
    return accept(target.state) ? target : undefined;
  }, 20_000, what);
const isGone = (pid: number): true | undefined => {
  try {
    process.kill(pid, 0);
    return undefined;
  } catch {
    // ESRCH: the process no longer exists.
    return true;
  }
};

function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = run([farolBin, ...args], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
  return proc.exited.then((code) => ({ code, output: proc.output() }));
}

beforeAll(async () => {
  port = await freePort();
  hub = await startHubProcess(dataDir, port);
  procs.push(hub);
  token = await joinToken(hub.url, { uses: 10 });
  writeFileSync(policyFile, JSON.stringify({ allow: ['metrics'] }));
  startAgent('alpha');
  startAgent('bravo');
  startAgent('charlie', [], { FAROL_SUPERVISED: '1' });
  startAgent('delta', ['--policy', policyFile]);
  await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.length === 4 ? true : undefined), 30_000, 'four agents online');
});

afterAll(async () => {
  for (const proc of procs) await proc.stop('SIGKILL');
  // A standalone restart leaves a process this test did not start; its pid is in the state lock.
  for (const name of ['alpha', 'bravo', 'charlie', 'delta']) {
    const lock = path.join(dir.path, name, 'agent.lock');
    if (existsSync(lock)) {
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (pid > 0 && !isGone(pid)) process.kill(pid, 'SIGKILL');
    }
  }
  dir.remove();
});

describe('remote commands, end to end', () => {
  it('passes every field literally: shell syntax in argv, env and cwd is never interpreted', async () => {
    const marker = path.join(dir.path, 'pwned');
    const hostile = [`a; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, `line1\ntouch ${marker}`, `|| touch ${marker} &`];
    const echo = await api<Job>(hub.url, 'POST', '/api/agents/alpha/command', { command: { kind: 'shell', argv: ['echo', ...hostile] } });
    expect(echo.status).toBe(200);
    expect(echo.body.targets[0]).toMatchObject({ state: 'succeeded', exitCode: 0, stdout: `${hostile.join(' ')}\n` });
    const env = await api<Job>(hub.url, 'POST', '/api/agents/alpha/command', { command: { kind: 'shell', argv: ['printenv', 'X'], env: { X: `$(touch ${marker});\`touch ${marker}\`` } } });
    expect(env.body.targets[0]!.stdout).toBe(`$(touch ${marker});\`touch ${marker}\`\n`);
    const cwd = await api<Job>(hub.url, 'POST', '/api/agents/alpha/command', { command: { kind: 'shell', argv: ['pwd'], cwd: `${dir.path}/alpha;touch ${marker}` } });
    expect(cwd.body.targets[0]).toMatchObject({ state: 'failed', error: expect.stringContaining('cannot be used') });
    expect(existsSync(marker)).toBe(false);
  });

  it('farol exec streams each machine\'s lines with its name and exits non-zero when one fails', async () => {
    const ok = await cli(['exec', 'alpha,bravo', '--', 'echo', 'same;$(words)']);
    expect(ok.code).toBe(0);
    expect(ok.output).toContain('alpha | same;$(words)\n');
    expect(ok.output).toContain('bravo | same;$(words)\n');
    expect(ok.output).toContain('2/2 done: 2 succeeded');
    const failing = await cli(['exec', 'alpha,delta', '--', 'true']);
    expect(failing.code).toBe(1);
    expect(failing.output).toContain('delta: refused: refused by agent policy: shell is not allowed here');
    expect(failing.output).toContain('2/2 done: 1 succeeded, 1 refused');
  });

  it('runs a job on three machines: one back from offline within the TTL, one timed out, one cancelled', async () => {
    await Promise.all([agents.bravo!.stop(), agents.charlie!.stop()]);
    await Promise.all([waitStatus('bravo', 'offline'), waitStatus('charlie', 'offline')]);
    const script = [
      'case "$E2E_ROLE" in',
      '  bravo) echo "bravo ran" ;;',
      '  *) sleep 300 & echo $! > "$E2E_DIR/$E2E_ROLE.pid"; wait ;;',
      'esac',
    ].join('\n');
    const created = await api<Job>(hub.url, 'POST', '/api/jobs', { command: { kind: 'shell', shell: true, script }, targets: { agents: ['alpha', 'bravo', 'charlie'] }, timeoutMs: 5_000, ttlMs: 60_000 });
    expect(created.status).toBe(201);
    const job = created.body;
    expect(targetOf(job, 'bravo').state).toBe('queued');
    startAgent('bravo');
    await new Promise((r) => setTimeout(r, 2_000));
    startAgent('charlie', [], { FAROL_SUPERVISED: '1' });

    const bravo = await waitTarget(job.id, 'bravo', (s) => s === 'succeeded', 'bravo to run when it is back');
    expect(bravo.stdout).toBe('bravo ran\n');
    const alpha = await waitTarget(job.id, 'alpha', (s) => s === 'timed_out', 'alpha to time out');
    expect(alpha.error).toContain('its process tree was killed');
    const alphaChild = Number(readFileSync(path.join(dir.path, 'alpha.pid'), 'utf8'));
    await waitFor(() => isGone(alphaChild), 5_000, 'alpha\'s sleep to be killed');

    await waitTarget(job.id, 'charlie', (s) => s === 'running', 'charlie running');
    await waitFor(() => (existsSync(path.join(dir.path, 'charlie.pid')) ? true : undefined), 5_000, 'charlie\'s child');
    const charlieChild = Number(readFileSync(path.join(dir.path, 'charlie.pid'), 'utf8'));
    expect((await api(hub.url, 'POST', `/api/jobs/${job.id}/cancel`)).status).toBe(200);
    const charlie = await waitTarget(job.id, 'charlie', (s) => s === 'cancelled', 'charlie cancelled');
    expect(charlie.error).toContain('cancelled');
    await waitFor(() => isGone(charlieChild), 5_000, 'charlie\'s sleep to be killed');
    expect(await getJob(job.id)).toMatchObject({ state: 'done', counts: { succeeded: 1, timed_out: 1, cancelled: 1 } });
  });

  it('never runs a command after its TTL, even when the machine comes back', async () => {
    await agents.bravo!.stop();
    await waitStatus('bravo', 'offline');
    const marker = path.join(dir.path, 'late');
    const job = (await api<Job>(hub.url, 'POST', '/api/jobs', { command: { kind: 'shell', argv: ['touch', marker] }, targets: { agents: ['bravo'] }, ttlMs: 1_000 })).body;
    const expired = await waitTarget(job.id, 'bravo', (s) => s === 'expired', 'the command to expire');
    expect(expired.error).toBe('the machine was not reachable before the job expired');
    startAgent('bravo');
    await waitStatus('bravo', 'online');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(existsSync(marker)).toBe(false);
    expect(targetOf(await getJob(job.id), 'bravo').state).toBe('expired');
  });

  it('answers a command its local policy forbids as refused, and runs what it allows', async () => {
    const shell = await api<Job>(hub.url, 'POST', '/api/agents/delta/command', { command: { kind: 'shell', argv: ['id'] } });
    expect(shell.status).toBe(200);
    expect(shell.body.targets[0]).toMatchObject({ state: 'refused', error: 'refused by agent policy: shell is not allowed here' });
    const metrics = await api<Job>(hub.url, 'POST', '/api/agents/delta/command', { command: { kind: 'metrics' } });
    expect(metrics.body.targets[0]).toMatchObject({ state: 'succeeded', data: { kind: 'metrics', sample: { cpu: expect.any(Object) } } });
    const processes = await api<Job>(hub.url, 'POST', '/api/agents/alpha/command', { command: { kind: 'processes', top: 3, sortBy: 'memory' } });
    const data = processes.body.targets[0]!.data;
    expect(data?.kind === 'processes' && data.processes.length === 3 && data.total > 3 && data.processes[0]!.rss >= data.processes[2]!.rss).toBe(true);
    const restart = await api<Job>(hub.url, 'POST', '/api/agents/delta/restart');
    expect(restart.body.targets[0]).toMatchObject({ state: 'refused', error: 'refused by agent policy: restart is not allowed here' });
  });

  it('loses no result when the hub is killed mid-job, and a redelivered command runs once', async () => {
    const counter = path.join(dir.path, 'counter');
    const quick = (await api<Job>(hub.url, 'POST', '/api/jobs', { command: { kind: 'shell', shell: true, script: 'sleep 2; echo quick' }, targets: { agents: ['alpha'] } })).body;
    const slow = (await api<Job>(hub.url, 'POST', '/api/jobs', { command: { kind: 'shell', shell: true, script: `echo run >> ${counter}; sleep 5; echo slow` }, targets: { agents: ['alpha'] } })).body;
    await waitTarget(quick.id, 'alpha', (s) => s === 'running', 'quick running');
    await waitTarget(slow.id, 'alpha', (s) => s === 'running', 'slow running');

    hub.child.kill('SIGKILL');
    await hub.exited;
    // `quick` finishes while there is no hub: its result waits on the agent's disk.
    await new Promise((r) => setTimeout(r, 2_500));
    const quickId = quick.targets[0]!.commandId;
    expect(existsSync(path.join(dir.path, 'alpha', 'commands', 'results', `${quickId}.json`))).toBe(true);
    hub = await startHubProcess(dataDir, port);
    procs.push(hub);

    const quickTarget = await waitTarget(quick.id, 'alpha', (s) => s === 'succeeded', 'the kept result');
    expect(quickTarget.stdout).toBe('quick\n');
    const slowTarget = await waitTarget(slow.id, 'alpha', (s) => s === 'succeeded', 'the redelivered command\'s result');
    expect(slowTarget.stdout).toBe('slow\n');
    expect(readFileSync(counter, 'utf8')).toBe('run\n');
    await waitFor(() => (existsSync(path.join(dir.path, 'alpha', 'commands', 'results', `${quickId}.json`)) ? undefined : true), 5_000, 'the agent to drop the acknowledged result');
    expect(agents.alpha!.output()).toContain('command already received; not running it again');
  });

  it('restarts and stops agents on request', async () => {
    const restart = await cli(['agents', 'restart', 'bravo']);
    expect(restart.code).toBe(0);
    expect(restart.output).toContain('bravo: restarting: starting a new agent process with the same arguments');
    expect(await agents.bravo!.exited).toBe(0);
    await waitStatus('bravo', 'online');

    const stop = await cli(['agents', 'stop', 'charlie']);
    expect(stop.code).toBe(0);
    // Under a supervisor, the exit code tells it not to start the agent again.
    expect(await agents.charlie!.exited).toBe(4);
  });

  it('keeps an audit log that farol audit verify checks, and names a tampered entry', async () => {
    const intact = await cli(['audit', 'verify']);
    expect(intact.code).toBe(0);
    expect(intact.output).toMatch(/audit log intact: \d+ entries/);
    const listed = await cli(['audit', '--agent', 'delta', '--action', 'command.result']);
    expect(listed.output).toContain('refused by agent policy: shell is not allowed here');

    const row = await tamperWithAuditLog();
    const tampered = await cli(['audit', 'verify']);
    expect(tampered.code).toBe(1);
    expect(tampered.output).toContain(`audit log TAMPERED at entry ${row.seq}: its content does not match its hash`);
  });
});
