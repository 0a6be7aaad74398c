import { createPublicKey } from 'node:crypto';
import Database from 'better-sqlite3';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  UI_NAMESPACE,
  type AuditList,
  type AuditVerify,
  type CommandClaims,
  type CommandResult,
  type CommandRun,
  type Job,
  type JobOutputEvent,
  type JobTargetEvent,
  type JobUpdateEvent,
} from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun, type PeerIdentity } from '../../testing/protocol-peer.js';
import { isPostgresRun } from '../../testing/postgres-test-db.js';
/** These tests open, damage or copy the SQLite file itself (or test a SQLite-only feature): not on the int-pg run (#13). */
const onPostgres = isPostgresRun();

let hub: HubFixture;

beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  await hub?.stop();
});

/** A hand-driven agent that collects the commands the hub sends it. */
async function agent(hostname: string): Promise<{ peer: PeerIdentity; socket: Socket; commands: Array<{ token: string; batch?: CommandRun['batch']; claims: CommandClaims }> }> {
  const peer = await enrollPeer(hub.url, await hub.createJoinToken(), hostname);
  return { peer, ...(await link(peer)) };
}

async function link(peer: PeerIdentity) {
  const result = await connectPeer(hub.url, peer);
  if (!result.socket) throw new Error(`connect failed: ${JSON.stringify(result.error)}`);
  const socket = result.socket;
  const commands: Array<{ token: string; batch?: CommandRun['batch']; claims: CommandClaims }> = [];
  const key = createPublicKey({ key: { ...peer.enrollment.hubPublicKey }, format: 'jwk' });
  socket.on('command:run', (run: CommandRun) => {
    // Verified with the key the agent pinned at enrollment, as the real agent does.
    commands.push({ token: run.token, batch: run.batch, claims: readCommandRun(run, key) });
  });
  const ack = await hello(socket, 10_000, peer.name);
  if (!ack.ok) throw new Error('hello failed');
  return { socket, commands };
}

function result(claims: CommandClaims, fields: Partial<CommandResult> = {}): CommandResult {
  return {
    commandId: claims.commandId,
    state: 'succeeded',
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    data: null,
    startedAt: Date.now() - 5,
    endedAt: Date.now(),
    error: null,
    ...fields,
  };
}

const getJob = async (id: string) => (await hub.api('GET', `/api/jobs/${id}`)).body as Job;

