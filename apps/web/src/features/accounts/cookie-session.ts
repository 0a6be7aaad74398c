import { createAccountsClient } from '@farol/client';
import { CSRF_HEADER, type LoginRequestInput } from '@farol/protocol';

/**
 * The dashboard's browser session (issue #6): an HttpOnly, SameSite=Strict cookie the page
 * cannot read, plus a CSRF token the page keeps in memory only and sends as X-CSRF-Token on
 * unsafe requests to its own hub. Every @farol/client call goes through `globalThis.fetch`, so
 * one wrapper covers them all.
 */
let csrfToken: string | null = null;
let pageFetch: typeof fetch | null = null;

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function rememberCsrf(token: string | null): void {
  csrfToken = token;
  if (token === null || pageFetch !== null) return;
  const original = globalThis.fetch.bind(globalThis);
  pageFetch = original;
  globalThis.fetch = (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const url = new URL(input instanceof Request ? input.url : String(input), window.location.href);
    if (csrfToken === null || !UNSAFE.has(method) || url.origin !== window.location.origin) return original(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set(CSRF_HEADER, csrfToken);
    return original(input, { ...init, headers });
  };
}

const accounts = () => createAccountsClient({ baseUrl: window.location.origin });

/** Signs in with a password; the hub sets the cookie. */
export async function startCookieSession(input: Omit<LoginRequestInput, 'issue'>): Promise<void> {
  const result = await accounts().login({ ...input, issue: 'session' });
  rememberCsrf(result.csrfToken);
}

/** After a reload: is there a live cookie session? (The cookie is invisible to scripts; ask the hub.) */
export async function resumeCookieSession(): Promise<boolean> {
  try {
    const info = await accounts().session();
    if (info.principal.via !== 'session') return false;
    rememberCsrf(info.csrfToken);
    return true;
  } catch (error) {
    // 401 is the common case (nobody signed in); anything else also means "show the sign-in page".
    if (!(error instanceof Error)) throw error;
    return false;
  }
}

/** Ends the session on the hub (the cookie is cleared by the answer) and forgets the CSRF token. */
export async function endCookieSession(): Promise<void> {
  if (csrfToken === null) return;
  try {
    await accounts().logout();
  } finally {
    csrfToken = null;
  }
}

export const hasCookieSession = (): boolean => csrfToken !== null;
