import { createPublicKey, verify } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_TERMINAL_CHUNK_BYTES,
  TERMINAL_JWS_TYPE,
  TerminalOpenClaimsSchema,
  UI_NAMESPACE,
  type Ack,
  type AuditList,
  type TerminalClosed,
  type TerminalOpenAck,
  type TerminalOpenClaims,
  type TerminalSessionList,
} from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, type PeerIdentity } from '../../testing/protocol-peer.js';

let hub: HubFixture;

beforeAll(async () => {
  hub = await startHubFixture({
    FAROL_TERMINAL_MAX_PER_AGENT: '2',
    FAROL_TERMINAL_MAX_PER_OPERATOR: '3',
    FAROL_TERMINAL_IDLE_TIMEOUT: '4s',
    FAROL_TERMINAL_RECORD: 'true',
  });
});
afterAll(async () => {
  await hub?.stop();
});

type Answer = { refusal: 'policy' | 'limit' | 'unavailable'; message: string } | null;

/**
 * A hand-driven agent: verifies each signed opening with the key it pinned, answers it (or
 * refuses as told), echoes input back as output, and records what the hub sends.
 */
async function terminalAgent(hostname: string, answer: () => Answer = () => null) {
  const peer: PeerIdentity = await enrollPeer(hub.url, await hub.createJoinToken(), hostname);
  const result = await connectPeer(hub.url, peer);
  if (!result.socket) throw new Error(`connect failed: ${JSON.stringify(result.error)}`);
  const socket = result.socket;
  const key = createPublicKey({ key: { ...peer.enrollment.hubPublicKey }, format: 'jwk' });
  const openings: TerminalOpenClaims[] = [];
  const closes: string[] = [];
  const seq = new Map<string, number>();
  socket.on('terminal:open', ({ token }: { token: string }) => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    if (!verify(null, Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) throw new Error('bad signature');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'EdDSA', typ: TERMINAL_JWS_TYPE });
    const claims = TerminalOpenClaimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString()));
    openings.push(claims);
    const refusal = answer();
    void emitAck(socket, 'terminal:opened', refusal ? { sessionId: claims.sessionId, status: 'refused', ...refusal } : { sessionId: claims.sessionId, status: 'opened', shell: '/bin/test-shell -l', pid: 4242 });
  });
  socket.on('terminal:input', ({ sessionId, data }: { sessionId: string; data: Buffer }) => {
    const next = seq.get(sessionId) ?? 0;
    seq.set(sessionId, next + 1);
    void emitAck(socket, 'terminal:output', { sessionId, seq: next, data });
  });
  socket.on('terminal:close', ({ sessionId }: { sessionId: string }) => closes.push(sessionId));
  const ack = await hello(socket, 10_000, hostname);
  if (!ack.ok) throw new Error('hello failed');
  return { peer, socket, openings, closes, nextSeq: (id: string) => seq.get(id) ?? 0, setSeq: (id: string, n: number) => seq.set(id, n) };
}

/** An operator's /ui socket that collects output and closings; `autoAck` false leaves output unacknowledged. */
async function operator(autoAck = true, token = hub.adminToken) {
  const socket: Socket = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], auth: { token }, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const output = new Map<string, Buffer[]>();
  const pendingAcks: Array<() => void> = [];
  const closed: TerminalClosed[] = [];
  socket.on('terminal:output', (payload: { sessionId: string; data: Buffer }, ack: () => void) => {
    output.set(payload.sessionId, [...(output.get(payload.sessionId) ?? []), Buffer.from(payload.data)]);
    if (autoAck) ack();
    else pendingAcks.push(ack);
  });
  socket.on('terminal:closed', (payload: TerminalClosed) => closed.push(payload));
  return {
    socket,
    closed,
    pendingAcks,
    text: (id: string) => Buffer.concat(output.get(id) ?? []).toString('utf8'),
    open: (agentId: string, cols = 80, rows = 24) => emitAck<TerminalOpenAck>(socket, 'terminal:open', { agentId, cols, rows }),
    type: (sessionId: string, text: string | Buffer) => emitAck(socket, 'terminal:input', { sessionId, data: typeof text === 'string' ? Buffer.from(text) : text }),
  };
}

function opened(ack: Ack<TerminalOpenAck>): TerminalOpenAck {
  if (!ack.ok) throw new Error(`terminal:open refused: ${ack.error.code} ${ack.error.message}`);
  return ack.data;
}

