import { createFarolClient } from '@farol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { cookieSessionOptions, startCookieSession } from './cookie-session.js';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** A fetch that records each request's method and CSRF header and answers from `answer`. */
function recordingFetch(answer: (url: string) => unknown) {
  const seen: Array<{ method: string; url: string; csrf: string | null; credentials: RequestCredentials | undefined }> = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = String(input);
    seen.push({ method: init?.method ?? 'GET', url, csrf: new Headers(init?.headers).get('x-csrf-token'), credentials: init?.credentials });
    const body = answer(url);
    return body === undefined ? new Response(null, { status: 204 }) : new Response(JSON.stringify(body), { status: 200 });
  };
  return { fetch, seen };
}

describe('cookie session', () => {
  it('sends the CSRF token on unsafe requests only, through the client options (#21)', async () => {
    const { fetch, seen } = recordingFetch((url) => (url.endsWith('/api/join-tokens') ? { tokens: [] } : undefined));
    const client = createFarolClient({ ...cookieSessionOptions('http://hub.test', 'csrf-1'), fetch });
    await client.listJoinTokens();
    await client.revokeJoinToken('jt_1');
    expect(seen.map(({ method, csrf, credentials }) => ({ method, csrf, credentials }))).toEqual([
      { method: 'GET', csrf: null, credentials: 'same-origin' },
      { method: 'DELETE', csrf: 'csrf-1', credentials: 'same-origin' },
    ]);
  });

  it('signs in without patching the global fetch (#21)', async () => {
    const principal = { kind: 'user', id: 'usr_1', name: 'admin', role: 'admin', permissions: ['nodes:read'], scope: null, via: 'session', tokenId: null, mfaEnabled: false, mfaAt: null };
    const { fetch, seen } = recordingFetch(() => ({ principal, csrfToken: 'csrf-2', token: null }));
    globalThis.fetch = fetch;
    await expect(startCookieSession('http://hub.test', { username: 'admin', password: 'pw' })).resolves.toBe('csrf-2');
    expect(globalThis.fetch).toBe(fetch);
    expect(seen).toEqual([{ method: 'POST', url: 'http://hub.test/api/auth/login', csrf: null, credentials: 'same-origin' }]);
  });
});
