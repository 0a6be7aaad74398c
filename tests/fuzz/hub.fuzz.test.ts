import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, MAX_MESSAGE_BYTES, UI_NAMESPACE, agentToHubEvents, uiToHubEvents } from '@farol/protocol';
import { startHub, type RunningHub } from '../../apps/hub/src/main.js';
import { connectPeer, enrollPeer, hello, type PeerIdentity } from '../../apps/hub/src/testing/protocol-peer.js';
import { NAUGHTY_STRINGS, hostileJsonText, hostileValue, nested, objectWithKeys } from './hostile-input.js';

// Property-based fuzzing of every REST body (every operation of the hub's own OpenAPI document)
// and every socket payload (the /agent and /ui event tables) with hostile input. The hub must
// answer each with a 4xx problem carrying a code from the closed list, or an error ack, never
// a 5xx or an `internal` ack, and must still be healthy afterwards. Runs are bounded (numRuns
// per operation and an overall time budget) so the whole file fits in `npm test`.

const RUNS_PER_OPERATION = 12;
const RUNS_PER_EVENT = 12;
const TIME_BUDGET_MS = 12_000;
const SOCKET_TIME_BUDGET_MS = 5_000;
const KNOWN_CODES = new Set<string>(ERROR_CODES);

const dir = mkdtempSync(path.join(tmpdir(), 'farol-fuzz-'));
let hub: RunningHub;
let peer: PeerIdentity;

interface Operation {
  method: string;
  path: string;
  bodyKeys: string[] | null;
  queryNames: string[];
}

type JsonSchema = { $ref?: string; properties?: Record<string, unknown>; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; allOf?: JsonSchema[] };

function keysOf(schema: JsonSchema | undefined, components: Record<string, JsonSchema>, seen = 0): string[] {
  if (!schema || seen > 4) return [];
  if (schema.$ref) return keysOf(components[schema.$ref.split('/').at(-1)!], components, seen + 1);
  const own = Object.keys(schema.properties ?? {});
  const nestedKeys = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])].flatMap((s) => keysOf(s, components, seen + 1));
  return [...new Set([...own, ...nestedKeys])];
}

async function operations(): Promise<Operation[]> {
  const openapi = await send('GET', `${hub.url}/api/openapi.json`, undefined);
  if (openapi.status !== 200) throw new Error(`GET /api/openapi.json: ${openapi.status} ${openapi.text.slice(0, 200)}`);
  const doc = JSON.parse(openapi.text) as {
    paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> }; parameters?: Array<{ in: string; name: string }> }>>;
    components?: { schemas?: Record<string, JsonSchema> };
  };
  const components = doc.components?.schemas ?? {};
  const found: Operation[] = [];
  for (const [route, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const schema = op.requestBody?.content?.['application/json']?.schema;
      found.push({
        method: method.toUpperCase(),
        path: route,
        bodyKeys: op.requestBody ? keysOf(schema, components) : null,
        queryNames: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      });
    }
  }
  return found;
}

async function send(method: string, url: string, body: string | undefined): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${hub.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body,
  });
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** A path segment: lone surrogates cannot be sent in a URL at all, so they become U+FFFD (as URLs do). */
function pathSegment(param: string): string {
  const wellFormed = param.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  return encodeURIComponent(wellFormed === '' ? ' ' : wellFormed);
}

