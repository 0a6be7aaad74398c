import { io, type Socket } from 'socket.io-client';
import type { CryptoKey } from 'jose';
import type { z } from 'zod';
import {
  AGENT_NAMESPACE,
  AgentHelloAckSchema,
  ChecksAssignSchema,
  ChecksRunNowSchema,
  CommandCancelSchema,
  CommandRunSchema,
  ConnectErrorDataSchema,
  ErrorAckSchema,
  HubDrainingSchema,
  PROTOCOL_VERSION,
  STOP_RETRYING_CODES,
  TelemetryLiveSchema,
  TerminalCloseSchema,
  TerminalInputSchema,
  TerminalOpenSchema,
  TerminalResizeSchema,
  agentToHubEvents,
  type AgentHelloAck,
  type AgentToHubEventName,
  type ChecksAssign,
  type ChecksRunNow,
  type CommandCancel,
  type CommandRun,
  type ConnectErrorData,
  type ErrorAck,
  type ErrorCode,
  type OkAck,
  type SystemInfo,
  type TerminalClose,
  type TerminalInput,
  type TerminalOpen,
  type TerminalResize,
} from '@farol/protocol';
import { createChallenge, signConnectToken, verifyHubProof } from '../identity/connect-token.js';
import type { Logger } from '../logging/logger.js';
import { sleep, type Clock, type Gate } from '../runtime/clock.js';
import type { Backoff } from './backoff.js';
import type { HubRotation } from './hub-rotation.js';

/** Refusals that no retry can cure: the agent stops and the service manager should not restart it. */
export const FATAL_CONNECT_CODES: ReadonlySet<ErrorCode> = new Set(STOP_RETRYING_CODES);

const HELLO_TIMEOUT_MS = 10_000;
/** What a wait cut short by `stop()` resolves to. */
const STOPPED: unique symbol = Symbol('stopped');
/** Commands the hub may send between its hello ack and our check of its proof. */
const MAX_HELD_COMMANDS = 10_000;
/** Clock skew beyond which the hub will reject our 30 s connect tokens. */
const CLOCK_SKEW_WARN_MS = 20_000;

/** How the connection loop ended: stopped by us, or refused for good by the hub. */
export type HubLinkOutcome =
  | { kind: 'stopped' }
  | { kind: 'refused'; code: ErrorCode; message: string; supportedProtocolVersions?: { min: number; max: number } };

type AckData<E extends AgentToHubEventName> = z.infer<(typeof agentToHubEvents)[E]['ack']>;
type AckPayload<E extends AgentToHubEventName> = z.input<(typeof agentToHubEvents)[E]['payload']>;

/** An acknowledgement whose shape was checked against the protocol. */
export type CheckedAck<T> = OkAck<T> | ErrorAck;

/** The agent identity, the pinned hub key and the collaborators of a hub link. */
export interface HubLinkOptions {
  /**
   * The hubs to connect to (`--hub a,b`), in this agent's order: a failed attempt or a lost
   * link moves on to the next one; a working link stays where it is.
   */
  hubs: HubRotation;
  agentId: string;
  privateKey: CryptoKey;
  /** The hub key pinned at enrollment. */
  hubPublicKey: CryptoKey;
  heartbeatIntervalMs: number;
  /** Called at every hello; the SystemInfo sent is passed to `onLinked`. */
  systemInfo: () => Promise<SystemInfo>;
  backoff: Backoff;
  clock: Clock;
  logger: Logger;
  /** Limits concurrent connection attempts (the simulator connects thousands). */
  connectGate?: Gate;
  /** Handshake timeout (Socket.IO `timeout`). */
  connectTimeoutMs?: number;
  /** PEM of the only CA trusted for an https hub (`--ca-file`); default Node's public roots. */
  ca?: string;
  /** After a verified hello: metrics may flow from here on. */
  onLinked?: (ack: AgentHelloAck, sentSystemInfo: SystemInfo) => void;
  onUnlinked?: () => void;
  /**
   * The hub asks for live mode (`telemetry:live`): stream a sample every `intervalMs`, or stop
   * when null. Only ever called while linked, so never on behalf of an unproven hub.
   */
  onLiveRequest?: (intervalMs: number | null) => void;
  /**
   * A remote command (`command:run`) or its cancellation. Only ever called while linked; the
   * signed command itself is still checked by the executor against the pinned key.
   */
  onCommand?: (run: CommandRun) => void;
  onCommandCancel?: (cancel: CommandCancel) => void;
  /**
   * Interactive terminals: a signed opening (checked against the pinned key by the terminal
   * service), then input, resize and close of a session it opened. Only ever called while linked.
   */
  onTerminalOpen?: (open: TerminalOpen) => void;
  onTerminalInput?: (input: TerminalInput) => void;
  onTerminalResize?: (resize: TerminalResize) => void;
  onTerminalClose?: (close: TerminalClose) => void;
  /** Service checks (issue #19): the complete list to run, and "run these now". Only ever called while linked. */
  onChecksAssign?: (assign: ChecksAssign) => void;
  onChecksRun?: (run: ChecksRunNow) => void;
}

