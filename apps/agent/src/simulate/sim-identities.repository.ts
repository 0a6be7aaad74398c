import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema, Ed25519PublicJwkSchema } from '@farol/protocol';
import { ensureStateDir, writePrivateFileAtomic } from '../identity/identity.repository.js';
import { Ed25519PrivateJwkSchema } from '../identity/identity.schema.js';

/** One enrolled simulated agent. */
export const SimIdentitySchema = z.object({
  agentId: AgentIdSchema,
  name: AgentNameSchema,
  privateKeyJwk: Ed25519PrivateJwkSchema,
  publicKeyJwk: Ed25519PublicJwkSchema,
});
export type SimIdentity = z.infer<typeof SimIdentitySchema>;

/** `<state>/sim-identities.json`: enrolled simulated agents, reused by later runs. */
export const SimIdentitiesFileSchema = z.object({
  hubUrl: z.string(),
  /** Makes names unique across caches, so a fresh cache never collides with old agents. */
  runId: z.string().regex(/^[a-z0-9]{4,12}$/),
  hubPublicKey: Ed25519PublicJwkSchema,
  identities: z.array(SimIdentitySchema),
});
export type SimIdentitiesFile = z.infer<typeof SimIdentitiesFileSchema>;

/** Reads and writes the simulator's identity cache. */
export interface SimIdentitiesRepository {
  readonly filePath: string;
  /** The cache for `hubUrl`, or null when there is none (or it belongs to another hub). */
  load(hubUrl: string): SimIdentitiesFile | null;
  save(file: SimIdentitiesFile): void;
}

/** The sim-identities.json of `stateDir`. */
export function createSimIdentitiesRepository(stateDir: string): SimIdentitiesRepository {
  const filePath = path.join(stateDir, 'sim-identities.json');
  return {
    filePath,
    load(hubUrl) {
      if (!existsSync(filePath)) return null;
      const parsed = SimIdentitiesFileSchema.safeParse(JSON.parse(readFileSync(filePath, 'utf8')));
      if (!parsed.success) throw new Error(`${filePath} is damaged: delete it to enroll fresh simulated agents`);
      return parsed.data.hubUrl === hubUrl ? parsed.data : null;
    },
    save(file) {
      ensureStateDir(stateDir);
      writePrivateFileAtomic(filePath, JSON.stringify(file));
    },
  };
}
