import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { BAD_MESSAGE_WINDOW_MS, errorAck, FarolError, MAX_BAD_MESSAGES, toFieldIssues, type Ack, type ErrorAck, type ErrorCode } from '@farol/protocol';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

type EventTable = Record<string, { payload: z.ZodType; ack: z.ZodType }>;

/** Handlers for every event of a table; each gets the parsed payload and returns ack data. */
export type EventHandlersOf<T extends EventTable> = {
  [K in keyof T]: (payload: z.infer<T[K]['payload']>) => Promise<z.infer<T[K]['ack']>> | z.infer<T[K]['ack']>;
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

/**
 * Routes every inbound event of a socket through one gate: unknown events and payloads that do
 * not match the protocol schema get an error ack with a stable code; a socket that keeps sending
 * garbage is disconnected. Handlers throw FarolError for expected refusals.
 */
export function dispatchSocketEvents<T extends EventTable>(
  socket: Socket,
  table: T,
  handlers: EventHandlersOf<T>,
  { logger, clock, maxStrikes = MAX_BAD_MESSAGES, strikeWindowMs = BAD_MESSAGE_WINDOW_MS, onBadMessage, strikeOn }: DispatchOptions,
): void {
  let strikes: number[] = [];
  const strike = (reason: string): void => {
    const now = clock.now();
    strikes = strikes.filter((t) => now - t < strikeWindowMs);
    strikes.push(now);
    onBadMessage?.();
    logger.warn({ socketId: socket.id, reason, strikes: strikes.length }, 'bad socket message');
    if (strikes.length > maxStrikes) {
      logger.warn({ socketId: socket.id }, 'disconnecting a socket that keeps sending bad messages');
      socket.disconnect(true);
    }
  };

  // The shared table itself, not a per-socket copy of its event names (10,000 sockets, issue #16).
  const dispatched = dispatchedBySocket.get(socket);
  if (dispatched) dispatched.push(table);
  else dispatchedBySocket.set(socket, [table]);
  const guard = (socket.data as { authorizeEvent?: EventGuard } | undefined)?.authorizeEvent;
  // Handlers run as the socket's credential when the namespace says how (the audit log's `via`, issue #11).
  const asActor = (socket.data as { runAsActor?: (work: () => void) => void } | undefined)?.runAsActor ?? ((work: () => void) => work());

  socket.onAny((event: unknown, ...args: unknown[]) => {
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (last as (response: Ack<unknown>) => void) : undefined;
    const reply = (response: Ack<unknown>): void => {
      if (ack) ack(response);
    };
    if (typeof event !== 'string' || !Object.hasOwn(table, event)) {
      strike('unknown_event');
      reply(errorAck('unknown_event', `unknown event ${JSON.stringify(String(event)).slice(0, 80)}`));
      return;
    }
    if (!ack) {
      strike('missing_ack');
      return;
    }
    if (guard) {
      // Authorization comes before validation: a refused caller learns nothing about payloads.
      guard(event, args.length > 1 ? args[0] : undefined).then(
        () => asActor(() => handle(event, args, reply)),
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
    asActor(() => handle(event, args, reply));
  });

  function handle(event: string, args: unknown[], reply: (response: Ack<unknown>) => void): void {
    const entry = table[event]!;
    const parsed = entry.payload.safeParse(args.length > 1 ? args[0] : undefined);
    if (!parsed.success) {
      strike('validation_failed');
      reply(errorAck('validation_failed', `payload of ${event} does not match the protocol`, toFieldIssues(parsed.error)));
      return;
    }
    const handler = handlers[event as keyof T]!;
    Promise.resolve()
      .then(() => handler(parsed.data as never))
      .then(
        (data) => reply({ ok: true, data }),
        (error: unknown) => {
          if (error instanceof FarolError) {
            reply(errorAck(error.code, error.message, error.issues));
            if (strikeOn?.(event, error.code)) strike(`${event} refused: ${error.code}`);
            return;
          }
          logger.error({ err: error, event, socketId: socket.id }, 'socket handler failed');
          reply(errorAck('internal', 'the hub failed to handle this event; see its log'));
        },
      );
  }
}

/**
 * A per-socket gate set by the namespace's auth middleware (`socket.data.authorizeEvent`):
 * called for every known event before its payload is parsed; throws FarolError to refuse.
 */
export type EventGuard = (event: string, payload: unknown) => Promise<void>;

const dispatchedBySocket = new WeakMap<Socket, EventTable[]>();

/** Events this socket's dispatch tables handle (and authorize themselves). */
export function isDispatchedEvent(socket: Socket, event: string): boolean {
  return dispatchedBySocket.get(socket)?.some((table) => Object.hasOwn(table, event)) ?? false;
}

/** Builds the Error that a Socket.IO middleware passes to `next` to refuse a connection. */
export function connectRefusal(code: ErrorAck['error']['code'], message: string, extra: Record<string, unknown> = {}): Error {
  const error = new Error(message) as Error & { data: unknown };
  error.data = { code, message, ...extra };
  return error;
}
