import * as client from 'openid-client';
import { FarolError, type SsoErrorReason } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import { claimValues, grantFor, hasClaim, type OidcRoleRule } from './oidc-role-map.js';
import { SsoRefusedError, type SsoIdentity, type SsoUsers } from './sso-users.service.js';

/** Single sign-on as configured (FAROL_OIDC_*), checked at start (oidc-settings.ts). */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** null: a public client, PKCE only. */
  clientSecret: string | null;
  redirectUrl: string;
  scopes: string;
  /** Shown as "Sign in with <name>". */
  name: string;
  roleClaim: string;
  usernameClaim: string;
  roleMap: OidcRoleRule[];
}

/** The flow cookie: the login's secrets, sealed with the hub's key, for the callback (several hubs: no shared memory needed). */
export const OIDC_FLOW_COOKIE = 'farol_oidc';
/** How long a person may take at the provider between the login redirect and the callback. */
export const OIDC_FLOW_MAX_MS = 10 * 60_000;
/**
 * `auth_time` of a step-up may be this much older than the step-up's start: clock skew between
 * hub and provider, and `auth_time` counts whole seconds. Anything older is a provider session
 * reused without asking the person again.
 */
const STEP_UP_SKEW_MS = 5_000;
const FLOW_CONTEXT = 'oidc.flow';

interface FlowState {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  startedAt: number;
  /** A step-up: the session (and its user) to give a fresh second factor. */
  stepUp: { sessionId: string; userId: string } | null;
}

/** A single sign-on that did not end signed in, with the reason the sign-in page explains. */
export class OidcFlowError extends FarolError {
  constructor(
    readonly reason: SsoErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(reason === 'unavailable' ? 'unavailable' : reason === 'expired' ? 'bad_request' : reason === 'failed' || reason === 'disabled' ? 'unauthorized' : 'forbidden', message, options);
  }
}

/** Where to go back to after signing in: a path on this hub only (never `//host` or a full URL). */
export function safeReturnTo(value: string | undefined): string {
  return value !== undefined && value.length <= 512 && /^\/(?![/\\])[^\s\\]*$/.test(value) ? value : '/';
}

/**
 * OpenID Connect single sign-on (issue #20) with openid-client: discovery, the authorization
 * code flow with PKCE, state and nonce, and every ID-token check (signature against the
 * provider's published keys — also for tokens from the token endpoint — issuer, audience,
 * expiry, nonce, and `auth_time` for a step-up). The provider is discovered on first use and
 * again after a failure, so a provider that is down does not stop the hub.
 */
