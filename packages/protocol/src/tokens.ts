import { z } from 'zod';
import { LabelsSchema } from './agents.js';

/** "24h", "30m", "7d", "45s" → milliseconds. */
export const DurationSchema = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'durations look like 90s, 30m, 24h or 7d')
  .transform((text) => parseDuration(text));

export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

export const JoinTokenCreateSchema = z
  .object({
    ttl: DurationSchema.optional().describe('How long the token can be used; default 24h, at most 365d'),
    uses: z.number().int().min(1).max(100_000).optional().describe('How many enrollments it allows; default 1'),
    labels: LabelsSchema.optional().describe('Labels given to every agent that enrolls with it'),
    note: z.string().max(200).optional(),
  })
  .strict()
  .meta({ id: 'JoinTokenCreate' });
export type JoinTokenCreateInput = z.input<typeof JoinTokenCreateSchema>;

export const JoinTokenSchema = z
  .object({
    id: z.string(),
    labels: LabelsSchema,
    note: z.string().nullable(),
    maxUses: z.number().int(),
    uses: z.number().int(),
    createdAt: z.number().int(),
    expiresAt: z.number().int(),
    revokedAt: z.number().int().nullable(),
    lastUsedAt: z.number().int().nullable(),
    state: z.enum(['active', 'expired', 'revoked', 'used_up']),
  })
  .meta({ id: 'JoinToken' });
export type JoinToken = z.infer<typeof JoinTokenSchema>;

export const JoinTokenCreatedSchema = JoinTokenSchema.extend({
  token: z.string().describe('The secret; shown once, stored only as a hash'),
  hubKeyFingerprint: z.string().optional().describe('The hub key the install line pins (install.sh --hub-key, ADR 0024): SHA-256 of the raw Ed25519 public key, base64url'),
}).meta({ id: 'JoinTokenCreated' });
export type JoinTokenCreated = z.infer<typeof JoinTokenCreatedSchema>;

export const JoinTokenListSchema = z.object({ tokens: z.array(JoinTokenSchema) }).meta({ id: 'JoinTokenList' });

export const TokenIdParamsSchema = z.object({ id: z.string().min(1).max(64) });
