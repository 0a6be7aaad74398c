import type { Namespace, Socket } from 'socket.io';
import { FarolError, SESSION_COOKIE, UiHandshakeAuthSchema } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import { connectRefusal, isDispatchedEvent } from '../../infra/socket-dispatch.js';
import type { AccountsService, AuthContext } from './accounts.service.js';
import type { Authorizer } from './authorizer.js';
import { UI_EVENT_ACCESS } from './permissions.js';
import type { RequestActors } from './request-actor.js';

/** What the guard keeps on each /ui socket. `authorizeEvent` is called by socket-dispatch for every event. */
export interface UiSocketAuth {
  auth: AuthContext;
  principal: AuthContext['principal'];
  authorizeEvent: (event: string, payload: unknown) => Promise<void>;
}

/** The handshake headers a cookie session needs, kept when Socket.IO's request is dropped. */
interface SessionHeaders {
  cookie?: string | undefined;
  origin?: string | undefined;
  host?: string | undefined;
}

/**
 * Called from the engine's `connection` event before the hub drops the raw HTTP request (to save
 * memory): keeps only what a cookie-authenticated /ui socket needs, and only when a cookie came.
 */
export function keepSessionHeaders(rawSocket: { request: { headers: Record<string, string | string[] | undefined> } | null }): void {
  const headers = rawSocket.request?.headers;
  if (typeof headers?.cookie !== 'string') return;
  const text = (name: string): string | undefined => (typeof headers[name] === 'string' ? headers[name] : undefined);
  (rawSocket as { sessionHeaders?: SessionHeaders }).sessionHeaders = { cookie: headers.cookie, origin: text('origin'), host: text('host') };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return decodeURIComponent(part.slice(index + 1).trim());
  }
  return undefined;
}

/**
 * Guards the /ui namespace: authenticates at connect (API token in the handshake `auth`, or the
 * session cookie from a page of the same origin), checks EVERY inbound event against the
 * permission table, re-authenticates when accounts change, and closes the sockets of a user
 * whose access narrowed (role, scope, disabled, token revoked) as soon as `auth.changed` fires.
 */
