import { describe, expect, it } from 'vitest';
import { singleSignOnUrl, takeSsoError } from './sign-in-methods.js';

function fakeLocation(url: string): { location: Location; history: History; replaced: () => string | undefined } {
  const parsed = new URL(url);
  let replaced: string | undefined;
  const location = { pathname: parsed.pathname, search: parsed.search, hash: parsed.hash } as Location;
  const history = { state: null, replaceState: (_state: unknown, _title: string, next: string) => void (replaced = next) } as unknown as History;
  return { location, history, replaced: () => replaced };
}

describe('single sign-on on the sign-in page (issue #20)', () => {
  it('reads the reason once and cleans the address bar', () => {
    const at = fakeLocation('https://hub.example/?sso_error=refused&x=1#top');
    expect(takeSsoError(at.location, at.history)).toBe('refused');
    expect(at.replaced()).toBe('/?x=1#top');
  });

  it('shows an unknown reason as a plain failure, and nothing when there is none', () => {
    const odd = fakeLocation('https://hub.example/?sso_error=%3Cscript%3E');
    expect(takeSsoError(odd.location, odd.history)).toBe('failed');
    const none = fakeLocation('https://hub.example/machines');
    expect(takeSsoError(none.location, none.history)).toBeNull();
    expect(none.replaced()).toBeUndefined();
  });

  it('builds the login and step-up addresses', () => {
    expect(singleSignOnUrl('/api/auth/oidc/login')).toBe('/api/auth/oidc/login');
    expect(singleSignOnUrl('/api/auth/oidc/login', { returnTo: '/' })).toBe('/api/auth/oidc/login');
    expect(singleSignOnUrl('/api/auth/oidc/login', { returnTo: '/machines/web-1', stepUp: true })).toBe('/api/auth/oidc/login?stepUp=true&returnTo=%2Fmachines%2Fweb-1');
  });
});
