import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SCREENSHOT_CHUNK_BYTES,
  TerminalOpenClaimsSchema,
  UI_NAMESPACE,
  type CommandResult,
  type CommandRun,
  type Job,
  type ScreenshotInfo,
  type TerminalOpenAck,
} from '@farol/protocol';
import { totpAt } from '../../apps/hub/src/modules/auth/totp.js';
import { connectPeer, connectToken, emitAck, enrollPeer, hello, readCommandRun, type PeerIdentity } from '../../apps/hub/src/testing/protocol-peer.js';
import { ADMIN_TOKEN, api, freePort, run, waitFor, farolBin } from './support/processes.js';
import { startSeveralHubs, type SeveralHubs } from './support/several-hubs.js';

/*
 * Issue #14, items 5 and 6: two real hub processes on one PostgreSQL and one Redis, given one
 * hub identity through FAROL_HUB_KEY_FILE and FAROL_SECRET_KEY_FILE (as an operator hands them
 * out), agents speaking the real protocol. Whatever one hub learns about security — a used
 * connect token, a revoked user, a new secret, a new role, requests counted against a limit —
 * holds on the other; a screenshot or a terminal recording stored through one is served by the
 * other; and a hub with another key refuses to join the fleet.
 */

/** This file's fleet: its own database and Redis database number 12 (the hubs' key prefix follows it). */
let fleet: SeveralHubs;
let runId: string;
/** Requests per minute per token: the shared-limit case spends it, nothing else comes near it. */
const API_LIMIT = 300;
const PASSWORD = 'correct horse battery staple';
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(SCREENSHOT_CHUNK_BYTES + 1_000)]);

const sockets: Socket[] = [];

beforeAll(async () => {
  fleet = await startSeveralHubs({
    idPrefix: 'sec',
    redisDb: 12,
    env: { FAROL_API_RATE_LIMIT: String(API_LIMIT), FAROL_LOGIN_RATE_LIMIT: '1000', FAROL_TERMINAL_RECORD: 'true', FAROL_LOG_LEVEL: 'info' },
  });
  runId = fleet.runId;
  // One after the other: the first records the fleet's identity, the second is checked against it.
  await fleet.start('a');
  await fleet.start('b');
}, 180_000);

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await fleet?.close();
});

const hubA = () => fleet.hub('a');
const hubB = () => fleet.hub('b');

async function asToken<T = unknown>(url: string, token: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

async function joinTokenOn(url: string): Promise<string> {
  const { status, body } = await api<{ token: string }>(url, 'POST', '/api/join-tokens', {});
  expect(status).toBe(201);
  return body.token;
}

/** A user and an API token of theirs (signed in on `url`). */
async function userWithToken(url: string, username: string, role = 'operator'): Promise<{ id: string; token: string }> {
  const created = await api<{ id: string }>(url, 'POST', '/api/users', { username, password: PASSWORD, role });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD, issue: 'token' }) });
  expect(login.status).toBe(200);
  return { id: created.body.id, token: ((await login.json()) as { token: { token: string } }).token.token };
}

