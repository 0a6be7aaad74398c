import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AlertList, AgentList, AuditList, JobList, Silence } from '@farol/protocol';
import { dockerSkipReason, startDockerEngine, TEST_IMAGE, type DockerEngine } from '../support/docker-engine.js';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Issue #20, item 4: `farol mcp` as an AI assistant starts it, a stdio MCP server spoken to
// with the official SDK's client, against a real hub process with real agents. The hub decides
// what each token may do; the server lists what fits and relays the hub's refusals.

const dir = tempDir('mcp');
const procs: Proc[] = [];
const sessions: Client[] = [];
const PASSWORD = 'correct horse battery staple';
let hub: Proc & { url: string };

interface ToolText {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
}

/** Starts `farol mcp` the way an assistant does (a child process on stdio) and connects to it. */
async function startMcp(token: string): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [farolBin, 'mcp'],
    env: { PATH: process.env.PATH ?? '', HOME: dir.path, FAROL_HUB_URL: hub.url, FAROL_TOKEN: token },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'farol-e2e', version: '1.0.0' });
  await client.connect(transport);
  sessions.push(client);
  return { client, stderr: () => stderr };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ isError: boolean; text: string }> {
  const result = (await client.callTool({ name, arguments: args })) as ToolText;
  return { isError: result.isError === true, text: result.content.map((c) => c.text ?? '').join('\n') };
}

async function callJson<T>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const { isError, text } = await call(client, name, args);
  if (isError) throw new Error(`${name} failed: ${text}`);
  return JSON.parse(text) as T;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

/** A user with a role (and scope) and an API token of theirs, made through the hub's API. */
async function userToken(username: string, role: string, scope?: string): Promise<{ id: string; token: string }> {
  const created = await api<{ id: string }>(hub.url, 'POST', '/api/users', { username, password: PASSWORD, role, ...(scope ? { scope } : {}) });
  expect(created.status).toBe(201);
  const login = await fetch(`${hub.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD, issue: 'token', tokenName: 'assistant' }),
  });
  expect(login.status).toBe(200);
  return { id: created.body.id, token: ((await login.json()) as { token: { token: string } }).token.token };
}

function startAgent(name: string, token: string): void {
  procs.push(run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, name), '--name', name, '--interval', '1s', '--docker-host', `unix://${path.join(dir.path, 'none.sock')}`]));
}

const READ_TOOLS = ['list_alerts', 'list_jobs', 'list_machines', 'metric_history', 'show_job', 'show_machine'];
const ALL_TOOLS = [...READ_TOOLS, 'acknowledge_alert', 'list_audit', 'restart_container', 'run_command', 'silence_alerts'].sort();

beforeAll(async () => {
  hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
  procs.push(hub);
  const join = await joinToken(hub.url, { uses: 2 });
  startAgent('alpha', join);
  startAgent('bravo', join);
  await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.length === 2 ? true : undefined), 30_000, 'two agents online');
  expect((await api(hub.url, 'PATCH', '/api/agents/alpha', { labels: { env: 'prod' } })).status).toBe(200);
  expect((await api(hub.url, 'PATCH', '/api/agents/bravo', { labels: { env: 'staging' } })).status).toBe(200);
  // Holds on every heartbeat of alpha: an alert to list and to silence.
  expect((await api(hub.url, 'POST', '/api/alert-rules', { name: 'alpha up', condition: { kind: 'metric', metric: 'uptime', op: '>', threshold: 0, for: '0s' }, scope: { agents: ['alpha'] }, severity: 'critical' })).status).toBe(201);
  await waitFor(async () => ((await api<AlertList>(hub.url, 'GET', '/api/alerts?state=firing')).body.alerts.some((a) => a.ruleName === 'alpha up') ? true : undefined), 20_000, 'alpha alert firing');
}, 60_000);

