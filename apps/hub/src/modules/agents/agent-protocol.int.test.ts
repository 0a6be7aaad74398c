import { createPublicKey } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BAD_MESSAGES, MAX_SAMPLE_FUTURE_SKEW_MS, type Agent, type CommandClaims, type CommandResult, type CommandRun, type Job } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun, sample, type AgentLinkKind, type PeerIdentity } from '../../testing/protocol-peer.js';

// The protocol as a public contract (issue #17): what the hub refuses, and the frozen messages
// of deployed agents replayed against a real hub.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');
let hub: HubFixture;

beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  await hub?.stop();
});

interface Linked {
  peer: PeerIdentity;
  socket: Socket;
  commands: CommandClaims[];
}

/** Both of the hub's agent servers answer the same protocol the same way (ADR 0036). */
const LINKS: AgentLinkKind[] = ['socket.io', 'lean'];

async function linked(name: string, link: AgentLinkKind): Promise<Linked> {
  const hostname = link === 'lean' ? `${name}-lean` : name;
  const peer = await enrollPeer(hub.url, await hub.createJoinToken(), hostname);
  const result = await connectPeer(hub.url, peer, undefined, link);
  if (!result.socket) throw new Error(`connect failed: ${JSON.stringify(result.error)}`);
  const socket = result.socket;
  const commands: CommandClaims[] = [];
  const key = createPublicKey({ key: { ...peer.enrollment.hubPublicKey }, format: 'jwk' });
  socket.on('command:run', (run: CommandRun) => commands.push(readCommandRun(run, key)));
  const ack = await hello(socket, 10_000, hostname);
  if (!ack.ok) throw new Error(`hello failed: ${JSON.stringify(ack)}`);
  return { peer, socket, commands };
}

/** Sends `argv` to the peer's machine and waits until it has the signed command. */
async function command(agent: Linked, argv: string[] = ['echo', 'hi']): Promise<{ claims: CommandClaims; jobId: string }> {
  const before = agent.commands.length;
  const created = await hub.api('POST', `/api/agents/${agent.peer.agentId}/command?wait=false`, { command: { kind: 'shell', argv }, timeoutMs: 30_000 });
  expect(created.status).toBe(202);
  await waitFor(() => agent.commands.length > before || undefined, 5_000, 'the command');
  const claims = agent.commands[before]!;
  return { claims, jobId: claims.jobId };
}

function result(claims: CommandClaims, fields: Partial<CommandResult> = {}): CommandResult {
  return { commandId: claims.commandId, state: 'succeeded', exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, startedAt: Date.now() - 5, endedAt: Date.now(), error: null, ...fields };
}

const getJob = async (id: string) => (await hub.api('GET', `/api/jobs/${id}`)).body as Job;
const getAgent = async (id: string) => (await hub.api('GET', `/api/agents/${id}`)).body as Agent;

describe('the published schema (#17)', () => {
  it('serves the protocol as JSON Schema at /api/protocol.json without a token, identical to docs/protocol.schema.json', async () => {
    const served = await hub.api('GET', '/api/protocol.json', undefined, null);
    expect(served.status).toBe(200);
    expect(served.body).toEqual(JSON.parse(readFileSync(path.join(root, 'docs/protocol.schema.json'), 'utf8')));
    expect(served.body).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', protocolVersion: 1 });
  });
});

interface JsonSchemaValidator {
  (data: unknown): boolean;
  errors?: unknown;
}
interface Ajv2020 {
  addSchema(schema: object, key: string): void;
  getSchema(ref: string): JsonSchemaValidator | undefined;
}

/** Ajv's draft 2020-12 validator, the one Fastify itself uses (through fast-json-stringify). */
function loadAjv2020(): new (options: object) => Ajv2020 {
  const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
  const fromSerializer = createRequire(fromFastify.resolve('fast-json-stringify'));
  return (fromSerializer('ajv/dist/2020') as { default: new (options: object) => Ajv2020 }).default;
}

