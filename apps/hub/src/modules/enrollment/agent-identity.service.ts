import { decodeJwt, errors as joseErrors, importJWK, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import {
  AGENT_TOKEN_AUDIENCE,
  AGENT_TOKEN_MAX_LIFETIME_SECONDS,
  FarolError,
  HUB_PROOF_ISSUER,
  type Ed25519PublicJwk,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { HubKey } from '../../infra/hub-key.js';
import { createMemorySharedCache, type SharedCache } from '../../infra/shared-cache.js';
import { isStorageFailure } from '../../infra/storage-health.js';
import type { AgentRecord, MachineLookup } from '../agents/machines.js';

/** Clock skew tolerated between an agent and the hub, in seconds. */
const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * Proves agents to the hub and the hub to agents. An agent connects with a JWT signed by its
 * own key (≤ 60 s lifetime, unique jti); the hub answers the agent's challenge with a JWS by
 * the hub key that the agent pinned at enrollment.
 */
export function createAgentIdentityService({
  agents,
  hubKey,
  clock,
  seen = createMemorySharedCache(clock),
}: {
  agents: Pick<MachineLookup, 'findById' | 'wasDeleted'>;
  hubKey: HubKey;
  clock: Clock;
  /** Used jtis, claimed for as long as the token could be valid: shared by every hub (issue #14). */
  seen?: SharedCache;
}) {
  // Imported at each connection rather than cached: connections are rare, and 10,000 cached
  // key objects would cost more memory than the import costs time.
  async function publicKeyOf(agent: AgentRecord): Promise<CryptoKey> {
    const jwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: agent.publicKey };
    return (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  }

  return {
    /**
     * Verifies an agent connect token and returns the agent it proves. The id comes from the
     * verified token only. Throws FarolError with token_* / agent_* codes.
     */
    async verifyConnectToken(token: string): Promise<AgentRecord> {
      let claimedId: unknown;
      try {
        claimedId = decodeJwt(token).sub;
      } catch (error) {
        throw new FarolError('token_invalid', 'the connect token is not a JWT', { cause: error });
      }
      if (typeof claimedId !== 'string' || claimedId.length > 64) throw new FarolError('token_invalid', 'the connect token has no subject');
      let agent: AgentRecord | undefined;
      try {
        agent = await agents.findById(claimedId);
      } catch (error) {
        // A database out of reach or a pool with no free connection (a reconnect storm): the
        // agent is told to come back, with its backoff, instead of being refused as a hub fault.
        if (isStorageFailure(error)) throw new FarolError('unavailable', 'the hub cannot look up this agent right now; try again', { cause: error });
        throw error;
      }
      if (!agent) {
        if (await agents.wasDeleted(claimedId)) {
          throw new FarolError('agent_deleted', 'this agent was removed from the hub; enroll again with a new join token');
        }
        throw new FarolError('agent_unknown', 'the hub does not know this agent; enroll it with a join token');
      }
      const now = clock.now();
      let payload;
      try {
        ({ payload } = await jwtVerify(token, await publicKeyOf(agent), {
          algorithms: ['EdDSA'],
          audience: AGENT_TOKEN_AUDIENCE,
          subject: agent.id,
          requiredClaims: ['iat', 'exp', 'jti'],
          currentDate: new Date(now),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        }));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw new FarolError('token_expired', 'the connect token has expired; check the agent clock', { cause: error });
        throw new FarolError('token_invalid', 'the connect token does not verify with this agent key', { cause: error });
      }
      const iat = payload.iat!;
      const exp = payload.exp!;
      if (exp - iat > AGENT_TOKEN_MAX_LIFETIME_SECONDS) {
        throw new FarolError('token_invalid', `connect tokens may live at most ${AGENT_TOKEN_MAX_LIFETIME_SECONDS} s`);
      }
      if (iat * 1000 > now + CLOCK_TOLERANCE_SECONDS * 1000) throw new FarolError('token_invalid', 'the connect token was issued in the future; check the agent clock');
      const jti = `jti:${agent.id}:${payload.jti!}`;
      let first: boolean;
      try {
        first = await seen.claimOnce(jti, (exp + CLOCK_TOLERANCE_SECONDS) * 1000 - now);
      } catch (error) {
        // Without the shared record of used tokens a replay cannot be told apart: refuse, the agent retries.
        throw new FarolError('unavailable', 'the hub cannot check this connect token right now; try again', { cause: error });
      }
      if (!first) throw new FarolError('token_replayed', 'this connect token was already used');
      return agent;
    },

    /** Signs the agent's challenge with the hub key. */
    async proveHub(agentId: string, challenge: string): Promise<string> {
      const nowSeconds = Math.floor(clock.now() / 1000);
      return new SignJWT({ nonce: challenge })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
        .setIssuer(HUB_PROOF_ISSUER)
        .setSubject(agentId)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + 60)
        .sign(hubKey.privateKey);
    },
  };
}
export type AgentIdentityService = ReturnType<typeof createAgentIdentityService>;
