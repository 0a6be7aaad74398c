import { KeyObject, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { Server } from 'socket.io';
import {
  AGENT_NAMESPACE,
  AGENT_TOKEN_AUDIENCE,
  AgentHandshakeAuthSchema,
  AgentHelloSchema,
  CommandAckSchema,
  CommandOutputSchema,
  CommandResultSchema,
  ScreenshotUploadSchema,
  COMMAND_JWS_TYPE,
  EnrollRequestSchema,
  HUB_PROOF_ISSUER,
  MetricsLiveSchema,
  MetricsReportSchema,
  PROTOCOL_VERSION,
  SystemInfoSchema,
  errorAck,
  problemFor,
  type CommandAck,
  type CommandClaims,
  type CommandOutput,
  type CommandResult,
  type ConnectErrorData,
  type Ed25519PublicJwk,
  type ErrorAck,
  type HeartbeatSample,
  type Labels,
  type SystemInfo,
} from '@farol/protocol';
import { commandClaims, signCompactJws } from './signed-token.js';

/**
 * A minimal hub for agent tests: real HTTP enrollment and a real Socket.IO `/agent` namespace
 * that verifies connect JWTs and signs hello proofs. It stands in for apps/hub, which the agent
 * must not import; it is not the hub's logic, only its wire behaviour.
 */

export interface TestHubAgent {
  agentId: string;
  name: string;
  labels: Labels;
  publicKey: Ed25519PublicJwk;
  samples: HeartbeatSample[];
  /** Samples received with metrics:live (relayed by a real hub, never stored). */
  liveSamples: HeartbeatSample[];
}

/** What outlives a hub restart (the hub's database). */
export interface TestHubState {
  joinToken: string;
  hubKey: { privateKey: CryptoKey; publicJwk: Ed25519PublicJwk };
  agents: Map<string, TestHubAgent>;
  /** Every handshake seen: the JWT's jti and subject. */
  /** `link`: what the agent asked for in the handshake query (`lean`: the hub's lean agent server). */
  handshakes: Array<{ agentId: string; jti: string; iat: number; exp: number; link: string | undefined }>;
  hellos: number;
  /** SystemInfo received with agent:info. */
  infos: SystemInfo[];
  /** Decides the ack of each metrics report; default: store and ack ok. */
  onReport?: (agent: TestHubAgent, samples: HeartbeatSample[]) => ErrorAck | null;
  /** Refuses a handshake with this error, or null to accept. */
  refuse?: (agentId: string) => ConnectErrorData | null;
  /** Signs hello proofs with this key instead of the hub key (an impostor hub). */
  proofKey?: CryptoKey;
  /** Overrides what the hello ack says the agent's name and labels are. */
  renameTo?: { name: string; labels: Labels };
  /** Live mode interval asked for after every hello (as the real hub does while watched). */
  liveIntervalMs?: number | null;
  /** Remote commands: what the agent answered. */
  acks: CommandAck[];
  outputs: CommandOutput[];
  results: CommandResult[];
  /** Signed commands to send right after each hello ack, before the agent has checked the proof. */
  commandsAfterHello?: (agentId: string) => string[];
  /** Decides the ack of each command:result; default ok. */
  onResult?: (result: CommandResult) => ErrorAck | null;
  /** Screenshot uploads: the bytes held per command id (appended at the offset held, like the hub). */
  uploads: Map<string, Buffer>;
}

/** A running test hub. */
export interface TestHub {
  url: string;
  port: number;
  state: TestHubState;
  /** Sends `telemetry:live` to every connected agent now. */
  requestLive(intervalMs: number | null): void;
  /** Sends `command:run` with this signed token to every connected agent. */
  sendCommand(token: string): void;
  cancelCommand(commandId: string): void;
  /** Sends `hub:draining` to every connected agent, as a hub stopping on SIGTERM does. */
  drain(retryAfterMs: number): void;
  close(): Promise<void>;
}

/** Fresh hub state with its own Ed25519 key. */
export async function createTestHubState(joinToken = 'join-secret'): Promise<TestHubState> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    joinToken,
    hubKey: { privateKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x! } },
    agents: new Map(),
    handshakes: [],
    hellos: 0,
    infos: [],
    acks: [],
    outputs: [],
    results: [],
    uploads: new Map(),
  };
}