/** The agent's connection to its hub: connect, prove both sides, reconnect with backoff. */
export interface HubLink {
  /** Runs the connection loop until `stop()` or a fatal refusal. */
  run(): Promise<HubLinkOutcome>;
  stop(): void;
  /** True between a verified hello and the next disconnect. */
  isLinked(): boolean;
  /** The hub linked to, or the one being tried (downloads such as updates come from it). */
  hubUrl(): string;
  /**
   * Sends an event and waits for its ack, checked against the protocol. Rejects when not
   * linked, on timeout, or when the connection drops before the ack.
   */
  request<E extends AgentToHubEventName>(event: E, payload: AckPayload<E>, timeoutMs: number): Promise<CheckedAck<AckData<E>>>;
}

type AttemptResult =
  | { kind: 'linked'; socket: Socket }
  | { kind: 'retry' }
  | { kind: 'refused'; outcome: Extract<HubLinkOutcome, { kind: 'refused' }> }
  | { kind: 'stopped' };

/** Checks a raw ack against `{ ok: true, data }` / `{ ok: false, error }`. */
export function parseAck<T>(raw: unknown, dataSchema: z.ZodType<T>): CheckedAck<T> {
  const failure = ErrorAckSchema.safeParse(raw);
  if (failure.success) return failure.data;
  if (typeof raw === 'object' && raw !== null && (raw as { ok?: unknown }).ok === true) {
    const data = dataSchema.safeParse((raw as { data?: unknown }).data);
    if (data.success) return { ok: true, data: data.data };
    throw new Error(`hub ack does not match protocol ${PROTOCOL_VERSION}: ${data.error.issues[0]?.message ?? 'invalid'}`);
  }
  throw new Error(`hub ack does not match protocol ${PROTOCOL_VERSION}`);
}

/** A one-line description of a refusal, with what the operator can do about it. */
export function describeRefusal(refusal: { code: ErrorCode; message: string; supportedProtocolVersions?: { min: number; max: number } | undefined }): string {
  switch (refusal.code) {
    case 'agent_deleted':
      return `the hub deleted this agent, stopping: ${refusal.message}`;
    case 'key_revoked':
      return `the hub revoked this agent's key, stopping: ${refusal.message}`;
    case 'protocol_version_unsupported': {
      const range = refusal.supportedProtocolVersions;
      const supported = range ? `the hub supports protocol ${range.min}-${range.max}` : 'the hub did not say which versions it supports';
      return `the hub does not speak protocol ${PROTOCOL_VERSION} (${supported}), stopping: install the agent version that matches the hub`;
    }
    default:
      return `the hub refused this agent: ${refusal.message} (${refusal.code})`;
  }
}

