import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID Connect provider on loopback for the single sign-on tests (issue #20): the
 * `oidc-provider` package with its development login and consent pages, one confidential
 * client, and a test account store whose people carry a `groups` claim the tests change.
 *
 * The provider sits behind a small proxy that is its issuer URL: everything passes through
 * unchanged, unless a test sets `tamper`, when the proxy plays a man in the middle on the
 * token endpoint's answer (the ID token the hub receives) or on the authorization request
 * (dropping the re-authentication a step-up asks for). The proxy also publishes a second
 * signing key (`trustedKey`), so a token re-signed with it passes the signature check and only
 * the claim under test can refuse it.
 */
export interface TestPerson {
  groups: string[];
  email?: string;
  preferred_username?: string;
}

export type Tamper =
  /** One byte of the ID token's signature changed. */
  | 'signature'
  /** Re-signed with a key the provider never published. */
  | 'unknown-key'
  /** Re-signed with the published second key, claims unchanged (the control: accepted). */
  | 'resigned'
  /** Re-signed with the published second key, with a claim changed. */
  | 'audience'
  | 'nonce'
  | 'issuer'
  | 'expired'
  /** The groups claim rewritten to grant admin, signature left as it was. */
  | 'groups-unsigned'
  /** Re-signed with the published second key without the groups claim: only userinfo has it. */
  | 'groups-only-in-userinfo'
  /** The authorization request loses `prompt` and `max_age`: no re-authentication at the provider. */
  | 'no-reauth';

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  people: Map<string, TestPerson>;
  tamper: Tamper | null;
  /** Authorization requests as they reached the provider (after any tampering). */
  authorizationRequests: URL[];
  close(): Promise<void>;
}

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

async function signedWith(privateKey: PrivateKey, kid: string, claims: Record<string, unknown>): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey);
}

