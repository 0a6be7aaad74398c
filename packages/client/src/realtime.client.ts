import {
  ConnectErrorDataSchema,
  ErrorAckSchema,
  hubToUiEvents,
  JobWatchAckSchema,
  type JobWatchAck,
  UI_NAMESPACE,
  type ConnectErrorData,
  type UiClientToServerEvents,
  type UiServerToClientEvents,
} from '@farol/protocol';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { normalizeBaseUrl } from './http.client.js';

/** A socket on the hub's `/ui` namespace, typed by the protocol's event maps. */
export type UiSocket = Socket<UiServerToClientEvents, UiClientToServerEvents>;

/** How to open the live feed. */
export interface ConnectUiOptions {
  /** The hub's base URL; a path prefix (hub behind a reverse proxy) is kept. */
  baseUrl: string;
  token: string;
  /** Extra Socket.IO options (e.g. `autoConnect: false`, `transports`). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/**
 * Opens the hub's live feed (`agent:status`, `metrics:update`, `agent:removed`). Each call gets its
 * own connection (`forceNew`), so closing one never closes another caller's socket.
 */
export function connectUi(options: ConnectUiOptions): UiSocket {
  const base = new URL(`${normalizeBaseUrl(options.baseUrl)}/`);
  // Socket.IO reads the URL path as the namespace, so a path prefix must go into `path` instead.
  const prefix = base.pathname.replace(/\/+$/, '');
  return io(`${base.origin}${UI_NAMESPACE}`, {
    path: `${prefix}/socket.io`,
    forceNew: true,
    // WebSocket only by default (issue #14): long-polling would need sticky sessions behind a
    // load balancer in front of several hubs.
    transports: ['websocket'],
    ...options.socketOptions,
    auth: { token: options.token },
  });
}

/** The payload of one live event, as the protocol defines it. */
export type UiEventPayload<K extends keyof UiServerToClientEvents> = Parameters<UiServerToClientEvents[K]>[0];

/**
 * Subscribes to one live event and validates every payload against the protocol before the
 * handler sees it; a payload that does not match goes to `onInvalid` instead. Returns an
 * unsubscribe function.
 */
export function onUiEvent<K extends keyof UiServerToClientEvents>(
  socket: UiSocket,
  event: K,
  handler: (payload: UiEventPayload<K>) => void,
  onInvalid: (event: K, error: Error) => void,
): () => void {
  const schema = hubToUiEvents[event];
  const listener = (payload: unknown) => {
    const parsed = schema.safeParse(payload);
    if (parsed.success) handler(parsed.data as UiEventPayload<K>);
    else onInvalid(event, new Error(`invalid ${event} payload: ${parsed.error.message}`, { cause: parsed.error }));
  };
  // Socket.IO's typed `on` cannot express "the listener for K" generically; the schema above is
  // what makes the payload trustworthy.
  const untyped = socket as unknown as { on(e: string, l: (p: unknown) => void): void; off(e: string, l: (p: unknown) => void): void };
  untyped.on(event, listener);
  return () => untyped.off(event, listener);
}

/**
 * Reads why the hub refused a connection (`connect_error`). Returns null for failures that did
 * not come from the hub (network errors, which Socket.IO retries by itself).
 */
export function readConnectError(error: Error & { data?: unknown }): ConnectErrorData | null {
  const parsed = ConnectErrorDataSchema.safeParse(error.data);
  return parsed.success ? parsed.data : null;
}

/**
 * Starts receiving `job:target` and `job:output` for one job. Resolves with the job as it is at
 * that moment and, per target, the last output chunk already included (`outputSeq`): a chunk
 * that arrives with a seq at or below it is a duplicate.
 */
export async function watchJob(socket: UiSocket, jobId: string, timeoutMs = 10_000): Promise<JobWatchAck> {
  const raw: unknown = await socket.timeout(timeoutMs).emitWithAck('job:watch', { jobId });
  const failure = ErrorAckSchema.safeParse(raw);
  if (failure.success) throw new Error(`the hub refused to watch ${jobId}: ${failure.data.error.message} (${failure.data.error.code})`);
  const parsed = JobWatchAckSchema.safeParse((raw as { data?: unknown } | null)?.data);
  if (!parsed.success) throw new Error(`invalid job:watch answer: ${parsed.error.message}`, { cause: parsed.error });
  return parsed.data;
}

/** Stops receiving a job's events. */
export async function unwatchJob(socket: UiSocket, jobId: string, timeoutMs = 10_000): Promise<void> {
  await socket.timeout(timeoutMs).emitWithAck('job:unwatch', { jobId });
}
