import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { FarolError, parseDuration, type JoinToken, type JoinTokenCreated, type JoinTokenCreateSchema } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { JoinTokenRecord, JoinTokensRepository } from './join-tokens.repository.js';

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

/** One-time (or counted) join tokens for enrolling agents; only a hash of each secret is kept. */
export function createJoinTokensService({ joinTokens, clock }: { joinTokens: JoinTokensRepository; clock: Clock }) {
  return {
    async create(input: z.infer<typeof JoinTokenCreateSchema>): Promise<JoinTokenCreated> {
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
      return { ...toJoinToken(record, now), token: `${id}.${secret}` };
    },

    async list(): Promise<JoinToken[]> {
      const now = clock.now();
      return (await joinTokens.list()).map((r) => toJoinToken(r, now));
    },

    async revoke(id: string): Promise<void> {
      if (!(await joinTokens.revoke(id, clock.now()))) {
        const existing = await joinTokens.findById(id);
        if (!existing) throw new FarolError('not_found', `no join token ${id}`);
        // Already revoked: revoking again is a no-op, so the call stays idempotent.
      }
    },

    /**
     * Checks a presented token and takes one use of it, within the caller's transaction
     * (`repo`). Throws with a code that says why it is refused.
     */
    async consume(token: string, repo: JoinTokensRepository = joinTokens): Promise<JoinTokenRecord> {
      const parts = splitToken(token);
      if (!parts) throw new FarolError('token_invalid', 'that is not a Farol join token');
      const record = await repo.findById(parts.id);
      const presented = Buffer.from(hash(parts.secret));
      if (!record || !timingSafeEqual(presented, Buffer.from(record.secretHash))) {
        throw new FarolError('token_invalid', 'the join token is not valid');
      }
      const now = clock.now();
      if (record.revokedAt !== null) throw new FarolError('token_revoked', 'the join token was revoked');
      if (record.expiresAt <= now) throw new FarolError('token_expired', 'the join token has expired; create a new one with farol token create');
      if (!(await repo.consume(record.id, now))) throw new FarolError('token_used_up', 'the join token has been used up; create a new one');
      return record;
    },
  };
}
export type JoinTokensService = ReturnType<typeof createJoinTokensService>;
