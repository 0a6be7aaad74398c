import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';
import { OidcRoleMapError } from './oidc-role-map.js';
import { loadOidcSettings, oidcRoleProblems } from './oidc-settings.js';

const dir = mkdtempSync(path.join(tmpdir(), 'farol-oidc-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = {
  FAROL_OIDC_ISSUER: 'https://auth.example.com/application/o/farol/',
  FAROL_OIDC_CLIENT_ID: 'farol',
  FAROL_OIDC_CLIENT_SECRET: 'shh',
  FAROL_PUBLIC_URL: 'https://farol.example.com/',
  FAROL_OIDC_ROLE_MAP: '[{"match":"farol-admins","role":"admin"}]',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('single sign-on configuration (issue #20)', () => {
  it('is off unless an issuer is set, and password sign-in is on by default', () => {
    const config = loadConfig({});
    expect(loadOidcSettings(config)).toBeNull();
    expect(config.localSignIn).toBe('on');
  });

  it('derives the redirect URL from FAROL_PUBLIC_URL, the button name from the issuer', () => {
    const settings = loadOidcSettings(loadConfig(BASE))!;
    expect(settings).toMatchObject({
      issuer: BASE.FAROL_OIDC_ISSUER,
      clientId: 'farol',
      clientSecret: 'shh',
      redirectUrl: 'https://farol.example.com/api/auth/oidc/callback',
      scopes: 'openid profile email',
      name: 'auth.example.com',
      roleClaim: 'groups',
      usernameClaim: 'preferred_username',
      roleMap: [{ match: 'farol-admins', role: 'admin', scope: null }],
    });
    const named = loadOidcSettings(loadConfig({ ...BASE, FAROL_OIDC_REDIRECT_URL: 'https://sso.example.com/cb', FAROL_OIDC_NAME: 'Authentik', FAROL_OIDC_ROLE_CLAIM: 'realm_access.roles' }))!;
    expect(named).toMatchObject({ redirectUrl: 'https://sso.example.com/cb', name: 'Authentik', roleClaim: 'realm_access.roles' });
  });

  it('reads the client secret and the mapping from files', () => {
    writeFileSync(path.join(dir, 'secret'), 'from-a-file\n');
    writeFileSync(path.join(dir, 'map.yaml'), '- match: ops\n  role: operator\n  scope: env=prod\n');
    const { FAROL_OIDC_CLIENT_SECRET: _secret, FAROL_OIDC_ROLE_MAP: _map, ...rest } = BASE;
    const settings = loadOidcSettings(loadConfig({ ...rest, FAROL_OIDC_CLIENT_SECRET_FILE: path.join(dir, 'secret'), FAROL_OIDC_ROLE_MAP_FILE: path.join(dir, 'map.yaml') }))!;
    expect(settings.clientSecret).toBe('from-a-file');
    expect(settings.roleMap).toEqual([{ match: 'ops', role: 'operator', scope: 'env=prod' }]);
    // No secret at all: a public client (PKCE only).
    expect(loadOidcSettings(loadConfig({ ...rest, FAROL_OIDC_ROLE_MAP: BASE.FAROL_OIDC_ROLE_MAP }))!.clientSecret).toBeNull();
  });

  it('names every missing or conflicting setting at once', () => {
    expect(problemsOf({ FAROL_OIDC_ISSUER: 'http://idp.example.com/', FAROL_OIDC_CLIENT_SECRET: 'a', FAROL_OIDC_CLIENT_SECRET_FILE: '/nonexistent/secret' })).toEqual([
      expect.stringMatching(/^FAROL_OIDC_ISSUER: use https/),
      'FAROL_OIDC_ISSUER needs FAROL_OIDC_CLIENT_ID',
      'FAROL_OIDC_CLIENT_SECRET and FAROL_OIDC_CLIENT_SECRET_FILE: set one, not both',
      'FAROL_OIDC_CLIENT_SECRET_FILE: no file /nonexistent/secret',
      expect.stringMatching(/needs FAROL_OIDC_REDIRECT_URL or FAROL_PUBLIC_URL/),
      expect.stringMatching(/needs the role mapping/),
    ]);
    expect(problemsOf({ FAROL_LOCAL_SIGNIN: 'off' })).toEqual([expect.stringMatching(/^FAROL_LOCAL_SIGNIN=off needs single sign-on/)]);
    expect(problemsOf({ FAROL_LOCAL_SIGNIN: 'no' })[0]).toMatch(/^FAROL_LOCAL_SIGNIN/);
    // Plain http only for a provider on loopback.
    expect(problemsOf({ ...BASE, FAROL_OIDC_ISSUER: 'http://127.0.0.1:9000' })).toEqual([]);
  });

  it('stops on a bad mapping, listing each problem, and on a role the hub does not have', () => {
    const bad = loadConfig({ ...BASE, FAROL_OIDC_ROLE_MAP: '[{"match":"a","role":"admin","scope":"env=="},{"role":"viewer"}]' });
    let problems: string[] = [];
    try {
      loadOidcSettings(bad);
    } catch (error) {
      expect(error).toBeInstanceOf(OidcRoleMapError);
      problems = (error as OidcRoleMapError).problems;
    }
    expect(problems).toEqual([expect.stringMatching(/^FAROL_OIDC_ROLE_MAP \[0\.scope\]/), expect.stringMatching(/^FAROL_OIDC_ROLE_MAP \[1\.match\]/)]);
    const unknown = loadOidcSettings(loadConfig({ ...BASE, FAROL_OIDC_ROLE_MAP: '[{"match":"a","role":"auditors"}]' }))!;
    expect(oidcRoleProblems(unknown, (name) => ['viewer', 'operator', 'admin'].includes(name))).toEqual([expect.stringMatching(/\[0\.role\]: no role auditors/)]);
  });
});