/** The property every REST answer must satisfy. */
function checkAnswer(what: string, answer: { status: number; type: string; text: string }): void {
  expect(answer.status, `${what} → ${answer.status} ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  if (answer.status >= 400) {
    expect(answer.type, what).toContain('application/problem+json');
    const problem = JSON.parse(answer.text) as { code: string; status: number };
    expect(KNOWN_CODES.has(problem.code), `${what}: code ${problem.code}`).toBe(true);
    expect(problem.status).toBe(answer.status);
  }
}

beforeAll(async () => {
  hub = await startHub({ port: 0, bind: '127.0.0.1', dataDir: path.join(dir, 'hub'), logLevel: 'silent' }, {
    FAROL_ROLLUP_INTERVAL: '1h',
    // Rate limits would answer most of the fuzz with 429 before validation is reached.
    FAROL_API_RATE_LIMIT: '0',
    FAROL_LOGIN_RATE_LIMIT: '100000',
  });
  const token = (await (await send('POST', `${hub.url}/api/join-tokens`, JSON.stringify({ uses: 10 }))).text) as string;
  peer = await enrollPeer(hub.url, (JSON.parse(token) as { token: string }).token, 'fuzz-agent');
});

afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('REST fuzzing', () => {
  it('answers every hostile body, path and query of every operation with a 4xx problem, never a 5xx', async () => {
    const ops = await operations();
    // The document covers the API: at least the core operations are in it.
    expect(ops.length).toBeGreaterThan(15);
    expect(ops.some((op) => op.method === 'PUT' && op.path === '/api/secrets/{name}')).toBe(true);
    const deadline = Date.now() + TIME_BUDGET_MS;
    let requests = 0;
    const tried: string[] = [];
    const statuses = new Map<number, number>();
    for (const op of ops) {
      // Existing names for reads and writes (so validation of the body is reached), never for
      // DELETE, which would remove the machine the socket tests use.
      const paramValue = op.method === 'DELETE' ? fc.constantFrom(...NAUGHTY_STRINGS) : fc.oneof(fc.constant('fuzz-agent'), fc.constantFrom(...NAUGHTY_STRINGS), fc.string({ maxLength: 20 }));
      const body =
        op.bodyKeys === null
          ? fc.constant(undefined)
          : fc.oneof(
              objectWithKeys(op.bodyKeys).map((value) => JSON.stringify(value)),
              hostileValue.map((value) => JSON.stringify(value) ?? 'null'),
              hostileJsonText,
              fc.constantFrom(JSON.stringify(nested(3_000, 'array')), JSON.stringify(nested(3_000, 'object')), JSON.stringify({ x: 'y'.repeat(1_200_000) })),
            );
      const query = fc.dictionary(op.queryNames.length > 0 ? fc.constantFrom(...op.queryNames, '__proto__') : fc.constantFrom('__proto__', 'x'), fc.oneof(fc.constantFrom(...NAUGHTY_STRINGS), fc.string({ maxLength: 20 })), { maxKeys: 3 });
      await fc.assert(
        fc.asyncProperty(paramValue, body, query, async (param, payload, params) => {
          const route = op.path.replace(/\{[^}]+\}/g, pathSegment(param));
          const search = new URLSearchParams(params as Record<string, string>).toString();
          const url = `${hub.url}${route}${search ? `?${search}` : ''}`;
          requests++;
          tried.push(`${op.method} ${op.path}`);
          let answer;
          try {
            answer = await send(op.method, url, payload);
          } catch (error) {
            // A body over the limit may be cut off mid-upload once the hub has answered 413 and
            // closed the connection; that is a refusal, not a failure. Anything else is.
            if (payload !== undefined && Buffer.byteLength(payload) > MAX_MESSAGE_BYTES) {
              expect((await send('GET', `${hub.url}/health`, undefined)).status).toBe(200);
              return;
            }
            throw error;
          }
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          checkAnswer(`${op.method} ${route}?${search} ${String(payload).slice(0, 200)}`, answer);
        }),
        { numRuns: Date.now() > deadline ? 2 : RUNS_PER_OPERATION },
      );
    }
    // Every operation got hostile input (past the budget, each still gets two runs).
    expect(requests).toBeGreaterThan(ops.length);
    expect([...new Set(tried)].length).toBe(ops.length);
    // Validation was reached, not only refused at the door (401/429).
    expect(statuses.get(400) ?? 0).toBeGreaterThan(requests / 4);
    if (process.env.FAROL_FUZZ_REPORT) console.log(ops.length, 'operations', requests, 'requests', Object.fromEntries(statuses));
    expect((await send('GET', `${hub.url}/health`, undefined)).status).toBe(200);
  });
});

/** An ack or null when the socket dropped (the hub may disconnect a socket that keeps sending garbage). */
async function emitOrDrop(socket: Socket, event: string, payload: unknown): Promise<unknown> {
  if (!socket.connected) return null;
  try {
    return await socket.timeout(5_000).emitWithAck(event, payload);
  } catch (error) {
    // A timeout is acceptable only because the socket was dropped meanwhile.
    if (!socket.connected) return null;
    throw error;
  }
}

function checkAck(what: string, ack: unknown): void {
  if (ack === null) return;
  const answer = ack as { ok: boolean; error?: { code: string } };
  expect(typeof answer.ok, what).toBe('boolean');
  if (!answer.ok) {
    expect(KNOWN_CODES.has(answer.error!.code), `${what}: ${answer.error!.code}`).toBe(true);
    expect(answer.error!.code, what).not.toBe('internal');
  }
}

describe('socket fuzzing', () => {
  it('answers every hostile /agent payload with an error ack, never an internal error', async () => {
    let socket: Socket | null = null;
    let reconnects = 0;
    const linked = async (): Promise<Socket> => {
      if (socket?.connected) return socket;
      socket?.close();
      const result = await connectPeer(hub.url, peer);
      if (!result.socket) throw new Error(`cannot connect: ${JSON.stringify(result.error)}`);
      reconnects++;
      socket = result.socket;
      const ack = await hello(socket, 10_000, 'fuzz-agent');
      expect(ack.ok).toBe(true);
      return socket;
    };
    const events = [...Object.keys(agentToHubEvents), 'not:an:event', '__proto__', 'constructor'];
    const deadline = Date.now() + SOCKET_TIME_BUDGET_MS;
    for (const event of events) {
      await fc.assert(
        fc.asyncProperty(fc.oneof(hostileValue, objectWithKeys(['samples', 'commandId', 'names', 'system', 'sample', 'challenge', 'stream', 'data', 'seq', 'status'])), async (payload) => {
          const target = await linked();
          checkAck(`${event} ${JSON.stringify(payload)?.slice(0, 200)}`, await emitOrDrop(target, event, payload));
        }),
        { numRuns: Date.now() > deadline ? 2 : RUNS_PER_EVENT },
      );
    }
    // Deeply nested payloads go through the same gate.
    const target = await linked();
    checkAck('deep array', await emitOrDrop(target, 'metrics:report', nested(2_000, 'array')));
    checkAck('deep object', await emitOrDrop(target, 'secrets:fetch', nested(2_000, 'object')));
    (socket as Socket | null)?.close();
    expect(reconnects).toBeGreaterThan(0);
    expect((await send('GET', `${hub.url}/health`, undefined)).status).toBe(200);
  });

  it('answers every hostile /ui payload with an error ack, never an internal error', async () => {
    let socket: Socket | null = null;
    const connected = async (): Promise<Socket> => {
      if (socket?.connected) return socket;
      socket?.close();
      const next = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: hub.adminToken } });
      await new Promise<void>((resolve, reject) => {
        next.once('connect', () => resolve());
        next.once('connect_error', reject);
      });
      socket = next;
      return next;
    };
    const events = [...Object.keys(uiToHubEvents), 'not:an:event', '__proto__'];
    const deadline = Date.now() + SOCKET_TIME_BUDGET_MS;
    for (const event of events) {
      await fc.assert(
        fc.asyncProperty(fc.oneof(hostileValue, objectWithKeys(['agentId', 'jobId', 'cols', 'rows', 'data', 'sessionId'])), async (payload) => {
          const target = await connected();
          checkAck(`${event} ${JSON.stringify(payload)?.slice(0, 200)}`, await emitOrDrop(target, event, payload));
        }),
        { numRuns: Date.now() > deadline ? 2 : RUNS_PER_EVENT },
      );
    }
    (socket as Socket | null)?.close();
    expect((await send('GET', `${hub.url}/health`, undefined)).status).toBe(200);
  });

  it('drops a socket whose message is larger than the limit, and keeps serving', async () => {
    const result = await connectPeer(hub.url, peer);
    const socket = result.socket!;
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    socket.emit('metrics:report', { samples: ['z'.repeat(2_000_000)] }, () => undefined);
    expect(await closed).toMatch(/transport/);
    expect((await send('GET', `${hub.url}/health`, undefined)).status).toBe(200);
  });
});