describe('jobs over the real hub', () => {
  it('stores the job, sends each agent a command signed by the hub key, and stores its result', async () => {
    const a = await agent('jobs-a');
    const created = await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['echo', 'hi'] }, targets: { agents: ['jobs-a'] }, ttlMs: 60_000, timeoutMs: 5_000 });
    expect(created.status).toBe(201);
    const job = created.body as Job;
    await waitFor(() => a.commands.length === 1 || undefined, 5_000, 'the command');
    const { claims } = a.commands[0]!;
    expect(claims).toMatchObject({ sub: a.peer.agentId, jobId: job.id, commandId: job.targets[0]!.commandId, command: { kind: 'shell', argv: ['echo', 'hi'] }, timeoutMs: 5_000 });
    expect(claims.exp * 1000).toBeLessThanOrEqual(job.expiresAt);

    expect(await emitAck(a.socket, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: Date.now() })).toEqual({ ok: true, data: {} });
    expect(await emitAck(a.socket, 'command:output', { commandId: claims.commandId, stream: 'stdout', data: 'hi\n', seq: 0 })).toEqual({ ok: true, data: {} });
    const running = await getJob(job.id);
    expect(running.targets[0]).toMatchObject({ state: 'running', stdout: 'hi\n' });

    expect(await emitAck(a.socket, 'command:result', result(claims, { stdout: 'hi\n' }))).toEqual({ ok: true, data: { stored: true } });
    expect(await emitAck(a.socket, 'command:result', result(claims, { stdout: 'hi\n' }))).toEqual({ ok: true, data: { stored: false } });
    const done = await getJob(job.id);
    expect(done).toMatchObject({ state: 'done', counts: { succeeded: 1 } });
    expect(done.targets[0]).toMatchObject({ state: 'succeeded', exitCode: 0, stdout: 'hi\n' });
    a.socket.close();
  });

  it('signs a job to several machines once: one JWS over a Merkle root, each machine its own proven leaf', async () => {
    const peers = [await agent('jobs-batch-1'), await agent('jobs-batch-2'), await agent('jobs-batch-3')];
    const job = (await hub.api('POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { agents: peers.map((p) => p.peer.name) } })).body as Job;
    await waitFor(() => peers.every((p) => p.commands.length === 1) || undefined, 5_000, 'three commands');
    const runs = peers.map((p) => p.commands[0]!);
    // One signature for the three, each proof checked against it by readCommandRun (as the agent does).
    expect(new Set(runs.map((r) => r.token)).size).toBe(1);
    expect(runs.map((r) => r.batch?.index).toSorted()).toEqual([0, 1, 2]);
    expect(runs.map((r) => r.claims.sub)).toEqual(peers.map((p) => p.peer.agentId));
    expect(new Set(runs.map((r) => r.claims.jti)).size).toBe(3);
    expect(runs.map((r) => r.claims.commandId).toSorted()).toEqual((await getJob(job.id)).targets.map((t) => t.commandId).toSorted());
    // A machine cannot present another's leaf as its own: the hub never sent it that command.
    const stolen = await emitAck(peers[0]!.socket, 'command:result', result(runs[1]!.claims));
    expect(stolen).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    for (const [i, p] of peers.entries()) expect(await emitAck(p.socket, 'command:result', result(runs[i]!.claims))).toEqual({ ok: true, data: { stored: true } });
    await waitFor(async () => (await getJob(job.id)).state === 'done' || undefined, 5_000, 'the job to finish');
    for (const p of peers) p.socket.close();
  });

  it('answers POST /api/agents/:id/command with the result once it is in', async () => {
    const a = await agent('jobs-wait');
    const answerLater = (): void => {
      setTimeout(() => {
        const { claims } = a.commands.at(-1)!;
        void emitAck(a.socket, 'command:result', result(claims, { stdout: 'waited\n' }));
      }, 50);
    };
    a.socket.on('command:run', answerLater);
    const answer = await hub.api('POST', '/api/agents/jobs-wait/command', { command: { kind: 'shell', argv: ['echo', 'waited'] } });
    expect(answer.status).toBe(200);
    expect((answer.body as Job).targets[0]).toMatchObject({ state: 'succeeded', stdout: 'waited\n' });
    // The next command stays unanswered: a result emitted after the socket closes below would
    // time out unobserved and fail a later test with an unhandled rejection.
    a.socket.off('command:run', answerLater);
    const later = await hub.api('POST', '/api/agents/jobs-wait/command?wait=false', { command: { kind: 'metrics' } });
    expect(later.status).toBe(202);
    a.socket.close();
  });

  it('keeps a command for an offline machine until it says hello, and expires it after the TTL', async () => {
    const a = await agent('jobs-offline');
    a.socket.close();
    await waitFor(async () => ((await hub.api('GET', '/api/agents/jobs-offline')).body as { status: string }).status === 'offline' || undefined, 5_000, 'offline');
    const waiting = (await hub.api('POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { selector: 'nothing!=here' }, ttlMs: 60_000 })).body as Job;
    expect(waiting.targets.find((t) => t.agentName === 'jobs-offline')).toMatchObject({ state: 'queued' });
    const expiring = (await hub.api('POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { agents: ['jobs-offline'] }, ttlMs: 1_000 })).body as Job;
    await waitFor(async () => (await getJob(expiring.id)).state === 'done' || undefined, 5_000, 'expiry');
    expect((await getJob(expiring.id)).targets[0]).toMatchObject({ state: 'expired', error: 'the machine was not reachable before the job expired' });

    const back = await link(a.peer);
    await waitFor(() => back.commands.some((c) => c.claims.jobId === waiting.id) || undefined, 5_000, 'the held command');
    // The expired job is never sent.
    expect(back.commands.some((c) => c.claims.jobId === expiring.id)).toBe(false);
    back.socket.close();
  });

  it('refuses, and audits, a result for a command the hub never gave that agent', async () => {
    const a = await agent('jobs-liar');
    const b = await agent('jobs-victim');
    const job = (await hub.api('POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { agents: ['jobs-victim'] } })).body as Job;
    await waitFor(() => b.commands.length === 1 || undefined, 5_000, 'the command');
    const theirs = b.commands[0]!.claims;
    const stolen = await emitAck(a.socket, 'command:result', result(theirs));
    expect(stolen).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const invented = await emitAck(a.socket, 'command:result', result({ ...theirs, commandId: 'cmd_0000000000000000' }));
    expect(invented).toMatchObject({ ok: false, error: { code: 'forbidden', message: 'no command cmd_0000000000000000 was sent to this agent' } });
    expect((await getJob(job.id)).targets[0]!.state).toBe('sent');
    const audit = (await hub.api('GET', `/api/audit?action=command.result_refused&agent=jobs-liar`)).body as AuditList;
    expect(audit.entries.map((e) => e.details.commandId)).toEqual(['cmd_0000000000000000', theirs.commandId]);
    expect(audit.entries[0]!.actor).toBe(`agent:${a.peer.agentId}`);
    a.socket.close();
    b.socket.close();
  });

  it('streams job events to /ui: summaries to everyone, output and targets to watchers', async () => {
    const a = await agent('jobs-ui');
    const ui = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], auth: { token: hub.adminToken } });
    await new Promise<void>((resolve) => ui.once('connect', () => resolve()));
    const events = { updates: [] as JobUpdateEvent[], outputs: [] as JobOutputEvent[], targets: [] as JobTargetEvent[] };
    ui.on('job:update', (e: JobUpdateEvent) => events.updates.push(e));
    ui.on('job:output', (e: JobOutputEvent) => events.outputs.push(e));
    ui.on('job:target', (e: JobTargetEvent) => events.targets.push(e));
    const job = (await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['yes'] }, targets: { agents: ['jobs-ui'] } })).body as Job;
    await waitFor(() => a.commands.length === 1 || undefined, 5_000, 'the command');
    const { claims } = a.commands[0]!;
    await emitAck(a.socket, 'command:output', { commandId: claims.commandId, stream: 'stdout', data: 'before\n', seq: 0 });
    const watch = await ui.timeout(5_000).emitWithAck('job:watch', { jobId: job.id });
    expect(watch).toMatchObject({ ok: true, data: { outputSeq: { [claims.commandId]: 0 }, job: { id: job.id } } });
    expect(watch.data.job.targets[0].stdout).toBe('before\n');
    await emitAck(a.socket, 'command:output', { commandId: claims.commandId, stream: 'stderr', data: 'after\n', seq: 1 });
    await emitAck(a.socket, 'command:result', result(claims, { state: 'failed', exitCode: 1, stdout: 'before\n', stderr: 'after\n' }));
    await waitFor(() => events.updates.some((e) => e.job.id === job.id && e.job.state === 'done') || undefined, 5_000, 'the final summary');
    expect(events.outputs.map((e) => [e.stream, e.data, e.seq])).toEqual([['stderr', 'after\n', 1]]);
    expect(events.targets.at(-1)!.target).toMatchObject({ state: 'failed', exitCode: 1, stderr: 'after\n' });
    expect((await ui.timeout(5_000).emitWithAck('job:watch', { jobId: 'job_0000000000000000' })).error.code).toBe('not_found');
    ui.close();
    a.socket.close();
  });

  it('cancels queued targets at once and asks running ones to stop', async () => {
    const a = await agent('jobs-cancel');
    const cancels: string[] = [];
    a.socket.on('command:cancel', ({ commandId }: { commandId: string }) => cancels.push(commandId));
    const job = (await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['sleep', '9'] }, targets: { agents: ['jobs-cancel'] } })).body as Job;
    await waitFor(() => a.commands.length === 1 || undefined, 5_000, 'the command');
    const { claims } = a.commands[0]!;
    await emitAck(a.socket, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: Date.now() });
    expect((await hub.api('POST', `/api/jobs/${job.id}/cancel`)).status).toBe(200);
    await waitFor(() => cancels.length === 1 || undefined, 5_000, 'command:cancel');
    await emitAck(a.socket, 'command:result', result(claims, { state: 'cancelled', exitCode: null, signal: 'SIGTERM', error: 'cancelled' }));
    const done = await getJob(job.id);
    expect(done).toMatchObject({ state: 'done', counts: { cancelled: 1 } });
    expect((await hub.api('POST', `/api/jobs/${job.id}/cancel`)).body).toMatchObject({ code: 'conflict' });
    a.socket.close();
  });

  it('validates every field of a command before storing anything', async () => {
    await agent('jobs-valid');
    const bad = [
      { command: { kind: 'shell', argv: [] }, targets: { all: true } },
      { command: { kind: 'shell', argv: ['echo', 'nul\u0000byte'] }, targets: { all: true } },
      { command: { kind: 'shell', argv: ['echo'], env: { 'A;B': 'x' } }, targets: { all: true } },
      { command: { kind: 'shell', script: 'id' }, targets: { all: true } },
      { command: { kind: 'shell', argv: ['id'], shell: true, script: 'id' }, targets: { all: true } },
      { command: { kind: 'processes', top: '5; rm -rf /' }, targets: { all: true } },
      { command: { kind: 'metrics', extra: 1 }, targets: { all: true } },
      { command: { kind: 'reboot' }, targets: { all: true } },
      { command: { kind: 'metrics' }, targets: { selector: 'role=gpu;rm' } },
      { command: { kind: 'metrics' }, targets: { agents: ['jobs-valid'], all: true } },
    ];
    for (const body of bad) {
      const answer = await hub.api('POST', '/api/jobs', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
    }
    expect((await hub.api('POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { agents: ['nobody'] } })).body).toMatchObject({ code: 'not_found' });
    expect((await hub.api('GET', '/api/jobs/job_0000000000000000')).status).toBe(404);
  });

  it.skipIf(onPostgres)('keeps a hash-chained audit log whose verification names a tampered entry', async () => {
    const before = (await hub.api('GET', '/api/audit/verify')).body as AuditVerify;
    expect(before).toMatchObject({ ok: true, firstBad: null });
    expect(before.entries).toBeGreaterThan(5);
    const list = (await hub.api('GET', '/api/audit?actor=admin&action=command.create&limit=3')).body as AuditList;
    expect(list.entries).toHaveLength(3);
    expect(list.nextCursor).not.toBeNull();
    const victim = list.entries[1]!;

    const db = new Database(hub.databaseFile);
    expect(() => db.prepare('update audit_log set actor = ? where seq = ?').run('someone-else', victim.seq)).toThrow(/append-only/);
    // Someone with the file can drop the trigger; the chain still gives them away.
    db.exec('drop trigger audit_log_no_update');
    db.prepare('update audit_log set actor = ? where seq = ?').run('someone-else', victim.seq);
    db.close();
    const after = (await hub.api('GET', '/api/audit/verify')).body as AuditVerify;
    expect(after).toMatchObject({ ok: false, firstBad: { seq: victim.seq, reason: 'its content does not match its hash (the entry was changed)' } });
  });
});