/** Why a connection attempt got no answer from a Farol hub (issue #12). */
export type UnreachableKind = 'nothing_listening' | 'name_not_found' | 'not_a_farol_hub' | 'tls' | 'timeout' | 'network';

/**
 * Tells apart what an operator fixes differently: nothing listening (start the hub, fix the
 * port), something that answers HTTP but is not a Farol hub (wrong URL, a proxy without
 * WebSockets), a TLS failure (certificate, http vs https), a timeout. Refusals by a real hub
 * carry a code and are described by `describeRefusal`.
 */
export function describeUnreachable(error: Error & { description?: unknown }, hubUrl: string): { kind: UnreachableKind; text: string } {
  // The transport's description is the socket error, or an ErrorEvent wrapping it (WebSocket in Node).
  const raw = error.description as (Error & { code?: string; error?: unknown }) | string | undefined;
  const cause = typeof raw === 'object' && raw?.error instanceof Error ? (raw.error as Error & { code?: string }) : raw;
  const detail = typeof cause === 'string' ? cause : (cause?.message ?? error.message);
  const code = typeof cause === 'object' ? (cause?.code ?? '') : '';
  const http = /Unexpected server response: (\d+)/.exec(detail);
  if (code === 'ECONNREFUSED') return { kind: 'nothing_listening', text: `nothing is listening at ${hubUrl} (is the hub running, and is the port in --hub right?)` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { kind: 'name_not_found', text: `the host name of ${hubUrl} does not resolve (${code}); check --hub and DNS` };
  if (http) {
    return {
      kind: 'not_a_farol_hub',
      text: `${hubUrl} answers HTTP ${http[1]} but is not a Farol hub (check the URL and port in --hub; a proxy in front must pass WebSockets on /agent)`,
    };
  }
  if (code === 'EPROTO' || /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL/.test(code)) {
    return { kind: 'tls', text: `TLS with ${hubUrl} failed: ${detail.split('\n')[0]} (a private CA needs --ca-file; check http:// vs https://)` };
  }
  if (error.message === 'timeout') return { kind: 'timeout', text: `${hubUrl} did not answer in time (firewall, or an overloaded hub)` };
  if (code === 'ECONNRESET') return { kind: 'network', text: `${hubUrl} closed the connection at once (an https hub reached with http://?): ${detail}` };
  return { kind: 'network', text: `cannot reach ${hubUrl}: ${detail}` };
}

/** Creates the link; nothing connects until `run()`. */
export function createHubLink(options: HubLinkOptions): HubLink {
  const { logger, clock, backoff, hubs } = options;
  const stopper = new AbortController();
  let current: Socket | null = null;
  let linked = false;
  /** Set by `hub:draining`: when to try again after this disconnect, instead of the backoff. */
  let drainRetryAfterMs: number | null = null;
  /** Set by a rebalancing `hub:draining`: the hub to try next, when it is one of ours. */
  let drainHubUrl: string | null = null;

  function closeSocket(socket: Socket): void {
    socket.removeAllListeners();
    socket.disconnect();
  }

  /** Opens a socket with a freshly signed token; resolves on connect or connect_error. */
  async function connect(): Promise<AttemptResult> {
    const token = await signConnectToken({ agentId: options.agentId, privateKey: options.privateKey, clock });
    if (stopper.signal.aborted) return { kind: 'stopped' };
    const hubUrl = hubs.current();
    const socket = io(`${hubUrl}${AGENT_NAMESPACE}`, {
      transports: ['websocket'],
      // Asks the hub for its lean agent server (same protocol, less memory per connection on the
      // hub, ADR 0036); a hub without one ignores the parameter and serves it with Socket.IO.
      query: { link: 'lean' },
      reconnection: false,
      forceNew: true,
      timeout: options.connectTimeoutMs ?? 20_000,
      // Certificates are always verified (wss); a private CA replaces the default roots.
      rejectUnauthorized: true,
      ...(options.ca ? { ca: options.ca } : {}),
      // Computed per attempt: the token is signed just above, right before this handshake.
      auth: (cb) => cb({ protocolVersion: PROTOCOL_VERSION, token }),
    });
    current = socket;
    const handshakeMs = options.connectTimeoutMs ?? 20_000;
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const settle = (result: AttemptResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        stopper.signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = (): void => {
        closeSocket(socket);
        settle({ kind: 'stopped' });
      };
      stopper.signal.addEventListener('abort', onAbort, { once: true });
      // Socket.IO's `timeout` covers the transport's opening only. A hub that opens it and then
      // never answers the namespace connect (its token check stuck behind an overloaded
      // database) must not hold this agent forever: give up and try again after the backoff.
      const deadline = setTimeout(() => {
        logger.warn({ hubUrl, waitedMs: 2 * handshakeMs }, 'the hub opened the connection but did not accept or refuse it in time; trying again');
        closeSocket(socket);
        settle({ kind: 'retry' });
      }, 2 * handshakeMs);
      socket.once('connect', () => settle({ kind: 'linked', socket }));
      // The transport closed before the hub answered the connect: Socket.IO then says
      // `disconnect`, not `connect_error` (seen with 20,000 agents on three starved hubs).
      socket.once('disconnect', (reason: string) => {
        if (settled) return;
        logger.warn({ hubUrl, reason }, 'the connection closed before the hub accepted it; trying again');
        closeSocket(socket);
        settle({ kind: 'retry' });
      });
      socket.once('connect_error', (error: Error & { data?: unknown }) => {
        closeSocket(socket);
        const data = ConnectErrorDataSchema.safeParse(error.data);
        if (!data.success) {
          // Network errors, TLS failures, timeouts: no refusal from a hub, just try again.
          const unreachable = describeUnreachable(error, hubUrl);
          logger.warn({ err: error, hubUrl, reason: unreachable.kind }, `cannot reach the hub: ${unreachable.text}`);
          settle({ kind: 'retry' });
          return;
        }
        settle(classifyRefusal(data.data));
      });
    });
  }

  function classifyRefusal(data: ConnectErrorData): AttemptResult {
    if (FATAL_CONNECT_CODES.has(data.code)) {
      return {
        kind: 'refused',
        outcome: {
          kind: 'refused',
          code: data.code,
          message: data.message,
          ...(data.supportedProtocolVersions ? { supportedProtocolVersions: data.supportedProtocolVersions } : {}),
        },
      };
    }
    const hint = data.code === 'token_expired' ? ' (is this machine\'s clock right?)' : '';
    logger.warn({ code: data.code, hubUrl: hubs.current() }, `hub refused the connection: ${data.message}${hint}`);
    return { kind: 'retry' };
  }

  /** Hello with a challenge; the hub must sign it back with the pinned key. */
  async function hello(socket: Socket): Promise<AttemptResult> {
    const system = await options.systemInfo();
    // A stop while the system info was read has closed the socket: an emit now would be
    // buffered by Socket.IO and hold the shutdown for the whole hello timeout.
    if (stopper.signal.aborted || socket.disconnected) return stopper.signal.aborted ? { kind: 'stopped' } : { kind: 'retry' };
    const challenge = createChallenge();
    let ack: CheckedAck<AgentHelloAck>;
    try {
      const raw = await untilStopped(
        socket.timeout(HELLO_TIMEOUT_MS).emitWithAck('agent:hello', { system, heartbeatIntervalMs: options.heartbeatIntervalMs, challenge }) as Promise<unknown>,
      );
      if (raw === STOPPED) return { kind: 'stopped' };
      ack = parseAck(raw, AgentHelloAckSchema);
    } catch (error) {
      if (stopper.signal.aborted) return { kind: 'stopped' };
      logger.warn({ err: error }, 'hello failed');
      return { kind: 'retry' };
    }
    if (!ack.ok) {
      const refusal = classifyRefusal({ code: ack.error.code, message: ack.error.message });
      if (refusal.kind === 'retry') logger.warn({ code: ack.error.code }, 'hub refused the hello');
      return refusal;
    }
    const proven =
      ack.data.agentId === options.agentId &&
      (await verifyHubProof({ proof: ack.data.proof, hubPublicKey: options.hubPublicKey, agentId: options.agentId, challenge, clock }));
    if (!proven) {
      logger.error({ hubUrl: hubs.current(), agentId: options.agentId }, 'hub could not prove its identity (key mismatch): refusing to send data');
      return { kind: 'retry' };
    }
    const skew = ack.data.serverTime - clock.now();
    if (Math.abs(skew) > CLOCK_SKEW_WARN_MS) {
      logger.warn({ skewMs: skew }, 'this machine\'s clock differs from the hub\'s: connect tokens may be refused; enable NTP');
    }
    linked = true;
    backoff.reset();
    logger.info({ agentId: options.agentId, name: ack.data.name, hubUrl: hubs.current() }, 'connected to hub');
    options.onLinked?.(ack.data, system);
    return { kind: 'linked', socket };
  }

  /** `work`, or STOPPED as soon as the link is stopped, whichever comes first. */
  function untilStopped<T>(work: Promise<T>): Promise<T | typeof STOPPED> {
    if (stopper.signal.aborted) return Promise.resolve(STOPPED);
    return new Promise<T | typeof STOPPED>((resolve, reject) => {
      const onAbort = (): void => resolve(STOPPED);
      stopper.signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (value) => {
          stopper.signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          stopper.signal.removeEventListener('abort', onAbort);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  function waitForDisconnect(socket: Socket): Promise<void> {
    return new Promise((resolve) => {
      // A stop that came while the hello was finishing has already closed this socket: neither
      // its 'disconnect' nor the (already fired) 'abort' would come again.
      if (stopper.signal.aborted || socket.disconnected) {
        resolve();
        return;
      }
      const done = (): void => {
        stopper.signal.removeEventListener('abort', done);
        resolve();
      };
      socket.once('disconnect', (reason) => {
        logger.warn({ reason }, 'disconnected from hub');
        done();
      });
      stopper.signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Hub → agent events. The hub may send one right after the hello ack, before the proof is
   * checked here; such a request is held until the hub has proven itself, and dropped if it
   * never does.
   */
  function listenToHub(socket: Socket): { release: () => void } {
    let held: { intervalMs: number | null } | null = null;
    const heldCommands: Array<() => void> = [];
    const onHubEvent = <T>(event: string, schema: z.ZodType<T>, deliver: ((payload: T) => void) | undefined): void => {
      socket.on(event, (payload: unknown) => {
        const parsed = schema.safeParse(payload);
        if (!parsed.success) {
          logger.warn({ event, issues: parsed.error.issues.length }, 'ignoring an invalid message from the hub');
          return;
        }
        if (!deliver) return;
        if (linked) deliver(parsed.data);
        else if (heldCommands.length < MAX_HELD_COMMANDS) heldCommands.push(() => deliver(parsed.data));
      });
    };
    onHubEvent('command:run', CommandRunSchema, options.onCommand);
    onHubEvent('command:cancel', CommandCancelSchema, options.onCommandCancel);
    onHubEvent('terminal:open', TerminalOpenSchema, options.onTerminalOpen);
    onHubEvent('terminal:input', TerminalInputSchema, options.onTerminalInput);
    onHubEvent('terminal:resize', TerminalResizeSchema, options.onTerminalResize);
    onHubEvent('terminal:close', TerminalCloseSchema, options.onTerminalClose);
    onHubEvent('checks:assign', ChecksAssignSchema, options.onChecksAssign);
    onHubEvent('checks:run', ChecksRunNowSchema, options.onChecksRun);
    socket.on('hub:draining', (payload: unknown) => {
      const draining = HubDrainingSchema.safeParse(payload);
      if (!draining.success) {
        logger.warn({ issues: draining.error.issues.length }, 'ignoring an invalid hub:draining');
        return;
      }
      // Only a proven hub may hold us back; an unproven one is dropped after its hello anyway.
      if (!linked) return;
      drainRetryAfterMs = draining.data.retryAfterMs;
      drainHubUrl = draining.data.reason === 'rebalance' ? (draining.data.hubUrl ?? null) : null;
      logger.info(
        { retryAfterMs: drainRetryAfterMs },
        draining.data.reason === 'rebalance' ? 'the hub holds more than its share of the fleet; moving to another hub when it asked' : 'the hub is shutting down; reconnecting when it asked',
      );
    });
    socket.on('telemetry:live', (payload: unknown) => {
      const request = TelemetryLiveSchema.safeParse(payload);
      if (!request.success) {
        logger.warn({ issues: request.error.issues.length }, 'ignoring an invalid telemetry:live request');
        return;
      }
      if (linked) options.onLiveRequest?.(request.data.intervalMs);
      else held = request.data;
    });
    return {
      release: () => {
        if (held !== null) options.onLiveRequest?.(held.intervalMs);
        held = null;
        for (const deliver of heldCommands.splice(0)) deliver();
      },
    };
  }

  async function attempt(): Promise<AttemptResult> {
    const connected = await connect();
    if (connected.kind !== 'linked') return connected;
    const listener = listenToHub(connected.socket);
    const greeted = await hello(connected.socket);
    if (greeted.kind !== 'linked') closeSocket(connected.socket);
    else listener.release();
    return greeted;
  }

  return {
    async run() {
      while (!stopper.signal.aborted) {
        const result = options.connectGate ? await options.connectGate.run(attempt) : await attempt();
        if (result.kind === 'stopped') break;
        if (result.kind === 'refused') {
          logger.fatal({ code: result.outcome.code, agentId: options.agentId }, describeRefusal(result.outcome));
          return result.outcome;
        }
        if (result.kind === 'linked') {
          await waitForDisconnect(result.socket);
          linked = false;
          options.onUnlinked?.();
          closeSocket(result.socket);
          if (stopper.signal.aborted) break;
        }
        // A draining hub's spread replaces the first delay; failures after it back off as usual.
        const delay = drainRetryAfterMs ?? backoff.next();
        const hinted = drainHubUrl;
        drainRetryAfterMs = null;
        drainHubUrl = null;
        // The hub that failed or dropped us is likely down: the next attempt goes to the next
        // hub in this agent's own order (with one hub, the same one again). Full jitter on every
        // attempt keeps a fleet from arriving at the survivors all at once.
        // A rebalancing hub names one short of its share: that one, if it is in our own list.
        const previous = hubs.current();
        const next = hinted !== null && hinted !== previous && hubs.moveTo(hinted) ? hubs.current() : hubs.advance();
        logger.info({ delayMs: delay, attempt: backoff.attempt, hubUrl: next, ...(next === previous ? {} : { previousHubUrl: previous }) }, 'reconnecting after a delay');
        await sleep(delay, stopper.signal);
      }
      return { kind: 'stopped' };
    },

    stop() {
      stopper.abort();
      linked = false;
      if (current) closeSocket(current);
    },

    isLinked: () => linked,

    hubUrl: () => hubs.current(),

    async request<E extends AgentToHubEventName>(event: E, payload: AckPayload<E>, timeoutMs: number) {
      const socket = current;
      if (!linked || !socket?.connected) throw new Error('not connected to the hub');
      // Socket.IO keeps an emit it could not send (a ping overdue) in its buffer, where a closing
      // socket does not fail it: a stop must not wait out the timeout for it.
      const raw = await untilStopped(socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<unknown>);
      if (raw === STOPPED) throw new Error('the link to the hub was stopped');
      // The table pairs each event with its ack schema; TypeScript cannot follow the index.
      return parseAck(raw, agentToHubEvents[event].ack as unknown as z.ZodType<AckData<E>>);
    },
  };
}