export async function startTestOidcProvider({ redirectUri, people }: { redirectUri: string; people: Record<string, TestPerson> }): Promise<TestOidcProvider> {
  const providerKey = await generateKeyPair('RS256', { extractable: true });
  const trusted = await generateKeyPair('RS256', { extractable: true });
  const stranger = await generateKeyPair('RS256', { extractable: true });
  const providerJwk: JWK = { ...(await exportJWK(providerKey.privateKey)), kid: 'provider', alg: 'RS256', use: 'sig' };
  const trustedPublic: JWK = { ...(await exportJWK(trusted.publicKey)), kid: 'second', alg: 'RS256', use: 'sig' };

  const front = createServer();
  const frontPort = await listen(front);
  const issuer = `http://127.0.0.1:${frontPort}`;
  const store = new Map(Object.entries(people));
  const clientId = 'farol';
  const clientSecret = 'a-client-secret-for-the-test-provider';

  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post', require_auth_time: true }],
    jwks: { keys: [providerJwk] },
    cookies: { keys: ['a-cookie-key-for-the-test-provider'] },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'email', 'groups'],
    // The groups go into the ID token (Authentik and Keycloak do the same with a mapper).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    findAccount: async (_context: unknown, id: string) => {
      const person = store.get(id);
      if (!person) return undefined;
      return { accountId: id, claims: () => ({ sub: id, email: person.email ?? `${id}@example.test`, preferred_username: person.preferred_username ?? id, groups: [...person.groups] }) };
    },
  });
  // The development pages warn on every start; the tests know.
  provider.on('server_error', (_context: unknown, error: unknown) => console.error('test OIDC provider error', error));
  const inner = createServer(provider.callback());
  const innerPort = await listen(inner);

  const fixture: TestOidcProvider = { issuer, clientId, clientSecret, people: store, tamper: null, authorizationRequests: [], close: async () => {} };

  async function tamperIdToken(idToken: string): Promise<string> {
    const [header, payload, signature] = idToken.split('.') as [string, string, string];
    const claims = decodeJwt(idToken) as Record<string, unknown>;
    switch (fixture.tamper) {
      case 'signature': {
        const bytes = Buffer.from(signature, 'base64url');
        bytes[10] = bytes[10]! ^ 0xff;
        return `${header}.${payload}.${bytes.toString('base64url')}`;
      }
      case 'groups-unsigned':
        return `${header}.${Buffer.from(JSON.stringify({ ...claims, groups: ['farol-admins'] })).toString('base64url')}.${signature}`;
      case 'unknown-key':
        return signedWith(stranger.privateKey, decodeProtectedHeader(idToken).kid ?? 'provider', claims);
      case 'resigned':
        return signedWith(trusted.privateKey, 'second', claims);
      case 'groups-only-in-userinfo': {
        const { groups: _groups, ...rest } = claims;
        return signedWith(trusted.privateKey, 'second', rest);
      }
      case 'audience':
        return signedWith(trusted.privateKey, 'second', { ...claims, aud: 'another-client' });
      case 'nonce':
        return signedWith(trusted.privateKey, 'second', { ...claims, nonce: 'a-nonce-of-another-sign-in' });
      case 'issuer':
        return signedWith(trusted.privateKey, 'second', { ...claims, iss: 'http://127.0.0.1:1' });
      case 'expired':
        return signedWith(trusted.privateKey, 'second', { ...claims, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 });
      default:
        return idToken;
    }
  }

  /** Passes a request on to the provider; `rewrite` may change the answer's body. */
  function forward(req: IncomingMessage, res: ServerResponse, path: string, rewrite?: (body: Buffer) => Promise<Buffer>): void {
    const upstream = httpRequest({ host: '127.0.0.1', port: innerPort, method: req.method, path, headers: { ...req.headers, host: `127.0.0.1:${frontPort}` } }, (answer) => {
      if (!rewrite) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        void rewrite(Buffer.concat(chunks)).then(
          (body) => {
            const headers = { ...answer.headers, 'content-length': String(body.length) };
            delete headers['content-encoding'];
            res.writeHead(answer.statusCode ?? 502, headers);
            res.end(body);
          },
          (error: unknown) => {
            res.writeHead(500);
            res.end(String(error));
          },
        );
      });
    });
    upstream.on('error', (error) => {
      res.writeHead(502);
      res.end(String(error));
    });
    req.pipe(upstream);
  }

  front.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/auth') {
      if (fixture.tamper === 'no-reauth') {
        url.searchParams.delete('prompt');
        url.searchParams.delete('max_age');
      }
      fixture.authorizationRequests.push(new URL(url));
      forward(req, res, `${url.pathname}${url.search}`);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/jwks') {
      forward(req, res, req.url ?? '/', async (body) => {
        const set = JSON.parse(body.toString('utf8')) as { keys: JWK[] };
        return Buffer.from(JSON.stringify({ keys: [...set.keys, trustedPublic] }));
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token' && fixture.tamper !== null && fixture.tamper !== 'no-reauth') {
      forward(req, res, req.url ?? '/', async (body) => {
        const answer = JSON.parse(body.toString('utf8')) as { id_token?: string };
        if (answer.id_token) answer.id_token = await tamperIdToken(answer.id_token);
        return Buffer.from(JSON.stringify(answer));
      });
      return;
    }
    forward(req, res, req.url ?? '/');
  });

  fixture.close = async () => {
    front.closeAllConnections();
    inner.closeAllConnections();
    await Promise.all([new Promise((resolve) => front.close(resolve)), new Promise((resolve) => inner.close(resolve))]);
  };
  return fixture;
}

/** A cookie jar of name → value (paths ignored: each test talks to one hub and one provider). */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';', 1) as [string];
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * Walks the provider's development pages without a browser: follows redirects on the
 * provider, signs in as `login`, consents, and returns the hub callback URL the provider
 * redirected to (with `code`, `state` and `iss`).
 */
export async function passProviderPages(start: string, login: string, providerJar: CookieJar): Promise<string> {
  let url = start;
  for (let step = 0; step < 20; step++) {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: providerJar.header() } });
    providerJar.take(response);
    const location = response.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.pathname.endsWith('/api/auth/oidc/callback')) return next.href;
      url = next.href;
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`provider answered ${response.status}: ${html.slice(0, 300)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`unexpected provider page: ${html.slice(0, 300)}`);
    const form = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'any password' } : { prompt });
    const submitted = await fetch(new URL(action.replaceAll('&amp;', '&'), url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: providerJar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    providerJar.take(submitted);
    const after = submitted.headers.get('location');
    if (!after) throw new Error(`provider did not redirect after ${prompt}: ${submitted.status} ${(await submitted.text()).slice(0, 300)}`);
    url = new URL(after, url).href;
  }
  throw new Error('the provider pages did not end at the hub callback');
}
