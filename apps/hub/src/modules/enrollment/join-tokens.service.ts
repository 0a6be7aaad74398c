import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { FarolError, parseDuration, type JoinToken, type JoinTokenCreated, type JoinTokenCreateSchema, type Principal } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { labelsInScope, outsideScope } from '../auth/object-scope.js';
import { randomId } from '../../infra/ids.js';
import type { AuditService } from '../audit/audit.service.js';
import type { JoinTokenRecord, JoinTokensRepository } from './join-tokens.repository.js';

/** Where changes are recorded (main.ts always wires the audit log). */
type AuditRecorder = Pick<AuditService, 'record'>;

const DEFAULT_TTL_MS = parseDuration('24h');
const MAX_TTL_MS = parseDuration('365d');
const hash = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

export function toJoinToken(record: JoinTokenRecord, now: number): JoinToken {
  const state: JoinToken['state'] =
    record.revokedAt !== null ? 'revoked' : record.uses >= record.maxUses ? 'used_up' : record.expiresAt <= now ? 'expired' : 'active';
  const { secretHash: _hidden, ...rest } = record;
  return { ...rest, state };
}

/** Splits `jt_xxx.secret` into id and secret; undefined when it is not shaped like one. */
function splitToken(token: string): { id: string; secret: string } | undefined {
  const match = /^(jt_[a-z0-9]{12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/** Who manages join tokens: their role's label scope (issue #11) and name (the audit log's actor); omitted for the hub itself. */
type TokenActor = Pick<Principal, 'scope'> & { name?: string };
const UNSCOPED: TokenActor = { scope: null };
const actorName = (actor: TokenActor): string => actor.name ?? 'hub';

/**
 * One-time (or counted) join tokens for enrolling agents; only a hash of each secret is kept.
 * Issue #11: a scoped actor creates only tokens whose labels put machines inside their scope,
 * and lists and revokes only such tokens (object-scope.ts).
 */
export function createJoinTokensService({
  joinTokens,
  clock,
  audit,
  hubKeyFingerprint,
}: {
  joinTokens: JoinTokensRepository;
  clock: Clock;
  audit?: AuditRecorder;
  /** Returned with each new token so install lines can pin the hub key (ADR 0024). */
  hubKeyFingerprint?: string;
}) {
  return {
    async create(input: z.infer<typeof JoinTokenCreateSchema>, actor: TokenActor = UNSCOPED): Promise<JoinTokenCreated> {
      if (!labelsInScope(actor, input.labels ?? {})) {
        throw new FarolError('forbidden', `a join token must give labels inside your scope (${actor.scope ?? 'none'}); machines enrolled with it would be outside`);
      }
      const ttl = input.ttl ?? DEFAULT_TTL_MS;
      if (ttl <= 0 || ttl > MAX_TTL_MS) throw new FarolError('validation_failed', 'ttl must be between 1s and 365d');
      const now = clock.now();
      const id = randomId('jt', 12);
      const secret = randomBytes(32).toString('base64url');
      const record = await joinTokens.insert({
        id,
        secretHash: hash(secret),
        labels: input.labels ?? {},
        note: input.note ?? null,
        maxUses: input.uses ?? 1,
        createdAt: now,
        expiresAt: now + ttl,
      });
      // Issue #11: never the secret, only what it admits.
      await audit?.record({ actor: actorName(actor), action: 'join_token.create', details: { joinTokenId: id, labels: record.labels, maxUses: record.maxUses, expiresAt: record.expiresAt, note: record.note } });
      return { ...toJoinToken(record, now), token: `${id}.${secret}`, ...(hubKeyFingerprint ? { hubKeyFingerprint } : {}) };
    },

    async list(actor: TokenActor = UNSCOPED): Promise<JoinToken[]> {
      const now = clock.now();
      return (await joinTokens.list()).filter((r) => labelsInScope(actor, r.labels)).map((r) => toJoinToken(r, now));
    },

    async revoke(id: string, actor: TokenActor = UNSCOPED): Promise<void> {
      if (actor.scope !== null) {
        const token = await joinTokens.findById(id);
        if (token && !labelsInScope(actor, token.labels)) throw outsideScope(actor, 'this join token');
      }
      if (!(await joinTokens.revoke(id, clock.now()))) {
        const existing = await joinTokens.findById(id);
        if (!existing) throw new FarolError('not_found', `no join token ${id}`);
        // Already revoked: revoking again is a no-op, so the call stays idempotent.
        return;
      }
      await audit?.record({ actor: actorName(actor), action: 'join_token.revoke', details: { joinTokenId: id } });
    },

    /**
     * Checks a presented token and takes one use of it, within the caller's transaction
     * (`repo`). Throws with a code that says why it is refused.
     */
    async consume(token: string, repo: JoinTokensRepository = joinTokens): Promise<JoinTokenRecord> {
      const record = await this.check(token, repo);
      await this.takeUse(record, repo);
      return record;
    },

    /**
     * Checks a presented token without taking a use (no lock). Enrollment checks first and takes
     * the use last (`takeUse`), so the token's row is locked for the end of its transaction only:
     * every agent enrolling with one token queues on that row (issue #14).
     */
    async check(token: string, repo: JoinTokensRepository = joinTokens): Promise<JoinTokenRecord> {
      const parts = splitToken(token);
      if (!parts) throw new FarolError('token_invalid', 'that is not a Farol join token');
      const record = await repo.findById(parts.id);
      const presented = Buffer.from(hash(parts.secret));
      if (!record || !timingSafeEqual(presented, Buffer.from(record.secretHash))) {
        throw new FarolError('token_invalid', 'the join token is not valid');
      }
      const now = clock.now();
      if (record.revokedAt !== null) throw new FarolError('token_revoked', 'the join token was revoked');
      if (record.expiresAt <= now) throw new FarolError('token_expired', 'the join token has expired; create a new one with farol join-tokens create');
      if (record.uses >= record.maxUses) throw new FarolError('token_used_up', 'the join token has been used up; create a new one');
      return record;
    },

    /** Takes one use of a checked token, within the caller's transaction; refused if it was revoked, expired or used up meanwhile. */
    async takeUse(record: JoinTokenRecord, repo: JoinTokensRepository = joinTokens): Promise<void> {
      if (await repo.consume(record.id, clock.now())) return;
      const current = await repo.findById(record.id);
      if (current && current.revokedAt !== null) throw new FarolError('token_revoked', 'the join token was revoked');
      if (current && current.expiresAt <= clock.now()) throw new FarolError('token_expired', 'the join token has expired; create a new one with farol join-tokens create');
      throw new FarolError('token_used_up', 'the join token has been used up; create a new one');
    },
  };
}
export type JoinTokensService = ReturnType<typeof createJoinTokensService>;
