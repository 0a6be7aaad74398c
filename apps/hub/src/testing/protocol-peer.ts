import { createHash, randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { io, type Socket } from 'socket.io-client';
import {
  AGENT_NAMESPACE,
  AGENT_TOKEN_AUDIENCE,
  CommandBatchClaimsSchema,
  commandClaimsFromBatch,
  CommandClaimsSchema,
  PROTOCOL_VERSION,
  type Ack,
  type CommandClaims,
  type CommandRun,
  type AgentHelloAck,
  type EnrollResponse,
  type HeartbeatSample,
  type SystemInfo,
} from '@farol/protocol';

/**
 * A hand-driven agent for hub tests: enrolls and connects like a real agent, but every step
 * (token claims, payloads, events) can be bent to test how the hub refuses bad input.
 */
export interface PeerIdentity {
  agentId: string;
  name: string;
  privateKey: CryptoKey;
  publicX: string;
  enrollment: EnrollResponse;
}

export function systemInfo(hostname = 'test-host'): SystemInfo {
  return {
    hostname,
    os: 'linux',
    distro: 'Debian',
    release: '12',
    kernel: '6.1.0',
    arch: 'x64',
    cpuModel: 'Test CPU',
    cpuCores: 2,
    memoryTotal: 8 * 1024 ** 3,
    agentVersion: '0.0.0-test',
    ips: [{ interface: 'tailscale0', address: '100.101.102.103', family: 'IPv4', isTailscale: true }],
  };
}

export function sample(ts: number, cpu = 12.5, extra: Partial<HeartbeatSample> = {}): HeartbeatSample {
  return {
    ts,
    cpu: { total: cpu, perCore: [cpu, cpu], load: [0.5, 0.4, 0.3] },
    memory: { total: 8e9, used: 4e9, available: 4e9, percent: 50, swapTotal: 1e9, swapUsed: 0, swapPercent: 0 },
    filesystems: [{ mount: '/', device: '/dev/vda1', type: 'ext4', size: 100e9, used: 40e9, percent: 40 }],
    diskIo: { readBps: 1000, writeBps: 2000 },
    network: { rxBps: 300, txBps: 400, interfaces: [{ name: 'eth0', rxBps: 300, txBps: 400 }] },
    uptimeSeconds: 1000,
    processCount: 100,
    topCpu: [{ pid: 1, name: 'init', cpu: 0.1, memory: 0.1, rss: 1000 }],
    topMemory: [],
    temperatures: { cpu: 45, max: 50 },
    gpus: [],
    ...extra,
  };
}

export async function enrollPeer(hubUrl: string, joinToken: string, hostname = 'test-host'): Promise<PeerIdentity> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(publicKey);
  const response = await fetch(`${hubUrl}/api/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      token: joinToken,
      publicKey: { kty: 'OKP', crv: 'Ed25519', x: jwk.x },
      system: systemInfo(hostname),
      protocolVersion: PROTOCOL_VERSION,
    }),
  });
  if (response.status !== 201) throw new Error(`enroll failed: ${response.status} ${await response.text()}`);
  const enrollment = (await response.json()) as EnrollResponse;
  return { agentId: enrollment.agentId, name: enrollment.name, privateKey, publicX: jwk.x!, enrollment };
}

export interface TokenOptions {
  sub?: string;
  lifetimeSeconds?: number;
  issuedAtOffsetSeconds?: number;
  jti?: string;
  audience?: string;
  key?: CryptoKey;
}

export async function connectToken(peer: PeerIdentity, options: TokenOptions = {}): Promise<string> {
  const iat = Math.floor(Date.now() / 1000) + (options.issuedAtOffsetSeconds ?? 0);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setSubject(options.sub ?? peer.agentId)
    .setAudience(options.audience ?? AGENT_TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.lifetimeSeconds ?? 30))
    .setJti(options.jti ?? randomUUID())
    .sign(options.key ?? peer.privateKey);
}

export type ConnectResult = { socket: Socket; error?: undefined } | { socket?: undefined; error: { message: string; data?: { code: string; supportedProtocolVersions?: { min: number; max: number } } } };

/**
 * Which of the hub's servers carries the connection: Socket.IO's (what third-party agents get)
 * or the lean agent server that Farol's agent asks for with `link=lean` (ADR 0036).
 */
export type AgentLinkKind = 'socket.io' | 'lean';

/** Opens an /agent connection with the given auth; resolves on connect or connect_error. */
export function connectRaw(hubUrl: string, auth: Record<string, unknown>, link: AgentLinkKind = 'socket.io'): Promise<ConnectResult> {
  const socket = io(`${hubUrl}${AGENT_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth, timeout: 5_000, ...(link === 'lean' ? { query: { link: 'lean' } } : {}) });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (error: Error & { data?: { code: string } }) => {
      socket.close();
      resolve({ error: { message: error.message, data: error.data } });
    });
  });
}

export async function connectPeer(hubUrl: string, peer: PeerIdentity, token?: string, link: AgentLinkKind = 'socket.io'): Promise<ConnectResult> {
  return connectRaw(hubUrl, { protocolVersion: PROTOCOL_VERSION, token: token ?? (await connectToken(peer)) }, link);
}

export function newChallenge(): string {
  return randomBytes(32).toString('base64url');
}

export async function hello(socket: Socket, intervalMs = 10_000, hostname = 'test-host'): Promise<Ack<AgentHelloAck>> {
  return socket.timeout(5_000).emitWithAck('agent:hello', { system: systemInfo(hostname), heartbeatIntervalMs: intervalMs, challenge: newChallenge() });
}

export async function emitAck<T = unknown>(socket: Socket, event: string, payload: unknown): Promise<Ack<T>> {
  return socket.timeout(5_000).emitWithAck(event, payload);
}

const sha256 = (data: Uint8Array): Uint8Array => createHash('sha256').update(data).digest();

/**
 * The claims of a `command:run` as a peer sees them: a command signed on its own, or its leaf
 * of a job's batch. With the hub's public key, checks what the real agent checks: the signature
 * and, for a batch, that the leaf's inclusion proof leads to the signed root.
 */
export function readCommandRun(run: CommandRun, hubKey?: KeyObject): CommandClaims {
  const [header, payload, signature] = run.token.split('.') as [string, string, string];
  if (hubKey && !verify(null, Buffer.from(`${header}.${payload}`), hubKey, Buffer.from(signature, 'base64url'))) throw new Error('bad signature');
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString()) as unknown;
  if (!run.batch) return CommandClaimsSchema.parse(decoded);
  const claims = commandClaimsFromBatch(sha256, CommandBatchClaimsSchema.parse(decoded), run.batch, (hash) => Buffer.from(hash, 'base64url'));
  if (!claims) throw new Error('the inclusion proof does not lead to the signed root');
  return CommandClaimsSchema.parse(claims);
}
