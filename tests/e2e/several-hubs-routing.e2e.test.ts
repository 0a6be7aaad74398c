import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalOpenClaimsSchema, UI_NAMESPACE, type Agent, type AgentStatusEvent, type CommandRun, type Job, type JobOutputEvent, type MetricsLiveEvent, type TerminalOpenAck } from '@farol/protocol';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun, sample, type PeerIdentity } from '../../apps/hub/src/testing/protocol-peer.js';
import { ADMIN_TOKEN, api, farolBin, joinToken, run, waitFor } from './support/processes.js';
import { HUB_LEASE_MS as LEASE_MS, severalHubsSkipReason as skipReason, startSeveralHubs, type SeveralHubs } from './support/several-hubs.js';

/*
 * Issue #14, items 2 and 3: three real hub processes on one fresh PostgreSQL database and one
 * Redis (a database number of this file's own), agents speaking the real protocol spread over
 * them. A job created on hub A for agents on B and C stores every result once and streams
 * every output line to the CLI and a dashboard on A; POST /api/agents/:id/command on A waits
 * for the result of an agent on B; a terminal opened on A to an agent on B works both ways;
 * hub C starting does not take A's agents offline; after `kill -9` of a hub, the agent that
 * moved to another hub stays online (no flap) and the one that did not goes offline within
 * 30 s of the dead hub's lease expiring; the API names the hub holding each machine.
 */

if (skipReason) console.warn(`several-hubs-routing: skipped: ${skipReason}`);

/** This file's fleet: its own database and Redis database number 14 (its keys and, through the prefix, its channels). */
let fleet: SeveralHubs;
let runId: string;
const sockets: Socket[] = [];
/** Agents hold their output until this resolves (a test that must watch a job before any line comes closes it). */
let outputGate: Promise<void> = Promise.resolve();

const hub = (name: 'a' | 'b' | 'c') => fleet.hub(name);