describe('the published schema is JSON Schema 2020-12 a stranger can use (#17)', () => {
  it('compiles with a 2020-12 validator and accepts every frozen agent message, refusing an over-long output', () => {
    const Ajv = loadAjv2020();
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema(JSON.parse(readFileSync(path.join(root, 'docs/protocol.schema.json'), 'utf8')) as object, 'urn:farol:protocol');
    const dir = path.join(root, 'packages/protocol/fixtures/v1');
    let checked = 0;
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.json'))) {
      const frozen = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Fixture;
      const pointer =
        frozen.event === '(handshake)' ? '/namespaces/~1agent/handshakeAuth' : frozen.event === '(POST /api/enroll)' ? '/enrollment/POST%20~1api~1enroll/request' : `/namespaces/~1agent/clientToServer/${frozen.event}/payload`;
      const validate = ajv.getSchema(`urn:farol:protocol#${pointer}`);
      expect(validate, `${file}: no schema at ${pointer}`).toBeDefined();
      for (const payload of frozen.payloads) {
        expect(validate!(payload), `${file}: ${JSON.stringify(validate!.errors)}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
    const output = ajv.getSchema('urn:farol:protocol#/namespaces/~1agent/clientToServer/command:output/payload')!;
    expect(output({ commandId: 'cmd_0a1b2c3d4e5f6g7h', stream: 'stdout', data: 'x'.repeat(70_000), seq: 0 })).toBe(false);
    expect(output({ commandId: 'job_0a1b2c3d4e5f6g7h', stream: 'stdout', data: 'x', seq: 0 })).toBe(false);
  });
});

describe.each(LINKS)('a hub that refuses what it should, over %s (#17)', (link) => {
  it('refuses a sample stamped years ahead or in 1970, and a future stamp never becomes the latest', async () => {
    const agent = await linked('proto-clock', link);
    const now = Date.now();
    expect(await emitAck(agent.socket, 'metrics:report', { samples: [sample(now - 1_000, 11)] })).toMatchObject({ ok: true, data: { stored: 1 } });

    const future = await emitAck(agent.socket, 'metrics:report', { samples: [sample(now + 3 * 365 * 86_400_000, 99)] });
    expect(future).toMatchObject({ ok: false, error: { code: 'validation_failed', issues: [{ path: 'samples.0.ts' }] } });
    expect(JSON.stringify(future)).toContain('ahead of the hub');
    const ancient = await emitAck(agent.socket, 'metrics:report', { samples: [sample(86_400_000, 99)] });
    expect(ancient).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(JSON.stringify(ancient)).toContain('older than');
    // Just past the allowed skew is refused too; within it is accepted.
    expect(await emitAck(agent.socket, 'metrics:report', { samples: [sample(Date.now() + MAX_SAMPLE_FUTURE_SKEW_MS + 60_000, 98)] })).toMatchObject({ ok: false });

    const latest = (await getAgent(agent.peer.agentId)).latest;
    expect(latest).toMatchObject({ ts: now - 1_000, cpu: { total: 11 } });
    // A fresh sample still moves the card on.
    expect(await emitAck(agent.socket, 'metrics:report', { samples: [sample(Date.now() + 1_000, 22)] })).toMatchObject({ ok: true, data: { stored: 1 } });
    await waitFor(async () => ((await getAgent(agent.peer.agentId)).latest?.cpu.total === 22) || undefined, 5_000, 'the new latest');
    agent.socket.close();
  });

  it('takes a backfill in any order: newest-first stores every sample and the newest is the latest', async () => {
    const agent = await linked('proto-order', link);
    const now = Date.now();
    const newestFirst = [sample(now - 1_000, 30), sample(now - 11_000, 20), sample(now - 21_000, 10)];
    expect(await emitAck(agent.socket, 'metrics:report', { samples: newestFirst })).toMatchObject({ ok: true, data: { stored: 3, duplicates: 0 } });
    expect((await getAgent(agent.peer.agentId)).latest).toMatchObject({ ts: now - 1_000, cpu: { total: 30 } });
    // An older sample arriving later never replaces the latest.
    expect(await emitAck(agent.socket, 'metrics:report', { samples: [sample(now - 31_000, 5)] })).toMatchObject({ ok: true, data: { stored: 1 } });
    expect((await getAgent(agent.peer.agentId)).latest).toMatchObject({ ts: now - 1_000 });
    const history = await hub.api('GET', `/api/agents/${agent.peer.agentId}/metrics?from=${now - 60_000}&to=${now}&resolution=raw`);
    expect((history.body as { points: unknown[] }).points).toHaveLength(4);
    agent.socket.close();
  });

  it('refuses a second agent:hello on the same connection', async () => {
    const agent = await linked('proto-hello', link);
    const again = await hello(agent.socket, 10_000, 'proto-hello');
    expect(again).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(JSON.stringify(again)).toContain('reconnect');
    // The connection still works.
    expect(await emitAck(agent.socket, 'metrics:report', { samples: [sample(Date.now(), 1)] })).toMatchObject({ ok: true });
    agent.socket.close();
  });

  it('counts an event emitted without an ack callback as a bad message: the 11th within a minute disconnects', async () => {
    const agent = await linked('proto-noack', link);
    const closed = new Promise<string>((resolve) => agent.socket.once('disconnect', resolve));
    for (let i = 0; i < MAX_BAD_MESSAGES; i++) agent.socket.emit('metrics:report', { samples: [sample(Date.now() - i, 1)] });
    // Still connected after ten: an acknowledged request is answered.
    expect(await emitAck(agent.socket, 'metrics:report', { samples: [sample(Date.now() - 100, 1)] })).toMatchObject({ ok: true });
    agent.socket.emit('metrics:report', { samples: [sample(Date.now(), 1)] });
    expect(await closed).toBe('io server disconnect');
  });

  it('counts output limits in bytes: a 120,000-byte UTF-8 stdout (60,000 characters) is refused', async () => {
    const agent = await linked('proto-bytes', link);
    const { claims } = await command(agent);
    const wide = 'é'.repeat(60_000);
    const refused = await emitAck(agent.socket, 'command:result', result(claims, { stdout: wide }));
    expect(refused).toMatchObject({ ok: false, error: { code: 'validation_failed', issues: [{ path: 'stdout' }] } });
    expect(await emitAck(agent.socket, 'command:output', { commandId: claims.commandId, stream: 'stdout', data: wide, seq: 0 })).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(await emitAck(agent.socket, 'command:result', result(claims, { stdout: 'é'.repeat(32_768) }))).toMatchObject({ ok: true, data: { stored: true } });
    agent.socket.close();
  });

  it('refuses a result that says succeeded with exit code 7', async () => {
    const agent = await linked('proto-consistent', link);
    const { claims, jobId } = await command(agent);
    const refused = await emitAck(agent.socket, 'command:result', result(claims, { state: 'succeeded', exitCode: 7 }));
    expect(refused).toMatchObject({ ok: false, error: { code: 'validation_failed', issues: [{ path: 'exitCode' }] } });
    expect(await emitAck(agent.socket, 'command:result', result(claims, { state: 'failed', exitCode: 7, error: 'exited with code 7' }))).toMatchObject({ ok: true });
    await waitFor(async () => ((await getJob(jobId)).targets[0]!.state === 'failed') || undefined, 5_000, 'the failed target');
    agent.socket.close();
  });

  it('keeps a command the agent refused refused: a later succeeded result is refused', async () => {
    const agent = await linked('proto-refused', link);
    const { claims, jobId } = await command(agent);
    expect(await emitAck(agent.socket, 'command:ack', { commandId: claims.commandId, status: 'refused', reason: 'not here', at: Date.now() })).toMatchObject({ ok: true });
    await waitFor(async () => ((await getJob(jobId)).targets[0]!.state === 'refused') || undefined, 5_000, 'the refused target');
    const overturn = await emitAck(agent.socket, 'command:result', result(claims, { stdout: 'ran anyway\n' }));
    expect(overturn).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const target = (await getJob(jobId)).targets[0]!;
    expect(target).toMatchObject({ state: 'refused', stdout: '' });
    // The agent's own detail of its refusal is still taken.
    expect(await emitAck(agent.socket, 'command:result', result(claims, { state: 'refused', exitCode: null, startedAt: null, error: 'not here' }))).toMatchObject({ ok: true });
    const audit = await hub.api('GET', `/api/audit?action=command.result_refused&agent=${agent.peer.agentId}`);
    expect(JSON.stringify(audit.body)).toContain('the agent had refused this command');
    agent.socket.close();
  });

  it('drops an output chunk whose seq is not above the last one taken (late or repeated)', async () => {
    const agent = await linked('proto-seq', link);
    const { claims, jobId } = await command(agent);
    const chunk = (data: string, seq: number) => emitAck(agent.socket, 'command:output', { commandId: claims.commandId, stream: 'stdout', data, seq });
    expect(await chunk('a', 0)).toMatchObject({ ok: true });
    expect(await chunk('c', 2)).toMatchObject({ ok: true });
    expect(await chunk('b', 1)).toMatchObject({ ok: true });
    expect(await chunk('c', 2)).toMatchObject({ ok: true });
    expect((await getJob(jobId)).targets[0]!.stdout).toBe('ac');
    agent.socket.close();
  });
});

// ---- frozen messages of deployed agents ----------------------------------------------------------

interface Fixture {
  event: string;
  payloads: unknown[];
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(path.join(root, 'packages/protocol/fixtures/v1', `${name}.json`), 'utf8')) as Fixture;
}

/** `{ "$binary": base64 }` back to bytes; every `commandId` to the one the hub sent; `ts` rebased to now. */
function revive(value: unknown, context: { commandId: string; tsShift: number }): unknown {
  if (Array.isArray(value)) return value.map((inner) => revive(inner, context));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$binary === 'string') return Buffer.from(record.$binary, 'base64');
    return Object.fromEntries(
      Object.entries(record).map(([key, inner]) => {
        if (key === 'commandId') return [key, context.commandId];
        if (key === 'ts' && typeof inner === 'number') return [key, inner + context.tsShift];
        return [key, revive(inner, context)];
      }),
    );
  }
  return value;
}

describe.each(LINKS)('frozen protocol-1 agent messages against a real hub, over %s (#17)', (link) => {
  it('the hub accepts every message of packages/protocol/fixtures/v1', async () => {
    const files = readdirSync(path.join(root, 'packages/protocol/fixtures/v1')).filter((name) => name.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(14);
    const enroll = fixture('enroll-request');
    // Enrollment with the frozen SystemInfo: the peer's key, a real join token.
    const peer = await enrollPeer(hub.url, await hub.createJoinToken(), `fixture-host-${link === 'lean' ? 'lean' : 'sio'}`);
    const base = enroll.payloads[0] as { system: unknown };
    const response = await fetch(`${hub.url}/api/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...base, token: await hub.createJoinToken(), publicKey: { kty: 'OKP', crv: 'Ed25519', x: Buffer.alloc(32, link === 'lean' ? 8 : 7).toString('base64url') } }),
    });
    expect(response.status).toBe(201);

    const connected = await connectPeer(hub.url, peer, undefined, link);
    if (!connected.socket) throw new Error(`connect failed: ${JSON.stringify(connected.error)}`);
    const socket = connected.socket;
    const commands: CommandClaims[] = [];
    socket.on('command:run', (run: CommandRun) => commands.push(readCommandRun(run)));
    const frozenTs = 1_796_000_000_000;
    const context = { commandId: 'cmd_0000000000000000', tsShift: Date.now() - frozenTs - 60_000 };
    const send = (event: string, payload: unknown) => emitAck(socket, event, revive(payload, context));

    expect(await send('agent:hello', fixture('agent-hello').payloads[0])).toMatchObject({ ok: true, data: { agentId: peer.agentId } });
    for (const payload of fixture('metrics-report').payloads) expect(await send('metrics:report', payload)).toMatchObject({ ok: true });
    expect(await send('agent:info', fixture('agent-info').payloads[0])).toMatchObject({ ok: true });
    expect(await send('metrics:live', fixture('metrics-live').payloads[0])).toMatchObject({ ok: true });

    // One command per frozen result, so each one is the first result of its command.
    const results = fixture('command-result').payloads;
    for (const [index, payload] of results.entries()) {
      const created = await hub.api('POST', `/api/agents/${peer.agentId}/command?wait=false`, { command: { kind: 'shell', argv: ['true'] } });
      expect(created.status).toBe(202);
      await waitFor(() => commands.length > index || undefined, 5_000, 'the command');
      context.commandId = commands[index]!.commandId;
      if (index === 0) {
        for (const ack of fixture('command-ack').payloads.slice(0, 2)) expect(await send('command:ack', ack)).toMatchObject({ ok: true });
        for (const chunk of fixture('command-output').payloads) expect(await send('command:output', chunk)).toMatchObject({ ok: true });
      }
      expect(await send('command:result', payload), `command-result #${index}`).toMatchObject({ ok: true, data: { stored: true } });
    }
    // Events that need a session or a screenshot job first: the payload must pass the schema
    // (the hub then answers for the missing session, never validation_failed or unknown_event).
    for (const name of ['screenshot-upload', 'secrets-fetch', 'terminal-opened', 'terminal-output', 'terminal-exit']) {
      const frozen = fixture(name);
      for (const payload of frozen.payloads) {
        const ack = await send(frozen.event, payload);
        if (!ack.ok) expect(['validation_failed', 'unknown_event', 'bad_request'], `${name}: ${JSON.stringify(ack)}`).not.toContain(ack.error.code);
      }
    }
    const agent = await getAgent(peer.agentId);
    expect(agent.system).toMatchObject({ hostname: 'db-1.example.lan', arch: 'x64' });
    expect(agent.latest?.containers?.[0]).toMatchObject({ name: 'pgbouncer' });
    socket.close();
  });
});
