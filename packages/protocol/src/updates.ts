import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema } from './agents.js';
import { AgentVersionSchema, JobIdSchema, JobTargetsSchema, UpdateArtifactSchema } from './jobs.js';

/** How long a machine has, after its update command was sent, to come back on the new version. */
export const DEFAULT_UPDATE_TIMEOUT_MS = 5 * 60_000;
/** The agent rolls back when the new version has not said hello within this long of its first start. */
export const UPDATE_TRIAL_MS = 60_000;
/** Or when the new version started this many times without saying hello (it crashes at start). */
export const UPDATE_TRIAL_MAX_STARTS = 3;

/** True when `version` is older than `than`, comparing dot-separated numbers; false when either is not numeric. */
export function isOlderVersion(version: string, than: string): boolean {
  const parse = (text: string): number[] | null => (/^\d+(\.\d+)*$/.test(text) ? text.split('.').map(Number) : null);
  const a = parse(version);
  const b = parse(than);
  if (!a || !b) return false;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff < 0;
  }
  return false;
}

export const RolloutIdSchema = z.string().regex(/^rol_[a-z0-9]{16}$/, 'rollout ids look like rol_ followed by 16 chars');

/** The builds of the agent this hub can hand out (its own, plus FAROL_AGENT_UPDATES_DIR). */
export const AgentBuildSchema = z
  .object({ version: AgentVersionSchema, artifacts: z.array(UpdateArtifactSchema), own: z.boolean().describe('The build this hub was built with') })
  .meta({ id: 'AgentBuild' });
export const AgentBuildListSchema = z.object({ builds: z.array(AgentBuildSchema) }).meta({ id: 'AgentBuildList' });
export type AgentBuild = z.infer<typeof AgentBuildSchema>;

/** `POST /api/agent-updates`: update machines to a version, in waves. */
export const AgentUpdateRequestSchema = z
  .object({
    targets: JobTargetsSchema,
    version: AgentVersionSchema.optional().describe("Default: the hub's own version"),
    wavePercent: z.number().int().min(1).max(100).optional().describe('Second wave, in percent of the machines; default 25 (the first wave is one machine, the last the rest)'),
  })
  .strict()
  .meta({ id: 'AgentUpdateRequest' });
export type AgentUpdateRequest = z.infer<typeof AgentUpdateRequestSchema>;

export const ROLLOUT_TARGET_STATES = ['pending', 'updating', 'succeeded', 'failed', 'skipped', 'current'] as const;
export const RolloutTargetStateSchema = z.enum(ROLLOUT_TARGET_STATES).describe('current: already on the version (nothing sent); skipped: not reached because the rollout stopped');
export const RolloutStateSchema = z.enum(['running', 'succeeded', 'failed']);

export const RolloutTargetSchema = z.object({
  agentId: AgentIdSchema,
  agentName: AgentNameSchema,
  wave: z.number().int().min(0),
  state: RolloutTargetStateSchema,
  fromVersion: z.string().nullable(),
  jobId: JobIdSchema.nullable(),
  error: z.string().nullable(),
  updatedAt: z.number().int(),
});
export type RolloutTarget = z.infer<typeof RolloutTargetSchema>;

export const RolloutSchema = z
  .object({
    id: RolloutIdSchema,
    version: AgentVersionSchema,
    state: RolloutStateSchema,
    wave: z.number().int().min(0).describe('The wave running now (or the last one)'),
    waves: z.number().int().min(1),
    createdBy: z.string(),
    createdAt: z.number().int(),
    finishedAt: z.number().int().nullable(),
    error: z.string().nullable().describe('Why it stopped'),
    targets: z.array(RolloutTargetSchema),
  })
  .meta({ id: 'Rollout' });
export type Rollout = z.infer<typeof RolloutSchema>;

export const RolloutIdParamsSchema = z.object({ id: RolloutIdSchema });
