import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema, Ed25519PublicJwkSchema, LabelsSchema } from '@farol/protocol';

/** The agent's Ed25519 private key as a JWK (`d` is the secret half). */
export const Ed25519PrivateJwkSchema = Ed25519PublicJwkSchema.extend({
  d: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'd is a 32-byte key in base64url'),
});
export type Ed25519PrivateJwk = z.infer<typeof Ed25519PrivateJwkSchema>;

/** `<state>/identity.json`, written at enrollment (mode 0600) and read at every start. */
export const IdentityFileSchema = z.object({
  agentId: AgentIdSchema.describe('Given by the hub at enrollment'),
  name: AgentNameSchema.describe('Name on the hub; kept in sync from each hello ack'),
  labels: LabelsSchema.default({}).describe('Labels on the hub; kept in sync from each hello ack'),
  hubUrl: z.string().describe('Hub base URL the agent enrolled with'),
  privateKeyJwk: Ed25519PrivateJwkSchema.describe('The agent key; never leaves this file'),
  publicKeyJwk: Ed25519PublicJwkSchema,
  hubPublicKey: Ed25519PublicJwkSchema.describe('Pinned at enrollment; the hub must prove it holds the private half'),
  hubKeyFingerprint: z.string().optional(),
  enrolledAt: z.number().int().describe('ms since epoch'),
});
export type IdentityFile = z.infer<typeof IdentityFileSchema>;
