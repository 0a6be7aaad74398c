import {
  FarolError,
  isIdShaped,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  type EnrollRequest,
  type EnrollResponse,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { keyFingerprint, type HubKey } from '../../infra/hub-key.js';
import { randomId } from '../../infra/ids.js';
import type { Repositories, UnitOfWork } from '../repositories.js';
import type { AuditInput, AuditService } from '../audit/audit.service.js';
import type { JoinTokensService } from './join-tokens.service.js';

/** Turns a hostname into a valid, readable agent name. */
export function nameFromHostname(hostname: string): string {
  const cleaned = hostname
    .split('.')[0]!
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 50);
  // A host named like an id (`ag_…`) would pass for another machine in lists (#11).
  return cleaned && !isIdShaped(cleaned) ? cleaned : 'machine';
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
 * Runs at most `limit` tasks at once; the rest wait their turn in order (in memory, holding
 * nothing else).
 */
function createTurns(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      // The turn passes straight to the next waiter, so `running` never overshoots.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
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
  audit,
  maxConcurrent = 2,
}: {
  unitOfWork: UnitOfWork;
  joinTokens: JoinTokensService;
  hubKey: HubKey;
  clock: Clock;
  /** Issue #11: the new machine and its audit entry are committed together (main.ts wires it). */
  audit?: Pick<AuditService, 'transaction'>;
  /**
   * Enrollment transactions open at once on this hub. They queue on the join token's row and
   * the audit log's head anyway, and each holds a database connection while it waits: a fleet
   * enrolling at once would otherwise take the whole pool, and agents connecting or reporting
   * would time out waiting for a connection (issue #14).
   */
  maxConcurrent?: number;
}) {
  const inTurn = createTurns(maxConcurrent);
  // Without an audit log (unit tests), the same transaction without an entry.
  const transaction = <T>(work: (repos: Repositories, log: (entry: AuditInput) => void) => Promise<T>): Promise<T> =>
    inTurn(() => (audit ? audit.transaction(work) : unitOfWork((repos) => work(repos, () => undefined))));
  return {
    async enroll(request: EnrollRequest): Promise<EnrollResponse> {
      if (request.protocolVersion < MIN_PROTOCOL_VERSION || request.protocolVersion > MAX_PROTOCOL_VERSION) {
        throw new FarolError(
          'protocol_version_unsupported',
          `this hub speaks protocol versions ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}; the agent speaks ${request.protocolVersion}`,
        );
      }
      const fingerprint = keyFingerprint(request.publicKey);
      const agent = await transaction(async (repos, log) => {
        if (await repos.agents.isKeyRevoked(fingerprint)) {
          throw new FarolError('key_revoked', 'this key belonged to a removed agent; the agent must generate a new key');
        }
        // The token is checked first and its use taken last (below): the row lock that every
        // enrollment with this token queues on is held from there to the commit only.
        const token = await joinTokens.check(request.token, repos.joinTokens);
        const name = await uniqueName(repos, request.name ?? nameFromHostname(request.system.hostname));
        let inserted;
        try {
          inserted = await repos.agents.insert({
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
        await joinTokens.takeUse(token, repos.joinTokens);
        // The actor is the machine itself; the join token says who let it in.
        log({
          actor: `agent:${inserted.id}`,
          action: 'agent.enroll',
          agentId: inserted.id,
          details: { name: inserted.name, hostname: request.system.hostname, labels: inserted.labels, joinTokenId: token.id, keyFingerprint: fingerprint },
        });
        return inserted;
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