export function attachUiGuard(
  namespace: Namespace,
  {
    accounts,
    authorizer,
    bus,
    clock,
    logger,
    actors,
  }: {
    accounts: AccountsService;
    authorizer: Authorizer;
    bus: Bus;
    clock: Clock;
    logger: Logger;
    /** Each event's handler runs as the socket's credential, for the audit log's `via` (issue #11). */
    actors?: Pick<RequestActors, 'runAs'>;
  },
): () => void {
  namespace.use((socket, next) => {
    const parsed = UiHandshakeAuthSchema.safeParse(socket.handshake.auth);
    const kept = (socket.conn as unknown as { sessionHeaders?: SessionHeaders }).sessionHeaders ?? {};
    const cookie = cookieValue(kept.cookie, SESSION_COOKIE);
    let authenticate: () => Promise<AuthContext>;
    if (parsed.success) {
      authenticate = () => accounts.authenticateToken(parsed.data.token);
    } else if (cookie) {
      // A cookie rides along with any request the browser makes: only a page of this origin may use it.
      const origin = kept.origin;
      let sameOrigin = false;
      try {
        sameOrigin = origin !== undefined && new URL(origin).host === kept.host;
      } catch {
        sameOrigin = false; // a malformed Origin is as good as a foreign one
      }
      if (!sameOrigin) {
        next(connectRefusal('forbidden', 'a session cookie is accepted only from the hub\'s own pages'));
        return;
      }
      authenticate = () => accounts.authenticateSession(cookie);
    } else {
      next(connectRefusal('unauthorized', 'send { token } in the handshake auth, or sign in'));
      return;
    }
    authenticate().then(
      (context) => {
        let generation = accounts.generation();
        const state: UiSocketAuth = {
          auth: context,
          principal: context.principal,
          authorizeEvent: async (event, payload) => {
            if (state.auth.expiresAt !== null && clock.now() >= state.auth.expiresAt) {
              socket.disconnect(true);
              throw new FarolError('unauthorized', 'the credential of this connection has expired');
            }
            if (generation !== accounts.generation()) {
              generation = accounts.generation();
              try {
                state.auth = await authenticate();
                state.principal = state.auth.principal;
              } catch (error) {
                socket.disconnect(true);
                throw error;
              }
            }
            const access = Object.hasOwn(UI_EVENT_ACCESS, event) ? UI_EVENT_ACCESS[event] : undefined;
            if (!access) throw new FarolError('forbidden', `${event} is not in the permission table; nobody may send it yet`);
            const target = access.kind === 'permission' && access.target && 'field' in access.target && payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>)[access.target.field] : undefined;
            await authorizer.check(state.principal, access, target);
          },
        };
        // Dispatched handlers (socket-dispatch.ts) run as this credential, for the audit log's `via`.
        const runAsActor = (work: () => void): void => (actors ? actors.runAs(state.principal, work) : work());
        socket.data = { ...(socket.data as object), ...state, uiAuth: state, runAsActor };
        reauthenticators.set(socket, authenticate);
        // Handlers registered with socket.on (not through socket-dispatch) pass this gate too.
        socket.use((packet, next) => {
          const nextPacket = (): void => (actors ? actors.runAs(state.principal, () => next()) : next());
          const [event, ...rest] = packet;
          // socket-dispatch already asked authorizeEvent for its own events.
          if (isDispatchedEvent(socket, String(event))) {
            nextPacket();
            return;
          }
          const ack = rest.at(-1);
          state.authorizeEvent(String(event), rest[0]).then(
            () => nextPacket(),
            (error: unknown) => {
              const code = error instanceof FarolError ? error.code : 'internal';
              if (typeof ack === 'function') (ack as (r: unknown) => void)({ ok: false, error: { code, message: error instanceof Error ? error.message : 'refused' } });
            },
          );
        });
        next();
      },
      (error: unknown) => {
        if (error instanceof FarolError) next(connectRefusal(error.code, error.message));
        else {
          logger.error({ err: error }, 'ui authentication failed');
          next(connectRefusal('internal', 'authentication failed'));
        }
      },
    );
  });

  /** How each socket authenticated, to re-check it when a role changes for whoever holds it. */
  const reauthenticators = new WeakMap<Socket, () => Promise<AuthContext>>();

  /**
   * Issue #11: a change to a role (not to one user) re-checks every socket at once, and closes
   * those whose access narrowed (a permission gone, or another scope), with their terminals.
   */
  async function recheck(socket: Socket, state: UiSocketAuth): Promise<void> {
    const authenticate = reauthenticators.get(socket);
    if (!authenticate) return;
    let fresh: AuthContext;
    try {
      fresh = await authenticate();
    } catch (error) {
      // The credential no longer authenticates (role gone, user disabled): the socket closes.
      logger.info({ socketId: socket.id, user: state.principal.name, reason: error instanceof Error ? error.message : String(error) }, 'closing a socket whose credential no longer holds');
      closeSocket(socket);
      return;
    }
    const before = state.principal;
    const narrowed = fresh.principal.scope !== before.scope || before.permissions.some((p) => !fresh.principal.permissions.includes(p));
    if (narrowed) {
      logger.info({ socketId: socket.id, user: before.name }, 'closing a socket whose role narrowed');
      closeSocket(socket);
    }
  }

  const unsubscribe = bus.subscribe('auth.changed', (event) => {
    for (const socket of namespace.sockets.values()) {
      const state = (socket.data as { uiAuth?: UiSocketAuth }).uiAuth;
      if (!state) continue;
      const principal = state.principal;
      const hit = event.tokenId !== null ? principal.tokenId === event.tokenId : event.userId === null || principal.id === event.userId;
      if (!hit) continue;
      if (event.userId === null) {
        // A role changed for whoever holds it: every socket is re-checked now (and its next event
        // re-reads its principal, as the generation moved).
        recheck(socket, state).catch((error: unknown) => logger.error({ err: error, socketId: socket.id }, 're-checking a socket after a role change failed'));
        continue;
      }
      logger.info({ socketId: socket.id, user: principal.name, reason: event.reason }, 'closing a socket whose access changed');
      closeSocket(socket);
    }
  });
  // A revocation or role change announced while Redis was away was missed: every socket is re-checked.
  // The roles are read again first (account-users.service.ts follows the same event).
  const unsubscribeResumed = bus.subscribe('broadcasts.resumed', () => {
    void accounts.rolesReloaded().then(() => {
      for (const socket of namespace.sockets.values()) {
        const state = (socket.data as { uiAuth?: UiSocketAuth }).uiAuth;
        if (!state) continue;
        recheck(socket, state).catch((error: unknown) => logger.error({ err: error, socketId: socket.id }, 're-checking a socket after Redis came back failed'));
      }
    });
  });
  return () => {
    unsubscribe();
    unsubscribeResumed();
  };
}

function closeSocket(socket: Socket): void {
  socket.disconnect(true);
}
