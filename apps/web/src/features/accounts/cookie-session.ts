import { createAccountsClient, type FarolClientOptions, type HttpMethod } from '@farol/client';
import { CSRF_HEADER, type LoginRequestInput } from '@farol/protocol';

/**
 * The dashboard's browser session (issue #6): an HttpOnly, SameSite=Strict cookie the page
 * cannot read, plus a CSRF token the page keeps in memory only (in its session state) and sends
 * as X-CSRF-Token on unsafe requests. Nothing here is module state and nothing patches
 * `fetch`: every client of the session is built from {@link cookieSessionOptions} (issue #21).
 */

const UNSAFE: ReadonlySet<HttpMethod> = new Set<HttpMethod>(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Client options for a cookie session: no bearer token, the cookie, and the CSRF token on unsafe methods. */
export function cookieSessionOptions(baseUrl: string, csrfToken: string | null): FarolClientOptions {
  return {
    baseUrl,
    credentials: 'same-origin',
    headers: (method): Record<string, string> => (csrfToken !== null && UNSAFE.has(method) ? { [CSRF_HEADER]: csrfToken } : {}),
  };
}

/** Signs in with a password; the hub sets the cookie. Returns the session's CSRF token. */
export async function startCookieSession(baseUrl: string, input: Omit<LoginRequestInput, 'issue'>): Promise<string | null> {
  const result = await createAccountsClient(cookieSessionOptions(baseUrl, null)).login({ ...input, issue: 'session' });
  return result.csrfToken;
}

/**
 * After a reload: is there a live cookie session? (The cookie is invisible to scripts; ask the
 * hub.) Returns its CSRF token, or null when nobody is signed in.
 */
export async function resumeCookieSession(baseUrl: string): Promise<{ csrfToken: string | null } | null> {
  try {
    const info = await createAccountsClient(cookieSessionOptions(baseUrl, null)).session();
    return info.principal.via === 'session' ? { csrfToken: info.csrfToken } : null;
  } catch (error) {
    // 401 is the common case (nobody signed in); anything else also means "show the sign-in page".
    if (!(error instanceof Error)) throw error;
    return null;
  }
}

/** Ends the session on the hub; the cookie is cleared by the answer. */
export async function endCookieSession(options: FarolClientOptions): Promise<void> {
  await createAccountsClient(options).logout();
}