afterAll(async () => {
  for (const session of sessions) await session.close().catch(() => undefined);
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

describe('farol mcp with an admin token', () => {
  let client: Client;
  let stderr: () => string;

  beforeAll(async () => {
    ({ client, stderr } = await startMcp(ADMIN_TOKEN));
  });

  it('introduces itself and lists every tool, each with a JSON input schema from zod', async () => {
    expect(client.getServerVersion()).toMatchObject({ name: 'farol' });
    expect(client.getInstructions()).toMatch(/as the user "admin" \(role admin\)/);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS);
    const run = tools.find((t) => t.name === 'run_command')!;
    expect(run.inputSchema).toMatchObject({ type: 'object', properties: { argv: { type: 'array' } } });
    expect(run.annotations).toMatchObject({ readOnlyHint: false });
    expect(tools.find((t) => t.name === 'list_machines')!.annotations).toMatchObject({ readOnlyHint: true });
    expect(stderr()).toMatch(/serving http:\/\/127\.0\.0\.1:\d+ as admin/);
  });

  it('lists and shows machines with their latest figures', async () => {
    const { machines } = await callJson<{ machines: Array<{ name: string; status: string; labels: Record<string, string>; cpuPercent: number | null }> }>(client, 'list_machines');
    expect(machines.map((m) => [m.name, m.status, m.labels.env]).sort()).toEqual([['alpha', 'online', 'prod'], ['bravo', 'online', 'staging']]);
    const staging = await callJson<{ machines: Array<{ name: string }> }>(client, 'list_machines', { labels: ['env=staging'] });
    expect(staging.machines.map((m) => m.name)).toEqual(['bravo']);
    const alpha = await callJson<{ name: string; latest: { percent: { cpu: number; memory: number } }; docker: { state: string } }>(client, 'show_machine', { machine: 'alpha' });
    expect(alpha.name).toBe('alpha');
    expect(alpha.latest.percent.memory).toBeGreaterThan(0);
    expect(alpha.docker.state).toBe('unavailable');
  });

  it('reads a machine\'s metric history', async () => {
    const history = await waitFor(async () => {
      const h = await callJson<{ points: Array<Record<string, { avg: number } | null>>; resolution: string }>(client, 'metric_history', { machine: 'alpha', minutes: 5, metrics: ['cpu', 'memory'] });
      return h.points.length >= 2 ? h : undefined;
    }, 20_000, 'history points');
    expect(history.resolution).toBe('raw');
    expect(history.points.every((p) => typeof p.memory?.avg === 'number' && p.memory.avg > 0)).toBe(true);
    expect(history.points[0]).not.toHaveProperty('disk');
  });

  it('refuses bad input before calling the hub, as a tool error', async () => {
    const bad = await call(client, 'metric_history', { machine: 'alpha', minutes: -3 });
    expect(bad.isError).toBe(true);
    expect(bad.text).toMatch(/minutes/);
    const missing = await call(client, 'show_machine', { machine: 'no-such-machine' });
    expect(missing).toMatchObject({ isError: true, text: expect.stringMatching(/404 not_found/) });
  });

  it('runs a command on one machine and on several, and shows the job', async () => {
    const one = await callJson<{ job: string; state: string; targets: Array<{ machine: string; state: string; exitCode: number; stdout: string }> }>(client, 'run_command', { machines: ['alpha'], argv: ['echo', 'hello from mcp'] });
    expect(one.targets).toEqual([expect.objectContaining({ machine: 'alpha', state: 'succeeded', exitCode: 0, stdout: 'hello from mcp\n' })]);
    const many = await callJson<{ job: string; state: string; targets: Array<{ machine: string; state: string; stdout: string }> }>(client, 'run_command', { selector: 'env!=dev', argv: ['printf', '%s', 'both'] });
    expect(many.state).toBe('done');
    expect(many.targets.map((t) => [t.machine, t.state, t.stdout]).sort()).toEqual([['alpha', 'succeeded', 'both'], ['bravo', 'succeeded', 'both']]);
    const failed = await call(client, 'run_command', { machines: ['alpha'], argv: ['sh', '-c', 'echo oops >&2; exit 3'] });
    expect(failed.isError).toBe(true);
    expect(JSON.parse(failed.text)).toMatchObject({ targets: [{ state: 'failed', exitCode: 3, stderr: 'oops\n' }] });

    const { jobs } = await callJson<{ jobs: Array<{ id: string; createdBy: string }> }>(client, 'list_jobs', { limit: 10 });
    expect(jobs.map((j) => j.id)).toEqual(expect.arrayContaining([one.job, many.job]));
    const shown = await callJson<{ job: string; targets: Array<{ stdout: string }> }>(client, 'show_job', { job: one.job });
    expect(shown.targets[0]!.stdout).toBe('hello from mcp\n');
  });

  it('lists the firing alert and silences it; the hub shows the silence', async () => {
    const { alerts } = await callJson<{ alerts: Alert[] }>(client, 'list_alerts');
    const alert = alerts.find((a) => a.ruleName === 'alpha up')!;
    expect(alert).toMatchObject({ state: 'firing', agentName: 'alpha', severity: 'critical', silenced: false });
    const silence = await callJson<Silence>(client, 'silence_alerts', { alert: alert.id, duration: '2h', reason: 'maintenance, from the assistant' });
    expect(silence.matcher).toEqual({ agents: [alert.agentId], rules: [alert.ruleId] });
    expect(silence.endsAt - silence.startsAt).toBe(2 * 3_600_000);
    const onHub = await api<{ silences: Silence[] }>(hub.url, 'GET', '/api/silences');
    expect(onHub.body.silences.map((s) => s.id)).toContain(silence.id);
    const after = await api<Alert>(hub.url, 'GET', `/api/alerts/${alert.id}`);
    expect(after.body.silenced).toBe(true);
    const acknowledged = await callJson<Alert>(client, 'acknowledge_alert', { alert: alert.id, note: 'looking into it' });
    expect(acknowledged).toMatchObject({ id: alert.id, acknowledgedBy: 'admin', acknowledgeNote: 'looking into it' });
  });

  it('records every action in the audit log as coming through MCP, and reads it back', async () => {
    const audit = await api<AuditList>(hub.url, 'GET', '/api/audit?limit=200');
    const commands = audit.body.entries.filter((e) => e.action === 'command.create' && e.actor === 'admin');
    expect(commands.length).toBeGreaterThanOrEqual(3);
    for (const entry of commands) expect(entry.details).toMatchObject({ via: 'tok_admin', client: 'mcp' });
    const silence = audit.body.entries.find((e) => e.action === 'silence.create')!;
    expect(silence.details).toMatchObject({ reason: 'maintenance, from the assistant', client: 'mcp' });
    expect(audit.body.entries.find((e) => e.action === 'alert.acknowledge')?.details).toMatchObject({ client: 'mcp' });
    // The same through the tool, filtered.
    const { entries } = await callJson<{ entries: Array<{ action: string; details: Record<string, unknown> }> }>(client, 'list_audit', { action: 'silence.create' });
    expect(entries[0]!.details.client).toBe('mcp');
    // Changes made without MCP carry no such label.
    const relabel = audit.body.entries.find((e) => e.action === 'agent.relabel');
    expect(relabel?.details).toMatchObject({ via: 'tok_admin' });
    expect(relabel?.details).not.toHaveProperty('client');
  });
});

describe('farol mcp within a token\'s permissions and scope', () => {
  it('offers a viewer only the read tools; the action tools are refused as tool errors', async () => {
    const { token } = await userToken('vera', 'viewer');
    const { client } = await startMcp(token);
    expect(await toolNames(client)).toEqual(READ_TOOLS);
    const jobsBefore = (await api<JobList>(hub.url, 'GET', '/api/jobs?limit=100')).body.jobs.length;
    const refused = await call(client, 'run_command', { machines: ['alpha'], argv: ['touch', path.join(dir.path, 'viewer-was-here')] });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/run_command/);
    expect((await api<JobList>(hub.url, 'GET', '/api/jobs?limit=100')).body.jobs.length).toBe(jobsBefore);
    // What it may read works.
    const { machines } = await callJson<{ machines: unknown[] }>(client, 'list_machines');
    expect(machines).toHaveLength(2);
  });

  it('relays the hub\'s 403 for a machine outside an operator\'s label scope, and acts inside it', async () => {
    const { token } = await userToken('otto', 'operator', 'env=staging');
    const { client } = await startMcp(token);
    expect(await toolNames(client)).toContain('run_command');
    const outside = await call(client, 'run_command', { machines: ['alpha'], argv: ['echo', 'should not run'] });
    expect(outside.isError).toBe(true);
    expect(outside.text).toMatch(/^the hub answered 403 forbidden: .*env=staging/);
    const inside = await callJson<{ targets: Array<{ machine: string; stdout: string }> }>(client, 'run_command', { machines: ['bravo'], argv: ['echo', 'staging ok'] });
    expect(inside.targets).toEqual([expect.objectContaining({ machine: 'bravo', stdout: 'staging ok\n' })]);
    // Lists are cut to the scope by the hub.
    const { machines } = await callJson<{ machines: Array<{ name: string }> }>(client, 'list_machines');
    expect(machines.map((m) => m.name)).toEqual(['bravo']);
  });

  it('follows a role taken away while it runs: the hub refuses with its reason and the action tools leave the list', async () => {
    const { id, token } = await userToken('olga', 'operator');
    const { client } = await startMcp(token);
    expect(await toolNames(client)).toContain('run_command');
    const listChanged = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    expect((await api(hub.url, 'PATCH', `/api/users/${id}`, { role: 'viewer' })).status).toBe(200);
    const refused = await call(client, 'run_command', { machines: ['bravo'], argv: ['echo', 'no longer'] });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/^the hub answered 403 forbidden: this needs the permission commands:exec, which your role \(viewer\) does not include/);
    await listChanged;
    expect(await toolNames(client)).toEqual(READ_TOOLS);
  });

  it('does not start without a token the hub accepts', async () => {
    const proc = run([farolBin, 'mcp'], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: 'fat_not_a_real_token_0123456789abcdef', HOME: dir.path } });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/the hub refused the token/);
  });
});