/** Signs command claims as a hub would (compact JWS, EdDSA); `key` defaults to the hub key. */
export function signTestCommand(state: TestHubState, claims: Partial<CommandClaims> & Pick<CommandClaims, 'sub' | 'command'>, key: CryptoKey = state.hubKey.privateKey): string {
  return signCompactJws(COMMAND_JWS_TYPE, commandClaims(claims), KeyObject.from(key));
}

/** A fresh Ed25519 key that is not the hub's. */
export async function createImpostorKey(): Promise<CryptoKey> {
  return (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function newAgentId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `ag_${Array.from(randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('')}`;
}

async function handleEnroll(state: TestHubState, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const parsed = EnrollRequestSchema.safeParse(await readBody(request));
  if (!parsed.success) return sendJson(response, 400, problemFor('validation_failed', 'bad enrollment request'));
  if (parsed.data.token !== state.joinToken) {
    return sendJson(response, 401, problemFor('token_invalid', 'join token is not valid'));
  }
  const agent: TestHubAgent = {
    agentId: newAgentId(),
    name: parsed.data.name ?? parsed.data.system.hostname,
    labels: { env: 'test' },
    publicKey: parsed.data.publicKey,
    samples: [],
    liveSamples: [],
  };
  state.agents.set(agent.agentId, agent);
  sendJson(response, 200, {
    agentId: agent.agentId,
    name: agent.name,
    labels: agent.labels,
    hubPublicKey: state.hubKey.publicJwk,
    hubKeyFingerprint: 'test-fingerprint',
  });
}

function connectError(data: ConnectErrorData): Error & { data: ConnectErrorData } {
  return Object.assign(new Error(data.message), { data });
}

/** Starts a test hub on 127.0.0.1 (`port` 0 picks a free one; pass the old port to restart). */
export async function startTestHub(state: TestHubState, port = 0): Promise<TestHub> {
  const http: HttpServer = createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/api/enroll') {
      handleEnroll(state, request, response).catch((error: unknown) => {
        sendJson(response, 500, problemFor('internal', String(error)));
      });
      return;
    }
    sendJson(response, 404, problemFor('not_found'));
  });
  const io = new Server(http, { transports: ['websocket'] });
  const namespace = io.of(AGENT_NAMESPACE);

  namespace.use((socket, next) => {
    void (async () => {
      const auth = AgentHandshakeAuthSchema.safeParse(socket.handshake.auth);
      if (!auth.success) return next(connectError({ code: 'unauthorized', message: 'bad handshake' }));
      if (auth.data.protocolVersion !== PROTOCOL_VERSION) {
        return next(connectError({ code: 'protocol_version_unsupported', message: 'unsupported', supportedProtocolVersions: { min: 1, max: 1 } }));
      }
      const claims = decodeJwt(auth.data.token);
      const agent = state.agents.get(String(claims.sub));
      if (!agent) return next(connectError({ code: 'agent_unknown', message: 'unknown agent' }));
      try {
        const { payload } = await jwtVerify(auth.data.token, await importJWK(agent.publicKey, 'EdDSA'), {
          audience: AGENT_TOKEN_AUDIENCE,
          algorithms: ['EdDSA'],
        });
        const link = socket.handshake.query.link;
        state.handshakes.push({ agentId: agent.agentId, jti: String(payload.jti), iat: payload.iat!, exp: payload.exp!, link: typeof link === 'string' ? link : undefined });
      } catch (error) {
        return next(connectError({ code: 'token_invalid', message: `token rejected: ${(error as Error).message}` }));
      }
      const refusal = state.refuse?.(agent.agentId) ?? null;
      if (refusal) return next(connectError(refusal));
      socket.data.agentId = agent.agentId;
      next();
    })();
  });

  namespace.on('connection', (socket) => {
    const agent = state.agents.get(socket.data.agentId as string)!;
    let greeted = false;
    socket.on('agent:hello', (payload: unknown, ack: (response: unknown) => void) => {
      void (async () => {
        const hello = AgentHelloSchema.safeParse(payload);
        if (!hello.success) return ack(errorAck('validation_failed', 'bad hello'));
        state.hellos++;
        if (state.renameTo) Object.assign(agent, state.renameTo);
        const proof = await new SignJWT({ nonce: hello.data.challenge })
          .setProtectedHeader({ alg: 'EdDSA' })
          .setIssuer(HUB_PROOF_ISSUER)
          .setSubject(agent.agentId)
          .setIssuedAt()
          .setExpirationTime('60s')
          .sign(state.proofKey ?? state.hubKey.privateKey);
        greeted = true;
        ack({ ok: true, data: { agentId: agent.agentId, name: agent.name, labels: agent.labels, proof, serverTime: Date.now() } });
        const live = state.liveIntervalMs;
        // Right after the ack, as the real hub does: the agent may not have checked the proof yet.
        if (live !== undefined) setImmediate(() => socket.emit('telemetry:live', { intervalMs: live }));
        for (const token of state.commandsAfterHello?.(agent.agentId) ?? []) socket.emit('command:run', { token });
      })();
    });
    socket.on('metrics:report', (payload: unknown, ack: (response: unknown) => void) => {
      if (!greeted) return ack(errorAck('forbidden', 'hello first'));
      const report = MetricsReportSchema.safeParse(payload);
      if (!report.success) return ack(errorAck('validation_failed', 'bad report'));
      const refusal = state.onReport?.(agent, report.data.samples) ?? null;
      if (refusal) return ack(refusal);
      const known = new Set(agent.samples.map((s) => s.ts));
      const fresh = report.data.samples.filter((s) => !known.has(s.ts));
      agent.samples.push(...fresh);
      ack({ ok: true, data: { stored: fresh.length, duplicates: report.data.samples.length - fresh.length } });
    });
    socket.on('metrics:live', (payload: unknown, ack: (response: unknown) => void) => {
      if (!greeted) return ack(errorAck('bad_request', 'hello first'));
      const live = MetricsLiveSchema.safeParse(payload);
      if (!live.success) return ack(errorAck('validation_failed', 'bad live sample'));
      agent.liveSamples.push(live.data.sample);
      ack({ ok: true, data: {} });
    });
    socket.on('command:ack', (payload: unknown, ack: (response: unknown) => void) => {
      const parsed = CommandAckSchema.safeParse(payload);
      if (!parsed.success) return ack(errorAck('validation_failed', 'bad command ack'));
      state.acks.push(parsed.data);
      ack({ ok: true, data: {} });
    });
    socket.on('command:output', (payload: unknown, ack: (response: unknown) => void) => {
      const parsed = CommandOutputSchema.safeParse(payload);
      if (!parsed.success) return ack(errorAck('validation_failed', 'bad output'));
      state.outputs.push(parsed.data);
      ack({ ok: true, data: {} });
    });
    socket.on('command:result', (payload: unknown, ack: (response: unknown) => void) => {
      const parsed = CommandResultSchema.safeParse(payload);
      if (!parsed.success) return ack(errorAck('validation_failed', 'bad result'));
      const refusal = state.onResult?.(parsed.data) ?? null;
      if (refusal) return ack(refusal);
      const known = state.results.some((r) => r.commandId === parsed.data.commandId);
      if (!known) state.results.push(parsed.data);
      ack({ ok: true, data: { stored: !known } });
    });
    socket.on('screenshot:upload', (payload: unknown, ack: (response: unknown) => void) => {
      const parsed = ScreenshotUploadSchema.safeParse(payload);
      if (!parsed.success) return ack(errorAck('validation_failed', 'bad upload'));
      const { commandId, offset, data } = parsed.data;
      const held = state.uploads.get(commandId) ?? Buffer.alloc(0);
      if (offset === held.length) state.uploads.set(commandId, Buffer.concat([held, data]));
      ack({ ok: true, data: { received: state.uploads.get(commandId)?.length ?? 0 } });
    });
    socket.on('agent:info', (payload: unknown, ack: (response: unknown) => void) => {
      const info = SystemInfoSchema.safeParse(payload);
      if (!info.success) return ack(errorAck('validation_failed', 'bad system info'));
      state.infos.push(info.data);
      ack({ ok: true, data: {} });
    });
  });

  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const actualPort = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    state,
    requestLive: (intervalMs) => namespace.emit('telemetry:live', { intervalMs }),
    sendCommand: (token) => namespace.emit('command:run', { token }),
    cancelCommand: (commandId) => namespace.emit('command:cancel', { commandId }),
    drain: (retryAfterMs) => namespace.emit('hub:draining', { retryAfterMs }),
    close: () =>
      new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