async function uiSocket(url: string, token: string): Promise<Socket> {
  const socket = io(`${url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

function result(run: CommandRun, fields: Partial<CommandResult>): CommandResult {
  const claims = readCommandRun(run);
  return { commandId: claims.commandId, state: 'succeeded', exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, startedAt: Date.now(), endedAt: Date.now(), error: null, ...fields };
}

/**
 * A hand-driven agent on `url`: answers shell commands with `stdout()` (what a real command
 * would print), screenshots with PNG (in chunks, like the agent), and terminals by echoing.
 */
async function machine(url: string, name: string, stdout: () => string = () => '') {
  const peer: PeerIdentity = await enrollPeer(url, await joinTokenOn(url), name);
  const connected = await connectPeer(url, peer);
  if (!connected.socket) throw new Error(`connect failed: ${JSON.stringify(connected.error)}`);
  const socket = connected.socket;
  sockets.push(socket);
  socket.on('command:run', (run: CommandRun) => {
    const claims = readCommandRun(run);
    void (async () => {
      await emitAck(socket, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: Date.now() });
      if (claims.command.kind !== 'screenshot') {
        await emitAck(socket, 'command:result', result(run, { stdout: stdout() }));
        return;
      }
      const sha256 = createHash('sha256').update(PNG).digest('hex');
      for (let offset = 0; offset < PNG.length; offset += SCREENSHOT_CHUNK_BYTES) {
        await emitAck(socket, 'screenshot:upload', { commandId: claims.commandId, total: PNG.length, sha256, offset, data: PNG.subarray(offset, offset + SCREENSHOT_CHUNK_BYTES) });
      }
      await emitAck(socket, 'command:result', result(run, { data: { kind: 'screenshot', format: 'png', width: 64, height: 32, bytes: PNG.length, sha256, display: ':0', method: 'x11' } }));
    })().catch(() => undefined); // a command still answering when the suite disconnects
  });
  const seq = new Map<string, number>();
  socket.on('terminal:open', ({ token }: { token: string }) => {
    const claims = TerminalOpenClaimsSchema.parse(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()));
    void emitAck(socket, 'terminal:opened', { sessionId: claims.sessionId, status: 'opened', shell: '/bin/sh -l', pid: 4242 });
  });
  socket.on('terminal:input', ({ sessionId, data }: { sessionId: string; data: Buffer }) => {
    const next = seq.get(sessionId) ?? 0;
    seq.set(sessionId, next + 1);
    void emitAck(socket, 'terminal:output', { sessionId, seq: next, data });
  });
  // It sends no heartbeats: a long interval keeps it online however slowly a loaded machine runs
  // this file (three missed intervals take an agent offline).
  if (!(await hello(socket, 600_000, name)).ok) throw new Error('hello failed');
  return { peer, socket };
}

describe('two hubs, one security state', () => {
  it('refuses on hub B a connect token hub A already accepted', async () => {
    const peer = await enrollPeer(hubA().url, await joinTokenOn(hubA().url), `replay-${runId}`);
    const token = await connectToken(peer);
    const first = await connectPeer(hubA().url, peer, token);
    expect(first.error).toBeUndefined();
    sockets.push(first.socket!);
    const replayed = await connectPeer(hubB().url, peer, token);
    expect(replayed.socket).toBeUndefined();
    expect(replayed.error?.data?.code).toBe('token_replayed');
    // A fresh token of the same agent is fine on B.
    const fresh = await connectPeer(hubB().url, peer);
    expect(fresh.error).toBeUndefined();
    sockets.push(fresh.socket!);
  });

  it('closes a disabled user\'s sockets on both hubs', async () => {
    const user = await userWithToken(hubA().url, `revoked-${runId}`);
    const onA = await uiSocket(hubA().url, user.token);
    const onB = await uiSocket(hubB().url, user.token);
    const closed = (socket: Socket) => new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
    const closing = Promise.all([closed(onA), closed(onB)]);
    expect((await api(hubA().url, 'PATCH', `/api/users/${user.id}`, { disabled: true })).status).toBe(200);
    expect(await closing).toEqual(['io server disconnect', 'io server disconnect']);
    // And the token is refused on both.
    for (const hub of fleet.hubs) expect((await asToken(hub.url, user.token, 'GET', '/api/agents')).status).toBe(401);
  });

  it('knows on hub B a role created on hub A at once', async () => {
    const role = `auditor-${runId}`;
    expect((await api(hubA().url, 'POST', '/api/roles', { name: role, permissions: ['nodes:read'] })).status).toBe(201);
    const user = await waitFor(async () => {
      const created = await api<{ role: string }>(hubB().url, 'POST', '/api/users', { username: `with-role-${runId}`, password: PASSWORD, role });
      return created.status === 201 ? created.body : undefined;
    }, 5_000, 'the role known on hub B');
    expect(user.role).toBe(role);
  });

  it('lets a socket on hub B use a step-up made on hub A, without reconnecting', async () => {
    const username = `stepper-${runId}`;
    const user = await userWithToken(hubA().url, username);
    const login = await fetch(`${hubA().url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
    const enrol = (await (await fetch(`${hubA().url}/api/me/totp`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).json()) as { secret: string };
    const confirmed = await fetch(`${hubA().url}/api/me/totp/confirm`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: JSON.stringify({ otp: totpAt(enrol.secret, Date.now()) }) });
    expect(confirmed.status).toBe(200);
    const { recoveryCodes } = (await confirmed.json()) as { recoveryCodes: string[] };
    const agent = await machine(hubB().url, `stepped-${runId}`);
    const onB = await uiSocket(hubB().url, user.token);
    const open = () => emitAck<TerminalOpenAck>(onB, 'terminal:open', { agentId: agent.peer.agentId, cols: 80, rows: 24 });
    const before = await open();
    expect(before.ok ? 'opened' : before.error.code).toBe('mfa_required');
    // The second factor is given to hub A (a recovery code: the TOTP step was just used).
    expect((await asToken(hubA().url, user.token, 'POST', '/api/auth/step-up', { otp: recoveryCodes[0] })).status).toBe(200);
    const after = await waitFor(async () => {
      const ack = await open();
      return ack.ok ? ack.data : undefined;
    }, 5_000, 'the step-up honoured on hub B');
    expect(after.agentId).toBe(agent.peer.agentId);
  });

  it('redacts on hub B a secret set on hub A', async () => {
    const value = `s3cr3t-${randomBytes(8).toString('hex')}`;
    await machine(hubB().url, `leaky-${runId}`, () => `the password is ${value}\n`);
    expect((await api(hubA().url, 'PUT', `/api/secrets/DB_PASSWORD_${runId.toUpperCase()}`, { value, scope: '*' })).status).toBe(201);
    // Hub B never read the secret itself: it learned its name from A and read it from the database.
    const stdout = await waitFor(async () => {
      const created = await api<Job>(hubB().url, 'POST', '/api/jobs', { command: { kind: 'shell', argv: ['print-password'] }, targets: { agents: [`leaky-${runId}`] } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const done = await waitFor(async () => {
        const job = (await api<Job>(hubB().url, 'GET', `/api/jobs/${created.body.id}`)).body;
        return job.targets[0]?.state === 'succeeded' ? job.targets[0] : undefined;
      }, 10_000, 'the job result');
      return done.stdout.includes('[secret]') ? done.stdout : undefined;
    }, 10_000, 'the secret redacted on hub B');
    expect(stdout).toBe('the password is [secret]\n');
    expect(stdout).not.toContain(value);
    expect(hubB().proc.output()).not.toContain(value);
  });

  it('serves from hub B a screenshot taken through hub A', async () => {
    const agent = await machine(hubA().url, `screen-${runId}`);
    const taken = await fetch(`${hubA().url}/api/agents/${agent.peer.agentId}/screenshot`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, accept: 'application/json' } });
    expect(taken.status).toBe(200);
    const info = (await taken.json()) as ScreenshotInfo;
    const fromB = await fetch(`${hubB().url}/api/screenshots/${info.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(fromB.status).toBe(200);
    expect(fromB.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await fromB.arrayBuffer()).equals(PNG)).toBe(true);
  });

  it('serves from hub B the recording of a terminal session held on hub A', async () => {
    const agent = await machine(hubA().url, `term-${runId}`);
    const ops = await uiSocket(hubA().url, ADMIN_TOKEN);
    const output: Buffer[] = [];
    ops.on('terminal:output', (payload: { data: Buffer }, ack: () => void) => {
      output.push(Buffer.from(payload.data));
      ack();
    });
    const open = await emitAck<TerminalOpenAck>(ops, 'terminal:open', { agentId: agent.peer.agentId, cols: 80, rows: 24 });
    if (!open.ok) throw new Error(`terminal:open refused: ${open.error.code} ${open.error.message}`);
    const sessionId = open.data.sessionId;
    await emitAck(ops, 'terminal:input', { sessionId, data: Buffer.from('echo recorded\r\n') });
    await waitFor(() => Buffer.concat(output).toString().includes('recorded') || undefined, 5_000, 'the echo');
    await emitAck(ops, 'terminal:close', { sessionId });
    const recording = await waitFor(async () => {
      const response = await fetch(`${hubB().url}/api/terminal/sessions/${sessionId}/recording`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return response.status === 200 ? response.text() : undefined;
    }, 10_000, 'the recording on hub B');
    const lines = recording.trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(lines[0]).toMatchObject({ version: 2, width: 80, height: 24 });
    expect((lines.slice(1) as Array<[number, string, string]>).map(([, , data]) => data).join('')).toBe('echo recorded\r\n');
  });

  it('counts requests on both hubs against one rate limit', async () => {
    const user = await userWithToken(hubA().url, `busy-${runId}`, 'viewer');
    const answers = await Promise.all(
      Array.from({ length: API_LIMIT + 100 }, (_, i) => asToken((i % 2 === 0 ? hubA() : hubB()).url, user.token, 'GET', '/api/agents').then((r) => r.status)),
    );
    // Per hub, each would have allowed 300 of its 200: only a shared bucket refuses any.
    expect(answers.filter((status) => status === 200)).toHaveLength(API_LIMIT);
    expect(answers.filter((status) => status === 429)).toHaveLength(100);
  });
});

describe('one hub identity for the fleet', () => {
  it('refuses to start a hub whose hub key is not the fleet\'s, with one clear line', async () => {
    const stranger = run([farolBin, 'hub', '--port', String(await freePort()), '--data', path.join(fleet.dir, 'hub-stranger')], {
      env: { ...fleet.env, FAROL_HUB_KEY_FILE: '', FAROL_HUB_ID: `stranger-${runId}`, FAROL_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    expect(await stranger.exited).toBe(1);
    const lines = stranger.output().trim().split('\n').filter((line) => line.startsWith('farol hub:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^farol hub: the hub key from .*hub-stranger\/hub-key\.json \(fingerprint [\w-]+\) is not the key of the hubs that share this database \(fingerprint [\w-]+\): agents would refuse this hub; every hub of a fleet needs the same keys/);
  });

  it('refuses to start a hub whose secret key is not the fleet\'s', async () => {
    const wrongKey = path.join(fleet.dir, 'wrong-secret.key');
    writeFileSync(wrongKey, randomBytes(32).toString('hex'), { mode: 0o600 });
    const stranger = run([farolBin, 'hub', '--port', String(await freePort()), '--data', path.join(fleet.dir, 'hub-stranger-2')], {
      env: { ...fleet.env, FAROL_SECRET_KEY_FILE: wrongKey, FAROL_HUB_ID: `stranger2-${runId}`, FAROL_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    expect(await stranger.exited).toBe(1);
    expect(stranger.output()).toMatch(/farol hub: the secret key from .*wrong-secret\.key \(fingerprint [\w-]+\) is not the key that sealed this database's secrets/);
  });
});