export function createOidcService({
  settings,
  sso,
  secretBox,
  clock,
  logger,
}: {
  settings: OidcSettings;
  sso: SsoUsers;
  secretBox: SecretBox;
  clock: Clock;
  logger: Logger;
}) {
  let discovered: Promise<client.Configuration> | null = null;
  const issuerUrl = new URL(settings.issuer);
  const insecure = issuerUrl.protocol === 'http:';
  const scope = settings.scopes.split(' ').includes('openid') ? settings.scopes : `openid ${settings.scopes}`;

  function configuration(): Promise<client.Configuration> {
    discovered ??= client
      .discovery(issuerUrl, settings.clientId, settings.clientSecret ?? undefined, settings.clientSecret === null ? client.None() : undefined, {
        // Plain http is allowed by the config only for a provider on loopback (config.ts).
        execute: [...(insecure ? [client.allowInsecureRequests] : []), client.enableNonRepudiationChecks],
        timeout: 10,
      })
      .catch((error: unknown) => {
        discovered = null;
        logger.warn({ err: error, issuer: settings.issuer }, 'single sign-on: the provider could not be discovered');
        throw new OidcFlowError('unavailable', 'the single sign-on provider cannot be reached; try again, or sign in with an API token', { cause: error });
      });
    return discovered;
  }

  function sealFlow(flow: FlowState): string {
    return secretBox.seal(JSON.stringify(flow), FLOW_CONTEXT);
  }

  function openFlow(sealed: string | undefined): FlowState {
    if (!sealed) throw new OidcFlowError('expired', 'the sign-in was not started in this browser, or took too long; start again');
    let flow: FlowState;
    try {
      flow = JSON.parse(secretBox.open(sealed, FLOW_CONTEXT)) as FlowState;
    } catch (error) {
      throw new OidcFlowError('expired', 'the sign-in was not started in this browser, or took too long; start again', { cause: error });
    }
    if (clock.now() - flow.startedAt > OIDC_FLOW_MAX_MS) throw new OidcFlowError('expired', 'the sign-in took too long; start again');
    return flow;
  }

  /** The identity and the grant of a validated ID token (plus userinfo when the role claim is not in it). */
  async function identityOf(config: client.Configuration, tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>) {
    const idClaims = tokens.claims();
    if (!idClaims) throw new OidcFlowError('failed', 'the provider sent no ID token');
    let claims: Record<string, unknown> = { ...idClaims };
    if (!hasClaim(claims, settings.roleClaim) && config.serverMetadata().userinfo_endpoint) {
      try {
        // The userinfo answer must be about the same subject (openid-client checks it).
        claims = { ...(await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)), ...claims };
      } catch (error) {
        logger.warn({ err: error, issuer: settings.issuer }, 'single sign-on: userinfo could not be read; the role claim is taken from the ID token only');
      }
    }
    const text = (name: string): string | undefined => (typeof claims[name] === 'string' && claims[name] !== '' ? (claims[name] as string) : undefined);
    const identity: SsoIdentity = { issuer: idClaims.iss, subject: idClaims.sub, usernameHint: text(settings.usernameClaim) ?? text('email') ?? idClaims.sub };
    const grant = grantFor(settings.roleMap, claimValues(claims, settings.roleClaim));
    const authTime = typeof idClaims.auth_time === 'number' ? idClaims.auth_time * 1000 : null;
    return { identity, grant, authTime };
  }

  return {
    name: settings.name,

    /**
     * The redirect to the provider and the sealed flow cookie. A step-up (the session of a
     * single sign-on user) asks the provider to authenticate again (`prompt=login`,
     * `max_age=0`) and is only accepted back with a fresh `auth_time`.
     */
    async start({ returnTo, stepUp }: { returnTo: string; stepUp: { sessionId: string; userId: string } | null }): Promise<{ redirect: string; flowCookie: string }> {
      const config = await configuration();
      const flow: FlowState = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        verifier: client.randomPKCECodeVerifier(),
        returnTo: safeReturnTo(returnTo),
        startedAt: clock.now(),
        stepUp,
      };
      const parameters: Record<string, string> = {
        redirect_uri: settings.redirectUrl,
        scope,
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
        code_challenge_method: 'S256',
      };
      if (stepUp) Object.assign(parameters, { prompt: 'login', max_age: '0' });
      return { redirect: client.buildAuthorizationUrl(config, parameters).href, flowCookie: sealFlow(flow) };
    },

    /**
     * The provider's redirect back: `query` is the callback's query string as received. Signs
     * in (a new session cookie) or steps up the flow's session. Throws {@link OidcFlowError}
     * (with the reason the sign-in page shows) for anything else.
     */
    async finish({ flowCookie, query, ip }: { flowCookie: string | undefined; query: string; ip: string }): Promise<{ returnTo: string; cookie: string | null }> {
      const flow = openFlow(flowCookie);
      const config = await configuration();
      const currentUrl = new URL(settings.redirectUrl);
      currentUrl.search = query;
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
          ...(flow.stepUp ? { maxAge: Math.ceil((clock.now() - flow.startedAt + STEP_UP_SKEW_MS) / 1000) } : {}),
        });
      } catch (error) {
        // The provider's own words stay in the log: the page says only that it did not work.
        logger.warn({ err: error, issuer: settings.issuer, ip }, 'single sign-on: the provider\'s answer was refused');
        throw new OidcFlowError('failed', 'the single sign-on did not succeed; start again', { cause: error });
      }
      const { identity, grant, authTime } = await identityOf(config, tokens);
      try {
        if (flow.stepUp) {
          if (authTime === null || authTime < flow.startedAt - STEP_UP_SKEW_MS) {
            throw new OidcFlowError('failed', 'the provider did not ask you to sign in again, so this is not a fresh second factor');
          }
          await sso.stepUp(flow.stepUp, identity, grant, { ip });
          return { returnTo: flow.returnTo, cookie: null };
        }
        const { cookie } = await sso.signIn(identity, grant, { ip, authTime });
        return { returnTo: flow.returnTo, cookie };
      } catch (error) {
        if (error instanceof SsoRefusedError) throw new OidcFlowError(error.reason, error.message, { cause: error });
        throw error;
      }
    },
  };
}
export type OidcService = ReturnType<typeof createOidcService>;