async function uiSocket(url: string): Promise<Socket> {
  const socket = io(`${url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: ADMIN_TOKEN } });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/**
 * A hand-driven agent connected to `url`: answers every shell command with two output chunks
 * (`<name> line 1`, `<name> line 2`), then its result; echoes terminal input back as output.
 * Counts the commands it was sent, to show none is sent twice.
 */
async function connectMachine(url: string, peer: PeerIdentity) {
  const connected = await connectPeer(url, peer);
  if (!connected.socket) throw new Error(`connect failed: ${JSON.stringify(connected.error)}`);
  const socket = connected.socket;
  sockets.push(socket);
  const runs: string[] = [];
  socket.on('command:run', (command: CommandRun) => {
    const claims = readCommandRun(command);
    runs.push(claims.commandId);
    void (async () => {
      await emitAck(socket, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: Date.now() });
      await outputGate;
      const lines = [`${peer.name} line 1\n`, `${peer.name} line 2\n`];
      for (const [seq, data] of lines.entries()) await emitAck(socket, 'command:output', { commandId: claims.commandId, stream: 'stdout', data, seq });
      const at = Date.now();
      const stored = await emitAck(socket, 'command:result', {
        commandId: claims.commandId,
        state: 'succeeded',
        exitCode: 0,
        signal: null,
        stdout: lines.join(''),
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        data: null,
        startedAt: at,
        endedAt: at,
        error: null,
      });
      if (!stored.ok) throw new Error(`result refused: ${JSON.stringify(stored.error)}`);
    })().catch((error: unknown) => console.error('peer command failed', error));
  });
  let outputSeq = 0;
  socket.on('terminal:open', ({ token }: { token: string }) => {
    const claims = TerminalOpenClaimsSchema.parse(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()));
    void emitAck(socket, 'terminal:opened', { sessionId: claims.sessionId, status: 'opened', shell: '/bin/sh -l', pid: 4242 });
  });
  socket.on('terminal:input', ({ sessionId, data }: { sessionId: string; data: Buffer }) => {
    void emitAck(socket, 'terminal:output', { sessionId, seq: outputSeq++, data: Buffer.concat([Buffer.from('echo: '), Buffer.from(data)]) });
  });
  // It sends no heartbeats: a long interval keeps it online however slowly a loaded machine runs
  // this file (three missed intervals take an agent offline).
  if (!(await hello(socket, 600_000, peer.name)).ok) throw new Error('hello failed');
  return { peer, socket, runs };
}

async function enrollMachine(url: string, name: string) {
  return connectMachine(url, await enrollPeer(url, await joinToken(url), name));
}

async function agentOn(url: string, ref: string): Promise<Agent> {
  const { status, body } = await api<Agent>(url, 'GET', `/api/agents/${ref}`);
  expect(status).toBe(200);
  return body;
}

async function storedStatus(agentId: string): Promise<string> {
  const client = new pg.Client({ connectionString: fleet.databaseUrl });
  await client.connect();
  try {
    return ((await client.query<{ status: string }>('select status from agents where id = $1', [agentId])).rows[0]!).status;
  } finally {
    await client.end();
  }
}

async function auditCount(action: string, commandId: string): Promise<number> {
  const client = new pg.Client({ connectionString: fleet.databaseUrl });
  await client.connect();
  try {
    const rows = await client.query<{ details: string }>('select details from audit_log where action = $1', [action]);
    return rows.rows.filter((row) => String(row.details).includes(commandId)).length;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (skipReason) return;
  fleet = await startSeveralHubs({ idPrefix: 'route', redisDb: 14 });
  runId = fleet.runId;
  await fleet.start('a');
  await fleet.start('b');
}, 180_000);

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await fleet?.close();
});

describe.skipIf(skipReason !== null)('three hubs route to agents wherever they are connected', () => {
  let onA: Awaited<ReturnType<typeof enrollMachine>>;
  let onB: Awaited<ReturnType<typeof enrollMachine>>;
  let onC: Awaited<ReturnType<typeof enrollMachine>>;
  let movesFromC: Awaited<ReturnType<typeof enrollMachine>>;
  let late: PeerIdentity;
  let orphanJobId: string;

  it('does not take hub A\'s agents offline when hub C starts, and names the hub holding each machine', async () => {
    onA = await enrollMachine(hub('a').url, `alpha-${runId}`);
    onB = await enrollMachine(hub('b').url, `bravo-${runId}`);
    await waitFor(async () => ((await agentOn(hub('a').url, onB.peer.agentId)).status === 'online' ? true : undefined), 10_000, 'bravo online on hub A');
    await fleet.start('c');
    // C started after A's agent connected: the stored status and every hub's answer stay online.
    expect(await storedStatus(onA.peer.agentId)).toBe('online');
    for (const name of ['a', 'b', 'c'] as const) {
      const alpha = await agentOn(hub(name).url, onA.peer.agentId);
      expect(alpha).toMatchObject({ status: 'online', hub: hub('a').id });
      const bravo = await agentOn(hub(name).url, onB.peer.agentId);
      expect(bravo).toMatchObject({ status: 'online', hub: hub('b').id });
    }
    // Each hub says it reaches the shared Redis.
    for (const name of ['a', 'b', 'c'] as const) expect(await (await fetch(`${hub(name).url}/ready`)).json()).toMatchObject({ status: 'ready', redis: 'ok' });
    onC = await enrollMachine(hub('c').url, `charlie-${runId}`);
    movesFromC = await enrollMachine(hub('c').url, `delta-${runId}`);
    // The CLI on A names the hub of a machine connected to C.
    const show = run([farolBin, 'agents', 'show', onC.peer.name], { env: { FAROL_HUB_URL: hub('a').url, FAROL_TOKEN: ADMIN_TOKEN } });
    expect(await show.exited, show.output()).toBe(0);
    expect(show.output()).toMatch(new RegExp(`hub\\s+${hub('c').id}`));
    const list = run([farolBin, 'agents', 'ls'], { env: { FAROL_HUB_URL: hub('b').url, FAROL_TOKEN: ADMIN_TOKEN } });
    expect(await list.exited, list.output()).toBe(0);
    expect(list.output()).toContain('HUB');
    expect(list.output()).toMatch(new RegExp(`${onC.peer.name}\\s+online.*${hub('c').id}`));
  }, 180_000);

  it('runs a job created on hub A on agents held by hubs B and C: each result stored once, every line streamed to A', async () => {
    const exec = run([farolBin, 'exec', `${onB.peer.name},${onC.peer.name}`, '--', '/bin/echo', 'hi'], { env: { FAROL_HUB_URL: hub('a').url, FAROL_TOKEN: ADMIN_TOKEN } });
    // The same job, found through the API of hub B.
    const job = await waitFor(async () => {
      const { body } = await api<{ jobs: Job[] }>(hub('b').url, 'GET', '/api/jobs?limit=5');
      return body.jobs.find((candidate) => candidate.total === 2 && JSON.stringify(candidate.targetsSpec).includes(onC.peer.name));
    }, 10_000, 'the job listed on hub B');
    expect(await exec.exited, exec.output()).toBe(0);
    for (const name of [onB.peer.name, onC.peer.name]) {
      expect(exec.output()).toContain(`${name} line 1`);
      expect(exec.output()).toContain(`${name} line 2`);
    }
    const done = await waitFor(async () => {
      const { body } = await api<Job>(hub('c').url, 'GET', `/api/jobs/${job.id}`);
      return body.state === 'done' ? body : undefined;
    }, 10_000, 'the job done, read on hub C');
    expect(done.targets.map((target) => target.state)).toEqual(['succeeded', 'succeeded']);
    for (const target of done.targets) {
      expect(target.stdout).toBe(`${target.agentName} line 1\n${target.agentName} line 2\n`);
      // Stored once: one result audit entry per command, whichever hub received it.
      await waitFor(async () => ((await auditCount('command.result', target.commandId)) > 0 ? true : undefined), 5_000, 'the result audited');
      expect(await auditCount('command.result', target.commandId)).toBe(1);
    }
    // Each agent was sent its command once.
    expect(onB.runs.filter((id) => done.targets.some((target) => target.commandId === id))).toHaveLength(1);
    expect(onC.runs.filter((id) => done.targets.some((target) => target.commandId === id))).toHaveLength(1);
  }, 60_000);

  it('streams output from agents on hubs B and C to a dashboard on hub A watching from the start', async () => {
    const dashboard = await uiSocket(hub('a').url);
    const streamed: JobOutputEvent[] = [];
    dashboard.on('job:output', (event: JobOutputEvent) => streamed.push(event));
    let release!: () => void;
    outputGate = new Promise<void>((resolve) => (release = resolve));
    const created = await api<Job>(hub('a').url, 'POST', '/api/jobs', { command: { kind: 'shell', argv: ['/bin/echo', 'again'] }, targets: { agents: [onB.peer.name, onC.peer.name] } });
    expect(created.status).toBe(201);
    const watched = await emitAck<{ job: Job }>(dashboard, 'job:watch', { jobId: created.body.id });
    expect(watched.ok).toBe(true);
    release();
    const done = await waitFor(async () => {
      const { body } = await api<Job>(hub('a').url, 'GET', `/api/jobs/${created.body.id}`);
      return body.state === 'done' ? body : undefined;
    }, 10_000, 'the job done');
    for (const target of done.targets) {
      await waitFor(async () => ((await auditCount('command.result', target.commandId)) > 0 ? true : undefined), 5_000, 'the result audited');
      expect(await auditCount('command.result', target.commandId)).toBe(1);
    }
    // Every line of both agents reached the dashboard on A, in order per command.
    await waitFor(() => (streamed.length >= 4 ? true : undefined), 5_000, 'four lines streamed to A');
    const lines = (agentId: string) => streamed.filter((event) => event.agentId === agentId).map((event) => [event.seq, event.data]);
    expect(lines(onB.peer.agentId)).toEqual([[0, `${onB.peer.name} line 1\n`], [1, `${onB.peer.name} line 2\n`]]);
    expect(lines(onC.peer.agentId)).toEqual([[0, `${onC.peer.name} line 1\n`], [1, `${onC.peer.name} line 2\n`]]);
  }, 30_000);

  it('answers POST /api/agents/:id/command on hub A with the result of an agent on hub B', async () => {
    const { status, body } = await api<Job>(hub('a').url, 'POST', `/api/agents/${onB.peer.agentId}/command`, { command: { kind: 'shell', argv: ['/bin/echo', 'waited'] } });
    expect(status).toBe(200);
    expect(body.state).toBe('done');
    expect(body.targets[0]).toMatchObject({ state: 'succeeded', exitCode: 0, stdout: `${onB.peer.name} line 1\n${onB.peer.name} line 2\n` });
  }, 30_000);

  it('opens a terminal on hub A to an agent on hub B: input reaches it, its output comes back', async () => {
    const operator = await uiSocket(hub('a').url);
    const output: Buffer[] = [];
    operator.on('terminal:output', (payload: { data: Buffer }, ack: () => void) => {
      output.push(Buffer.from(payload.data));
      ack();
    });
    const open = await emitAck<TerminalOpenAck>(operator, 'terminal:open', { agentId: onB.peer.agentId, cols: 80, rows: 24 });
    if (!open.ok) throw new Error(`terminal:open refused: ${open.error.code} ${open.error.message}`);
    expect(open.data.agentName).toBe(onB.peer.name);
    for (const text of ['first\r', 'second\r']) {
      const sent = await emitAck(operator, 'terminal:input', { sessionId: open.data.sessionId, data: Buffer.from(text) });
      expect(sent.ok).toBe(true);
    }
    await waitFor(() => (Buffer.concat(output).toString() === 'echo: first\recho: second\r' ? true : undefined), 10_000, 'both echoes back on A, in order');
    const closed = await emitAck(operator, 'terminal:close', { sessionId: open.data.sessionId });
    expect(closed.ok).toBe(true);
  }, 30_000);

  it('runs live mode for a dashboard on hub A watching an agent on hub B', async () => {
    const told: Array<number | null> = [];
    onB.socket.on('telemetry:live', ({ intervalMs }: { intervalMs: number | null }) => told.push(intervalMs));
    const dashboard = await uiSocket(hub('a').url);
    const samples: MetricsLiveEvent[] = [];
    dashboard.on('metrics:live', (event: MetricsLiveEvent) => samples.push(event));
    const watched = await emitAck<{ intervalMs: number; online: boolean }>(dashboard, 'agent:watch', { agentId: onB.peer.agentId });
    expect(watched).toMatchObject({ ok: true, data: { intervalMs: 1_000, online: true } });
    await waitFor(() => (told.includes(1_000) ? true : undefined), 5_000, 'the agent on B told to stream');
    // Hub B relays while A watches (it keeps the agent streaming instead of telling it to stop).
    for (const cpu of [41, 42]) expect((await emitAck(onB.socket, 'metrics:live', { sample: sample(Date.now(), cpu) })).ok).toBe(true);
    await waitFor(() => (samples.length >= 2 ? true : undefined), 5_000, 'live samples on A');
    expect(samples.map((event) => [event.agentId, event.sample.cpu.total])).toEqual([[onB.peer.agentId, 41], [onB.peer.agentId, 42]]);
    expect(told).not.toContain(null);
    await emitAck(dashboard, 'agent:unwatch', { agentId: onB.peer.agentId });
    await waitFor(() => (told.at(-1) === null ? true : undefined), 5_000, 'the agent on B told to stop');
  }, 30_000);

  it('closes on hub B the connection of a machine removed through hub A', async () => {
    const doomed = await enrollMachine(hub('b').url, `foxtrot-${runId}`);
    const closed = new Promise<string>((resolve) => doomed.socket.once('disconnect', (reason) => resolve(reason)));
    expect((await api(hub('a').url, 'DELETE', `/api/agents/${doomed.peer.agentId}`)).status).toBe(204);
    expect(await closed).toBe('io server disconnect');
  }, 30_000);

  it('after kill -9 of hub C: the agent that moved to B stays online, the other goes offline within 30 s of the lease expiring', async () => {
    const watcher = await uiSocket(hub('a').url);
    const events: AgentStatusEvent[] = [];
    watcher.on('agent:status', (event: AgentStatusEvent) => events.push(event));
    // A job created on C for a machine that is offline: C dies owning it.
    late = await enrollPeer(hub('c').url, await joinToken(hub('c').url), `echo-${runId}`);
    const orphan = await api<Job>(hub('c').url, 'POST', '/api/jobs', { command: { kind: 'shell', argv: ['/bin/echo', 'late'] }, targets: { agents: [late.name] }, ttlMs: 300_000 });
    expect(orphan.status).toBe(201);
    expect(orphan.body.targets[0]!.state).toBe('queued');
    orphanJobId = orphan.body.id;
    const killedAt = Date.now();
    await hub('c').proc.stop('SIGKILL');
    // delta reconnects to hub B at once (as a failing-over agent does); charlie does not come back.
    onC.socket.disconnect();
    movesFromC.socket.disconnect();
    const moved = await connectMachine(hub('b').url, movesFromC.peer);
    expect(await agentOn(hub('a').url, moved.peer.agentId)).toMatchObject({ status: 'online', hub: hub('b').id });
    // Until the lease expires charlie still reads as held by C; then offline everywhere.
    const offlineAt = await waitFor(async () => ((await agentOn(hub('a').url, onC.peer.agentId)).status === 'offline' ? Date.now() : undefined), LEASE_MS + 35_000, 'charlie offline');
    expect(offlineAt - killedAt).toBeLessThanOrEqual(LEASE_MS + 30_000);
    // Every live hub agrees within moments (the sweeper tells the others' mirrors over Redis).
    const charlieOnB = await waitFor(async () => {
      const agent = await agentOn(hub('b').url, onC.peer.agentId);
      return agent.status === 'offline' ? agent : undefined;
    }, 2_000, 'charlie offline on hub B too');
    expect(charlieOnB.hub).toBeNull();
    expect(await storedStatus(onC.peer.agentId)).toBe('offline');
    // The machine that moved never flapped: no offline event for it, and it is online on B.
    expect(events.filter((event) => event.agentId === moved.peer.agentId && event.status === 'offline')).toEqual([]);
    expect(events.some((event) => event.agentId === onC.peer.agentId && event.status === 'offline')).toBe(true);
    expect(await agentOn(hub('a').url, moved.peer.agentId)).toMatchObject({ status: 'online', hub: hub('b').id });
    expect(await storedStatus(moved.peer.agentId)).toBe('online');
    // And a command from A still reaches it on B.
    const { status, body } = await api<Job>(hub('a').url, 'POST', `/api/agents/${moved.peer.agentId}/command`, { command: { kind: 'shell', argv: ['/bin/true'] } });
    expect(status).toBe(200);
    expect(body.targets[0]!.state).toBe('succeeded');
  }, 90_000);

  it('takes over the job of the killed hub: its machine, coming online on hub B, gets the command once', async () => {
    const machine = await connectMachine(hub('b').url, late);
    const done = await waitFor(async () => {
      const { body } = await api<Job>(hub('a').url, 'GET', `/api/jobs/${orphanJobId}`);
      return body.state === 'done' ? body : undefined;
    }, 30_000, 'the orphaned job done');
    expect(done.targets[0]).toMatchObject({ state: 'succeeded', stdout: `${late.name} line 1\n${late.name} line 2\n` });
    await waitFor(async () => ((await auditCount('command.result', done.targets[0]!.commandId)) > 0 ? true : undefined), 5_000, 'the result audited');
    expect(await auditCount('command.result', done.targets[0]!.commandId)).toBe(1);
    expect(machine.runs).toEqual([done.targets[0]!.commandId]);
  }, 60_000);
});
