import { connectUi, readConnectError, type UiSocket } from '@farol/client';
import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { hubUrl, useSession } from './session.js';

/** `connecting` until the first connection, then `connected`, or `reconnecting` while it is lost. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

export interface Realtime {
  socket: UiSocket;
  subscribe(onChange: () => void): () => void;
  getState(): ConnectionState;
}

const AUTH_CODES = new Set(['unauthorized', 'token_invalid', 'token_expired', 'token_revoked']);
/** How long to wait before trying again after the hub itself closed or refused the connection. */
const RETRY_AFTER_REFUSAL_MS = 2_000;

/**
 * Follows a socket's connection in a form React can subscribe to. Socket.IO reconnects by
 * itself after network failures; after the hub closed the connection or refused it for a reason
 * other than the token, it does not, so this asks again.
 */
function trackConnection(socket: UiSocket, onAuthRefused: () => void) {
  let state: ConnectionState = 'connecting';
  let retry: ReturnType<typeof setTimeout> | undefined;
  const listeners = new Set<() => void>();
  const set = (next: ConnectionState) => {
    if (next === state) return;
    state = next;
    listeners.forEach((listener) => listener());
  };
  const retryLater = () => {
    clearTimeout(retry);
    retry = setTimeout(() => socket.connect(), RETRY_AFTER_REFUSAL_MS);
  };
  const onConnect = () => set('connected');
  const onDisconnect = (reason: string) => {
    set('reconnecting');
    if (reason === 'io server disconnect') retryLater();
  };
  const onConnectError = (error: Error) => {
    set('reconnecting');
    const refusal = readConnectError(error);
    if (!refusal) return; // a network failure: Socket.IO retries with backoff
    if (AUTH_CODES.has(refusal.code)) onAuthRefused();
    else retryLater();
  };

  return {
    subscribe(onChange: () => void): () => void {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    getState: (): ConnectionState => state,
    /** Starts following the socket; the returned function stops (before a deliberate disconnect). */
    attach(): () => void {
      socket.on('connect', onConnect);
      socket.on('disconnect', onDisconnect);
      socket.on('connect_error', onConnectError);
      return () => {
        clearTimeout(retry);
        socket.off('connect', onConnect);
        socket.off('disconnect', onDisconnect);
        socket.off('connect_error', onConnectError);
      };
    },
  };
}

const RealtimeContext = createContext<Realtime | null>(null);

/** One /ui connection per signed-in tab, shared by every page. */
export function RealtimeProvider({ token, children }: { token: string; children: ReactNode }) {
  const { signOut } = useSession();
  const socket = useMemo(
    () =>
      connectUi({
        baseUrl: hubUrl(),
        token,
        // WebSocket only (issue #14): with several hubs behind a load balancer, long-polling would
        // need sticky sessions (each poll must reach the hub holding the session); a WebSocket is
        // one connection to one hub, so any balancer works. A proxy must pass the upgrade.
        socketOptions: { autoConnect: false, transports: ['websocket'], reconnectionDelayMax: 5_000 },
      }),
    [token],
  );

  const realtime = useMemo(() => {
    const tracker = trackConnection(socket, () => signOut('expired'));
    return { socket, tracker };
  }, [socket, signOut]);

  useEffect(() => {
    const detach = realtime.tracker.attach();
    realtime.socket.connect();
    return () => {
      detach();
      realtime.socket.disconnect();
    };
  }, [realtime]);

  const value = useMemo<Realtime>(
    () => ({ socket: realtime.socket, subscribe: realtime.tracker.subscribe, getState: realtime.tracker.getState }),
    [realtime],
  );
  return <RealtimeContext.Provider value={value}>{children}</RealtimeContext.Provider>;
}

export function useRealtime(): Realtime {
  const context = useContext(RealtimeContext);
  if (!context) throw new Error('useRealtime outside RealtimeProvider');
  return context;
}

/** The connection state, re-rendering when it changes. */
export function useConnectionState(): ConnectionState {
  const realtime = useRealtime();
  return useSyncExternalStore(realtime.subscribe, realtime.getState);
}
