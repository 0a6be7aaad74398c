import {
  FarolError,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  type EnrollRequest,
  type EnrollResponse,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { keyFingerprint, type HubKey } from '../../infra/hub-key.js';
import { randomId } from '../../infra/ids.js';
import type { Repositories, UnitOfWork } from '../../infra/repositories.js';
import type { JoinTokensService } from './join-tokens.service.js';

/** Turns a hostname into a valid, readable agent name. */
export function nameFromHostname(hostname: string): string {
  const cleaned = hostname
    .split('.')[0]!
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 50);
  return cleaned || 'machine';
}

async function uniqueName(repos: Repositories, base: string): Promise<string> {
  const taken = await repos.agents.namesStartingWith(base);
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/**
 * Enrollment: a join token plus the agent's own public key become an agent identity. Token
 * use and the new agent are one transaction, so a failed enrollment does not burn a use.
 */
export function createEnrollmentService({
  unitOfWork,
  joinTokens,
  hubKey,
  clock,
}: {
  unitOfWork: UnitOfWork;
  joinTokens: JoinTokensService;
  hubKey: HubKey;
  clock: Clock;
}) {
  return {
    async enroll(request: EnrollRequest): Promise<EnrollResponse> {
      if (request.protocolVersion < MIN_PROTOCOL_VERSION || request.protocolVersion > MAX_PROTOCOL_VERSION) {
        throw new FarolError(
          'protocol_version_unsupported',
          `this hub speaks protocol versions ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}; the agent speaks ${request.protocolVersion}`,
        );
      }
      const fingerprint = keyFingerprint(request.publicKey);
      const agent = await unitOfWork(async (repos) => {
        if (await repos.agents.isKeyRevoked(fingerprint)) {
          throw new FarolError('key_revoked', 'this key belonged to a removed agent; the agent must generate a new key');
        }
        const token = await joinTokens.consume(request.token, repos.joinTokens);
        const name = await uniqueName(repos, request.name ?? nameFromHostname(request.system.hostname));
        try {
          return await repos.agents.insert({
            id: randomId('ag'),
            name,
            hostname: request.system.hostname,
            publicKey: request.publicKey.x,
            keyFingerprint: fingerprint,
            labels: token.labels,
            system: request.system,
            createdAt: clock.now(),
            joinTokenId: token.id,
          });
        } catch (error) {
          if (String(error).includes('key_fingerprint')) throw new FarolError('conflict', 'an agent with this key is already enrolled', { cause: error });
          throw error;
        }
      });
      return {
        agentId: agent.id,
        name: agent.name,
        labels: agent.labels,
        hubPublicKey: hubKey.publicJwk,
        hubKeyFingerprint: hubKey.fingerprint,
      };
    },
  };
}
export type EnrollmentService = ReturnType<typeof createEnrollmentService>;
