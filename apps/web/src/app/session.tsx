import { createFarolClient, FarolApiError, type FarolClient, type FarolClientOptions } from '@farol/client';
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { LoginRequestInput } from '@farol/protocol';
import { cookieSessionOptions, endCookieSession, resumeCookieSession, startCookieSession } from '../features/accounts/cookie-session.js';
import { readStored, writeStored } from './storage.js';

const TOKEN_KEY = 'farol.token';

/** A signed-in operator: the token (or cookie) and a client that sends it. */
export interface Session {
  /** The API token; '' for a cookie session (the browser sends the cookie instead). */
  token: string;
  /** How the operator signed in: an API token, or username and password (a cookie session). */
  via: 'token' | 'cookie';
  /** True when the token is kept in localStorage ("remember on this device"). */
  remembered: boolean;
  /** What every @farol/client of this session is created with (token or cookie + CSRF header). */
  clientOptions: FarolClientOptions;
  client: FarolClient;
}

export type SignOutReason = 'expired';

export interface SessionApi {
  session: Session | null;
  /** Why the last session ended, shown on the sign-in page. */
  endedBecause: SignOutReason | null;
  /** Checks the token with `GET /api/me`, then keeps it; throws the client's FarolApiError. */
  signIn(token: string, remember: boolean): Promise<void>;
  /** Username + password (+ code): an HttpOnly cookie session (issue #6); `token` is then ''. */
  signInWithPassword(input: Omit<LoginRequestInput, 'issue'>): Promise<void>;
  /** True while a reload asks the hub whether a cookie session is still alive. */
  restoring: boolean;
  signOut(reason?: SignOutReason): void;
}

const SessionContext = createContext<SessionApi | null>(null);

/** The dashboard talks to the hub that served it. */
export const hubUrl = (): string => window.location.origin;

function makeSession(token: string, remembered: boolean): Session {
  const clientOptions: FarolClientOptions = { baseUrl: hubUrl(), token };
  return { token, via: 'token', remembered, clientOptions, client: createFarolClient(clientOptions) };
}

function makeCookieSession(csrfToken: string | null): Session {
  const clientOptions = cookieSessionOptions(hubUrl(), csrfToken);
  return { token: '', via: 'cookie', remembered: false, clientOptions, client: createFarolClient(clientOptions) };
}

function storedSession(): Session | null {
  const inTab = readStored('session', TOKEN_KEY);
  if (inTab) return makeSession(inTab, false);
  const remembered = readStored('local', TOKEN_KEY);
  return remembered ? makeSession(remembered, true) : null;
}

export function isAuthFailure(error: unknown): boolean {
  return error instanceof FarolApiError && error.isAuthFailure;
}

/**
 * Holds the operator's token (until accounts exist, issue #6, the admin API token): in
 * sessionStorage, or localStorage when remembered. Any 401 from the hub ends the session.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [session, setSession] = useState<Session | null>(storedSession);
  const [endedBecause, setEndedBecause] = useState<SignOutReason | null>(null);
  const [restoring, setRestoring] = useState(() => storedSession() === null);
  // signOut reads the session being ended without changing identity on every sign-in.
  const sessionRef = useRef(session);
  useEffect(() => {
    sessionRef.current = session;
  }, [session]);

  useEffect(() => {
    if (!restoring) return;
    void resumeCookieSession(hubUrl()).then((alive) => {
      // No token: Authorization is not sent, the cookie is.
      if (alive) setSession(makeCookieSession(alive.csrfToken));
      setRestoring(false);
    });
  }, [restoring]);

  const signOut = useCallback(
    (reason?: SignOutReason) => {
      writeStored('session', TOKEN_KEY, null);
      writeStored('local', TOKEN_KEY, null);
      const ending = sessionRef.current;
      if (ending?.via === 'cookie') endCookieSession(ending.clientOptions).catch((error: unknown) => console.warn('farol: signing out on the hub failed', error));
      setSession(null);
      setEndedBecause(reason ?? null);
      queryClient.clear();
    },
    [queryClient],
  );

  const signIn = useCallback(async (token: string, remember: boolean) => {
    const candidate = makeSession(token.trim(), remember);
    await candidate.client.me();
    writeStored(remember ? 'local' : 'session', TOKEN_KEY, candidate.token);
    writeStored(remember ? 'session' : 'local', TOKEN_KEY, null);
    setEndedBecause(null);
    setSession(candidate);
  }, []);

  const signInWithPassword = useCallback(async (input: Omit<LoginRequestInput, 'issue'>) => {
    const candidate = makeCookieSession(await startCookieSession(hubUrl(), input));
    await candidate.client.me();
    setEndedBecause(null);
    setSession(candidate);
  }, []);

  // A token revoked or rotated while signed in: every query and mutation reports 401.
  useEffect(() => {
    if (!session) return;
    const onError = (error: unknown) => {
      if (isAuthFailure(error)) signOut('expired');
    };
    const unsubscribeQueries = queryClient.getQueryCache().subscribe((event) => {
      if (event.type === 'updated' && event.action.type === 'error') onError(event.action.error);
    });
    const unsubscribeMutations = queryClient.getMutationCache().subscribe((event) => {
      if (event.type === 'updated' && event.action.type === 'error') onError(event.action.error);
    });
    return () => {
      unsubscribeQueries();
      unsubscribeMutations();
    };
  }, [queryClient, session, signOut]);

  const value = useMemo(() => ({ session, endedBecause, signIn, signInWithPassword, restoring, signOut }), [session, endedBecause, signIn, signInWithPassword, restoring, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const context = useContext(SessionContext);
  if (!context) throw new Error('useSession outside SessionProvider');
  return context;
}

/** The signed-in session; only for components rendered behind the sign-in gate. */
export function useSignedIn(): Session {
  const { session } = useSession();
  if (!session) throw new Error('useSignedIn without a session');
  return session;
}