const auditOf = async (sessionId: string) => ((await hub.api('GET', '/api/audit?limit=1000')).body as AuditList).entries.filter((e) => e.details.sessionId === sessionId);

describe('terminals through the real hub', () => {
  it('relays a session both ways, audits its start and end, and records its output as asciicast', async () => {
    const agent = await terminalAgent('term-relay');
    const ops = await operator();
    const session = opened(await ops.open('term-relay', 100, 30));
    expect(session).toMatchObject({ agentId: agent.peer.agentId, agentName: 'term-relay', shell: '/bin/test-shell -l', idleTimeoutMs: 4_000 });
    expect(agent.openings[0]).toMatchObject({ sub: agent.peer.agentId, sessionId: session.sessionId, cols: 100, rows: 30, actor: 'admin', aud: 'farol-agent-terminal' });
    expect(agent.openings[0]!.exp - agent.openings[0]!.iat).toBe(30);

    expect((await ops.type(session.sessionId, 'echo hi\r')).ok).toBe(true);
    // A two-byte character split across two chunks reaches the operator and the recording whole.
    const e = Buffer.from('é\r\n');
    await ops.type(session.sessionId, e.subarray(0, 1));
    await ops.type(session.sessionId, e.subarray(1));
    await waitFor(() => ops.text(session.sessionId) === 'echo hi\ré\r\n' || undefined, 5_000, 'the echoed input');
    expect((await emitAck(ops.socket, 'terminal:resize', { sessionId: session.sessionId, cols: 120, rows: 40 })).ok).toBe(true);

    await emitAck(agent.socket, 'terminal:exit', { sessionId: session.sessionId, reason: 'exited', exitCode: 3, signal: null, message: null });
    await waitFor(() => ops.closed.length === 1 || undefined, 5_000, 'terminal:closed');
    expect(ops.closed[0]).toEqual({ sessionId: session.sessionId, reason: 'exited', exitCode: 3, signal: null, message: null });

    const entries = await waitFor(async () => {
      const found = await auditOf(session.sessionId);
      return found.length === 2 ? found : undefined;
    }, 5_000, 'the audit entries');
    const start = entries.find((entry) => entry.action === 'terminal.open')!;
    const end = entries.find((entry) => entry.action === 'terminal.close')!;
    expect(start).toMatchObject({ actor: 'admin', agentId: agent.peer.agentId, details: { outcome: 'opened', shell: '/bin/test-shell -l', recorded: true } });
    expect(end).toMatchObject({ actor: 'admin', agentId: agent.peer.agentId, details: { reason: 'exited', exitCode: 3, bytesIn: 12, bytesOut: 12, recorded: true } });
    expect(end.details.durationMs).toEqual(expect.any(Number));
    expect((await hub.api('GET', '/api/audit/verify')).body).toMatchObject({ ok: true });

    const list = (await hub.api('GET', '/api/terminal/sessions?agent=term-relay')).body as TerminalSessionList;
    expect(list.sessions).toEqual([
      expect.objectContaining({ id: session.sessionId, actor: 'admin', closeReason: 'exited', exitCode: 3, bytesIn: 12, bytesOut: 12, cols: 120, rows: 40, recorded: true }),
    ]);
    const recording = await hub.api('GET', `/api/terminal/sessions/${session.sessionId}/recording`);
    expect(recording.status).toBe(200);
    expect(recording.headers.get('content-type')).toContain('application/x-asciicast');
    const lines = (recording.body as string).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(lines[0]).toMatchObject({ version: 2, width: 100, height: 30, title: 'term-relay (/bin/test-shell -l) by admin' });
    const events = lines.slice(1) as Array<[number, string, string]>;
    expect(events.filter(([, type]) => type === 'o').map(([, , data]) => data).join('')).toBe('echo hi\ré\r\n');
    expect(events.filter(([, type]) => type === 'r').map(([, , data]) => data)).toEqual(['120x40']);
    // Issue #14: once the session ended the recording is in the database (every hub serves it)
    // and this hub's spool file is gone.
    const file = path.join(hub.dataDir, 'recordings', `${session.sessionId}.cast`);
    expect(existsSync(file)).toBe(false);
    ops.socket.close();
    agent.socket.close();
  });

  it('tells the operator a session ended only once its end is stored, so what reads it next finds it', async () => {
    const agent = await terminalAgent('term-stored');
    const ops = await operator();
    const session = opened(await ops.open('term-stored', 100, 30));
    // A 3 MiB recording: moving it into the database takes the hub several turns of its event
    // loop, in which a request sent on hearing of the end would be served first.
    const chunk = Buffer.alloc(MAX_TERMINAL_CHUNK_BYTES, 'x');
    for (let seq = 0; seq < 48; seq++) expect((await emitAck(agent.socket, 'terminal:output', { sessionId: session.sessionId, seq, data: chunk })).ok).toBe(true);
    expect((await emitAck(ops.socket, 'terminal:resize', { sessionId: session.sessionId, cols: 120, rows: 40 })).ok).toBe(true);
    const onClosed = new Promise<[TerminalSessionList, AuditList]>((resolve, reject) => {
      ops.socket.once('terminal:closed', () => {
        Promise.all([hub.api('GET', '/api/terminal/sessions?agent=term-stored'), hub.api('GET', '/api/audit?limit=1000')]).then(
          ([list, audit]) => resolve([list.body as TerminalSessionList, audit.body as AuditList]),
          reject,
        );
      });
    });
    await emitAck(agent.socket, 'terminal:exit', { sessionId: session.sessionId, reason: 'exited', exitCode: 3, signal: null, message: null });
    const [list, audit] = await onClosed;
    expect(list.sessions).toEqual([expect.objectContaining({ id: session.sessionId, closeReason: 'exited', exitCode: 3, cols: 120, rows: 40, recorded: true })]);
    expect(audit.entries.filter((entry) => entry.details.sessionId === session.sessionId).map((entry) => entry.action).sort()).toEqual(['terminal.close', 'terminal.open']);
    const recording = await hub.api('GET', `/api/terminal/sessions/${session.sessionId}/recording`);
    expect(recording.status).toBe(200);
    expect((recording.body as string).length).toBeGreaterThan(48 * MAX_TERMINAL_CHUNK_BYTES);
    ops.socket.close();
    agent.socket.close();
  });

  it('caps sessions per machine and per operator', async () => {
    const a = await terminalAgent('term-cap-a');
    const b = await terminalAgent('term-cap-b');
    const ops = await operator();
    opened(await ops.open('term-cap-a'));
    opened(await ops.open('term-cap-a'));
    const third = await ops.open('term-cap-a');
    expect(third).toMatchObject({ ok: false, error: { code: 'session_limit' } });
    expect(!third.ok && third.error.message).toContain('FAROL_TERMINAL_MAX_PER_AGENT=2');
    expect(a.openings).toHaveLength(2);
    opened(await ops.open('term-cap-b'));
    const fourth = await ops.open('term-cap-b');
    expect(fourth).toMatchObject({ ok: false, error: { code: 'session_limit' } });
    expect(!fourth.ok && fourth.error.message).toContain('FAROL_TERMINAL_MAX_PER_OPERATOR=3');
    expect(b.openings).toHaveLength(1);
    // The operator's connection closes: every session ends and the agents are told to close them.
    ops.socket.close();
    await waitFor(() => (a.closes.length === 2 && b.closes.length === 1) || undefined, 5_000, 'the closes');
    const after = await operator();
    opened(await after.open('term-cap-a'));
    after.socket.close();
    a.socket.close();
    b.socket.close();
  });

  it('counts the operator cap per person: another operator still opens where the machine has room', async () => {
    const p = await terminalAgent('term-person-p');
    const q = await terminalAgent('term-person-q');
    const password = 'a long enough password 42!';
    expect((await hub.api('POST', '/api/users', { username: 'olga', password, role: 'operator' })).status).toBe(201);
    const login = await hub.api('POST', '/api/auth/login', { username: 'olga', password, issue: 'token' }, null);
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const admin = await operator();
    const olga = await operator(true, (login.body as { token: { token: string } }).token.token);
    opened(await admin.open('term-person-p'));
    opened(await admin.open('term-person-p'));
    opened(await admin.open('term-person-q'));
    expect(await admin.open('term-person-q')).toMatchObject({ ok: false, error: { code: 'session_limit' } });
    const hers = opened(await olga.open('term-person-q'));
    const full = await olga.open('term-person-p');
    expect(full).toMatchObject({ ok: false, error: { code: 'session_limit' } });
    expect(!full.ok && full.error.message).toContain('FAROL_TERMINAL_MAX_PER_AGENT');
    await olga.type(hers.sessionId, 'whoami\r');
    await waitFor(() => olga.text(hers.sessionId) === 'whoami\r' || undefined, 5_000, 'her echo');
    // Sessions are per connection: the admin cannot type into hers.
    expect(await admin.type(hers.sessionId, 'id\r')).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const start = await waitFor(async () => (await auditOf(hers.sessionId)).find((entry) => entry.action === 'terminal.open'), 5_000, 'her audit entry');
    expect(start.actor).toBe('olga');
    for (const socket of [admin.socket, olga.socket, p.socket, q.socket]) socket.close();
  });

  it('answers a policy refusal, an offline machine and an unknown one with their own codes', async () => {
    const agent = await terminalAgent('term-policy', () => ({ refusal: 'policy', message: 'refused by agent policy: terminal is not allowed here' }));
    const ops = await operator();
    expect(await ops.open('term-policy')).toEqual({ ok: false, error: { code: 'command_refused', message: 'refused by agent policy: terminal is not allowed here' } });
    const refused = await waitFor(async () => (await hub.api('GET', '/api/audit?action=terminal.open&limit=1000')).body as AuditList, 5_000, 'audit');
    expect(refused.entries.find((entry) => entry.agentId === agent.peer.agentId)).toMatchObject({ details: { outcome: 'refused', code: 'command_refused' } });
    agent.socket.close();
    await waitFor(async () => ((await hub.api('GET', '/api/agents/term-policy')).body as { status: string }).status === 'offline' || undefined, 5_000, 'offline');
    expect(await ops.open('term-policy')).toMatchObject({ ok: false, error: { code: 'agent_offline' } });
    expect(await ops.open('no-such-machine')).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await ops.open('')).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    ops.socket.close();
  });

  it('holds the agent\'s output acknowledgement until the operator has the chunk', async () => {
    const agent = await terminalAgent('term-flow');
    const ops = await operator(false);
    const session = opened(await ops.open('term-flow'));
    let acked = false;
    const ack = emitAck(agent.socket, 'terminal:output', { sessionId: session.sessionId, seq: 0, data: Buffer.from('x'.repeat(1000)) }).then((answer) => {
      acked = true;
      return answer;
    });
    await waitFor(() => ops.pendingAcks.length === 1 || undefined, 5_000, 'the chunk at the operator');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(acked).toBe(false);
    ops.pendingAcks[0]!();
    expect(await ack).toEqual({ ok: true, data: {} });
    // Output for a session this agent does not have is refused.
    const other = await terminalAgent('term-flow-other');
    expect(await emitAck(other.socket, 'terminal:output', { sessionId: session.sessionId, seq: 1, data: Buffer.from('spoof') })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // Text is not bytes: the protocol wants binary data.
    expect(await emitAck(agent.socket, 'terminal:output', { sessionId: session.sessionId, seq: 1, data: 'text' })).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    ops.socket.close();
    agent.socket.close();
    other.socket.close();
  });

  it('ends a session when the agent disconnects, and after the idle timeout without input', async () => {
    const agent = await terminalAgent('term-gone');
    const ops = await operator();
    const first = opened(await ops.open('term-gone'));
    agent.socket.close();
    await waitFor(() => ops.closed.length === 1 || undefined, 5_000, 'terminal:closed');
    expect(ops.closed[0]).toMatchObject({ sessionId: first.sessionId, reason: 'agent_disconnected' });
    expect(await ops.type(first.sessionId, 'ls\r')).toMatchObject({ ok: false, error: { code: 'not_found' } });

    const idle = await terminalAgent('term-idle');
    const second = opened(await ops.open('term-idle'));
    await waitFor(() => ops.closed.length === 2 || undefined, 8_000, 'the idle timeout');
    expect(ops.closed[1]).toMatchObject({ sessionId: second.sessionId, reason: 'idle_timeout' });
    expect(idle.closes).toEqual([second.sessionId]);
    const entries = await waitFor(async () => {
      const found = await auditOf(second.sessionId);
      return found.length === 2 ? found : undefined;
    }, 5_000, 'audit');
    expect(entries.find((entry) => entry.action === 'terminal.close')).toMatchObject({ details: { reason: 'idle_timeout' } });
    ops.socket.close();
    idle.socket.close();
  });
});
