import type { z } from 'zod';
import { BAD_MESSAGE_WINDOW_MS, createFastParser, errorAck, FarolError, MAX_BAD_MESSAGES, toFieldIssues, type Ack, type ErrorAck, type ErrorCode } from '@farol/protocol';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

type EventTable = Record<string, { payload: z.ZodType; ack: z.ZodType }>;

/**
 * What the dispatcher needs of a socket: a Socket.IO server socket, or a connection of the lean
 * agent server (infra/lean-socket-server.ts), which has the same shape for these members.
 */
export interface DispatchSocket {
  readonly id: string;
  readonly data?: unknown;
  disconnect(close?: boolean): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Socket.IO's own signature
  onAny(listener: (...args: any[]) => void): unknown;
}

/**
 * Handlers for every event of a table; each gets the parsed payload (and the socket's context,
 * when the namespace gives one) and returns ack data. A namespace with thousands of sockets
 * builds its handlers once and passes each socket's context, instead of closures per socket.
 */
export type EventHandlersOf<T extends EventTable, C = undefined> = {
  [K in keyof T]: (payload: z.infer<T[K]['payload']>, ...context: C extends undefined ? [] : [context: C]) => Promise<z.infer<T[K]['ack']>> | z.infer<T[K]['ack']>;
};

export interface DispatchOptions {
  logger: Logger;
  clock: Clock;
  /** Bad messages (unknown event, bad payload, missing ack) tolerated per window before disconnecting. */
  maxStrikes?: number;
  strikeWindowMs?: number;
  /** Called for every refused message (for metrics). */
  onBadMessage?: () => void;
  /**
   * Handler refusals that also count as strikes: for agents, `forbidden` on command events
   * (acks, output, results or uploads for commands the hub never sent them), so a peer that
   * floods made-up results is disconnected like one sending garbage.
   */
  strikeOn?: (event: string, code: ErrorCode) => boolean;
}

/** What one socket of a dispatcher keeps: its strikes and its context. */
interface SocketState<C> {
  strikes: number[];
  context: C | undefined;
}

/**
 * Routes every inbound event of a socket through one gate: unknown events and payloads that do
 * not match the protocol schema get an error ack with a stable code; a socket that keeps sending
 * garbage is disconnected. Handlers throw FarolError for expected refusals.
 *
 * Built once per namespace: the returned function attaches a socket with its context. Every
 * socket shares one listener (Socket.IO calls it with the socket as `this`), so a socket costs
 * its strikes and its context, not a set of closures (10,000 agents on one hub, issue #16).
 */
