import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema, LabelsSchema, NewAgentNameSchema } from './agents.js';
import { SystemInfoSchema } from './telemetry.js';

/** An Ed25519 public key as a JWK (OKP / Ed25519). */
export const Ed25519PublicJwkSchema = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'x is a 32-byte key in base64url'),
  })
  .meta({ id: 'Ed25519PublicJwk' });
export type Ed25519PublicJwk = z.infer<typeof Ed25519PublicJwkSchema>;

export const EnrollRequestSchema = z
  .object({
    token: z.string().min(1).max(256).describe('The join token'),
    publicKey: Ed25519PublicJwkSchema,
    system: SystemInfoSchema,
    protocolVersion: z.number().int(),
    name: NewAgentNameSchema.optional().describe('Preferred name; default the hostname. Never shaped like an id (ag_…)'),
  })
  .meta({ id: 'EnrollRequest' });
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;

export const EnrollResponseSchema = z
  .object({
    agentId: AgentIdSchema,
    name: AgentNameSchema,
    labels: LabelsSchema,
    hubPublicKey: Ed25519PublicJwkSchema.describe('Pinned by the agent; the hub proves it holds the private half at every connect'),
    hubKeyFingerprint: z.string(),
  })
  .meta({ id: 'EnrollResponse' });
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;