describe.skipIf(dockerSkipReason() !== null)('farol mcp restarting a real container', () => {
  let engine: DockerEngine;

  beforeAll(async () => {
    engine = await startDockerEngine();
    await engine.docker(['run', '-d', '--network', 'none', '--name', 'farol-mcp-web', TEST_IMAGE, 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done']);
    const join = await joinToken(hub.url, { uses: 1 });
    procs.push(run([agentBundle, 'run', '--hub', hub.url, '--token', join, '--state', path.join(dir.path, 'dock'), '--name', 'dock', '--interval', '1s', '--docker-host', engine.host]));
    await waitFor(async () => ((await api<{ docker: { state: string } | null }>(hub.url, 'GET', '/api/agents/dock/containers')).body.docker?.state === 'available' ? true : undefined), 30_000, 'dock reporting Docker');
  }, 90_000);

  afterAll(async () => {
    await engine?.stop();
  });

  it('restarts the container through restart_container, audited as MCP', async () => {
    const { client } = await startMcp(ADMIN_TOKEN);
    const before = await engine.waitForContainer('farol-mcp-web', (c) => c.State.Running, 5_000);
    const shown = await callJson<{ containers: Array<{ name: string; state: string }> }>(client, 'show_machine', { machine: 'dock' });
    expect(shown.containers).toContainEqual(expect.objectContaining({ name: 'farol-mcp-web', state: 'running' }));
    const restarted = await callJson<{ job: string; targets: Array<{ state: string }> }>(client, 'restart_container', { machine: 'dock', container: 'farol-mcp-web', timeoutSeconds: 2 });
    expect(restarted.targets).toEqual([expect.objectContaining({ state: 'succeeded' })]);
    const after = await engine.waitForContainer('farol-mcp-web', (c) => c.State.Running, 5_000);
    expect(Date.parse(after.State.StartedAt)).toBeGreaterThan(Date.parse(before.State.StartedAt));
    const audit = await api<AuditList>(hub.url, 'GET', `/api/audit?action=command.create&agent=dock`);
    expect(audit.body.entries[0]).toMatchObject({ jobId: restarted.job, details: expect.objectContaining({ client: 'mcp', via: 'tok_admin' }) });
    // A container that is not there: the agent's own error, as a tool error.
    const missing = await call(client, 'restart_container', { machine: 'dock', container: 'farol-nope' });
    expect(missing.isError).toBe(true);
    expect(JSON.parse(missing.text)).toMatchObject({ targets: [{ state: 'failed', error: expect.stringMatching(/farol-nope/) }] });
  });
});