export function socketDispatcher<T extends EventTable, C = undefined>(
  table: T,
  handlers: EventHandlersOf<T, C>,
  { logger, clock, maxStrikes = MAX_BAD_MESSAGES, strikeWindowMs = BAD_MESSAGE_WINDOW_MS, onBadMessage, strikeOn }: DispatchOptions,
): (socket: DispatchSocket, ...context: C extends undefined ? [] : [context: C]) => void {
  const states = new WeakMap<DispatchSocket, SocketState<C>>();
  // Payloads checked in place, zod called only for the rare one that is not exactly the schema
  // (ADR 0039: zod's copy of each heartbeat was half of a 10,000-agent hub's allocations).
  const parsers = new Map(Object.entries(table).map(([event, entry]) => [event, createFastParser(entry.payload)]));

  function strike(socket: DispatchSocket, state: SocketState<C>, reason: string): void {
    const now = clock.now();
    state.strikes = state.strikes.filter((t) => now - t < strikeWindowMs);
    state.strikes.push(now);
    onBadMessage?.();
    logger.warn({ socketId: socket.id, reason, strikes: state.strikes.length }, 'bad socket message');
    if (state.strikes.length > maxStrikes) {
      logger.warn({ socketId: socket.id }, 'disconnecting a socket that keeps sending bad messages');
      socket.disconnect(true);
    }
  }

  function handle(socket: DispatchSocket, state: SocketState<C>, event: string, args: unknown[], reply: (response: Ack<unknown>) => void): void {
    const parsed = parsers.get(event)!(args.length > 1 ? args[0] : undefined);
    if (!parsed.success) {
      strike(socket, state, 'validation_failed');
      reply(errorAck('validation_failed', `payload of ${event} does not match the protocol`, toFieldIssues(parsed.error)));
      return;
    }
    const handler = handlers[event as keyof T] as (payload: unknown, context: C | undefined) => unknown;
    Promise.resolve()
      .then(() => handler(parsed.data, state.context))
      .then(
        (data) => reply({ ok: true, data }),
        (error: unknown) => {
          if (error instanceof FarolError) {
            reply(errorAck(error.code, error.message, error.issues));
            if (strikeOn?.(event, error.code)) strike(socket, state, `${event} refused: ${error.code}`);
            return;
          }
          logger.error({ err: error, event, socketId: socket.id }, 'socket handler failed');
          reply(errorAck('internal', 'the hub failed to handle this event; see its log'));
        },
      );
  }

  function onEvent(this: DispatchSocket, event: unknown, ...args: unknown[]): void {
    dispatchEvent(this, event, args);
  }

  function dispatchEvent(socket: DispatchSocket, event: unknown, args: unknown[]): void {
    const state = states.get(socket);
    if (!state) return;
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (last as (response: Ack<unknown>) => void) : undefined;
    const reply = (response: Ack<unknown>): void => {
      if (ack) ack(response);
    };
    if (typeof event !== 'string' || !Object.hasOwn(table, event)) {
      strike(socket, state, 'unknown_event');
      reply(errorAck('unknown_event', `unknown event ${JSON.stringify(String(event)).slice(0, 80)}`));
      return;
    }
    if (!ack) {
      strike(socket, state, 'missing_ack');
      return;
    }
    // Handlers run as the socket's credential when the namespace says how (the audit log's `via`, issue #11).
    const data = socket.data as { authorizeEvent?: EventGuard; runAsActor?: (work: () => void) => void } | undefined;
    const asActor = data?.runAsActor ?? ((work: () => void) => work());
    const guard = data?.authorizeEvent;
    if (guard) {
      // Authorization comes before validation: a refused caller learns nothing about payloads.
      guard(event, args.length > 1 ? args[0] : undefined).then(
        () => asActor(() => handle(socket, state, event, args, reply)),
        (error: unknown) => {
          if (error instanceof FarolError) reply(errorAck(error.code, error.message));
          else {
            logger.error({ err: error, event, socketId: socket.id }, 'socket authorization failed');
            reply(errorAck('internal', 'the hub failed to authorize this event; see its log'));
          }
        },
      );
      return;
    }
    asActor(() => handle(socket, state, event, args, reply));
  }

  return (socket, ...[context]) => {
    // The shared table itself, not a per-socket copy of its event names.
    const dispatched = dispatchedBySocket.get(socket);
    if (dispatched) dispatched.push(table);
    else dispatchedBySocket.set(socket, [table]);
    states.set(socket, { strikes: [], context });
    socket.onAny(onEvent);
  };
}

/** A dispatcher for one socket (namespaces with few sockets); see `socketDispatcher`. */
export function dispatchSocketEvents<T extends EventTable, C = undefined>(
  socket: DispatchSocket,
  table: T,
  handlers: EventHandlersOf<T, C>,
  options: DispatchOptions,
  ...context: C extends undefined ? [] : [context: C]
): void {
  socketDispatcher(table, handlers, options)(socket, ...context);
}

/**
 * A per-socket gate set by the namespace's auth middleware (`socket.data.authorizeEvent`):
 * called for every known event before its payload is parsed; throws FarolError to refuse.
 */
export type EventGuard = (event: string, payload: unknown) => Promise<void>;

const dispatchedBySocket = new WeakMap<DispatchSocket, EventTable[]>();

/** Events this socket's dispatch tables handle (and authorize themselves). */
export function isDispatchedEvent(socket: DispatchSocket, event: string): boolean {
  return dispatchedBySocket.get(socket)?.some((table) => Object.hasOwn(table, event)) ?? false;
}

/** Builds the Error that a Socket.IO middleware passes to `next` to refuse a connection. */
export function connectRefusal(code: ErrorAck['error']['code'], message: string, extra: Record<string, unknown> = {}): Error {
  const error = new Error(message) as Error & { data: unknown };
  error.data = { code, message, ...extra };
  return error;
}
