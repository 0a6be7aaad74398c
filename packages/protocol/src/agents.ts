import { z } from 'zod';
import { HeartbeatSampleSchema, HISTORY_METRICS, SystemInfoSchema, toHistoryValues } from './telemetry.js';

/** Label keys and values: the Kubernetes-like charset, so selectors stay unambiguous. */
export const LabelKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/, 'label keys are 1-63 chars of A-Z a-z 0-9 . _ / -');
export const LabelValueSchema = z
  .string()
  .regex(/^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/, 'label values are 0-63 chars of A-Z a-z 0-9 . _ -');
export const LabelsSchema = z.record(LabelKeySchema, LabelValueSchema).refine((l) => Object.keys(l).length <= 64, {
  message: 'at most 64 labels',
});
export type Labels = z.infer<typeof LabelsSchema>;

/** Machine names: what operators type in the CLI, so no spaces or shell metacharacters. */
export const AgentNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$/, 'names are 1-63 chars of A-Z a-z 0-9 . _ - starting with a letter or digit');

/**
 * The prefixes of the ids the hub mints (`ag_…`, `job_…`; apps/hub/src/infra/ids.ts). A name
 * shaped like one of them could pass for another machine in lists and job output (#11).
 */
export const ID_PREFIXES = ['ag', 'al', 'ch', 'chk', 'cl', 'cmd', 'cro', 'cur', 'dl', 'hub', 'job', 'jt', 'ps', 'rol', 'rule', 'run', 'sec', 'ses', 'shot', 'sil', 'sso', 'stp', 'term', 'tjti', 'tok', 'usr', 'wh', 'x'] as const;
const ID_SHAPED = new RegExp(`^(${ID_PREFIXES.join('|')})_[a-z0-9]+$`, 'i');

/** True when `name` reads like a hub id: a known prefix, `_`, then letters and digits only. */
export function isIdShaped(name: string): boolean {
  return ID_SHAPED.test(name);
}

/**
 * A name given now (enrollment, rename, `--name`): a valid name that cannot be mistaken for an
 * id. Names stored before this rule are still read with AgentNameSchema.
 */
export const NewAgentNameSchema = AgentNameSchema.refine((name) => !isIdShaped(name), {
  message: 'names cannot look like ids (ag_…, job_…: a known prefix, _ and letters or digits); pick another name',
});

/**
 * The longest heartbeat interval the hub honours (#11). An agent may ask for more, but offline
 * detection (a few missed intervals) must not be pushed out by hours.
 */
export const MAX_HEARTBEAT_INTERVAL_MS = 300_000;

export const AgentStatusSchema = z.enum(['online', 'offline']);
export type AgentStatus = z.infer<typeof AgentStatusSchema>;

export const AgentIdSchema = z.string().regex(/^ag_[a-z0-9]{16}$/, 'agent ids look like ag_ followed by 16 chars');

export const AgentSchema = z
  .object({
    id: AgentIdSchema,
    name: AgentNameSchema,
    hostname: z.string(),
    status: AgentStatusSchema,
    labels: LabelsSchema,
    createdAt: z.number().int().describe('ms since epoch'),
    lastSeen: z.number().int().nullable().describe('Last message from the agent, ms since epoch'),
    system: SystemInfoSchema.nullable(),
    keyFingerprint: z.string().describe('SHA-256 of the agent public key, base64url'),
    heartbeatIntervalMs: z.number().int().nullable(),
    hub: z.string().nullable().optional().describe('The hub holding the agent\'s connection (its FAROL_HUB_ID, issue #14); null while offline'),
    latest: HeartbeatSampleSchema.nullable().describe('Most recent sample while the hub has one'),
  })
  .meta({ id: 'Agent' });
export type Agent = z.infer<typeof AgentSchema>;

export const AgentListQuerySchema = z.object({
  status: AgentStatusSchema.optional(),
  label: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('key=value; repeat or comma-separate for several (all must match)'),
  view: z
    .enum(['full', 'summary'])
    .optional()
    .describe('summary: only what the fleet page shows (AgentSummary), a fraction of the size; default full'),
});
export type AgentListQuery = z.infer<typeof AgentListQuerySchema>;

export const AgentListSchema = z.object({ agents: z.array(AgentSchema) }).meta({ id: 'AgentList' });
export type AgentList = z.infer<typeof AgentListSchema>;

/**
 * A machine as the fleet page shows it (`GET /api/agents?view=summary`): no system facts beyond
 * a few, no sample, only the newest CPU, memory and disk figures. A 1,000-machine fleet is a
 * tenth of the full list's bytes, and parses in a fraction of the time.
 */
export const AgentSummarySchema = z
  .object({
    id: AgentIdSchema,
    name: AgentNameSchema,
    hostname: z.string(),
    status: AgentStatusSchema,
    labels: LabelsSchema,
    lastSeen: z.number().int().nullable(),
    heartbeatIntervalMs: z.number().int().nullable(),
    hub: z.string().nullable().optional().describe('The hub holding the agent\'s connection (its FAROL_HUB_ID, issue #14); null while offline'),
    os: z.string().nullable().describe('Platform (linux, darwin, win32) once the agent reported its system'),
    distro: z.string().nullable().describe('Distribution and release, e.g. "Debian 13"'),
    arch: z.string().nullable(),
    cpuCores: z.number().int().nullable(),
    agentVersion: z.string().nullable().optional().describe('The version the agent reported at its last hello (issue #15); absent from hubs before it'),
    sampleTs: z.number().int().nullable().describe('When the newest sample was taken (agent clock)'),
    cpu: z.number().nullable(),
    memory: z.number().nullable(),
    disk: z.number().nullable().describe('Fullest filesystem, percent'),
    updatesAvailable: z
      .number()
      .int()
      .nonnegative()
      .nullable()
      .optional()
      .describe('Containers whose registry offers a newer digest of their tag (issue #18); null until the agent reported a check; absent from hubs before it'),
  })
  .meta({ id: 'AgentSummary' });
export type AgentSummary = z.infer<typeof AgentSummarySchema>;

export const AgentSummaryListSchema = z.object({ agents: z.array(AgentSummarySchema) }).meta({ id: 'AgentSummaryList' });
export type AgentSummaryList = z.infer<typeof AgentSummaryListSchema>;

/** The summary of a full agent record (the fields the hub sends with `view=summary`). */
export function summarizeAgent(agent: Agent): AgentSummary {
  const values = agent.latest ? toHistoryValues(agent.latest) : null;
  const system = agent.system;
  return {
    id: agent.id,
    name: agent.name,
    hostname: agent.hostname,
    status: agent.status,
    labels: agent.labels,
    lastSeen: agent.lastSeen,
    heartbeatIntervalMs: agent.heartbeatIntervalMs,
    hub: agent.hub ?? null,
    os: system ? system.os : null,
    distro: system ? [system.distro, system.release].filter(Boolean).join(' ') || null : null,
    arch: system?.arch ?? null,
    cpuCores: system?.cpuCores ?? null,
    agentVersion: system?.agentVersion ?? null,
    sampleTs: agent.latest?.ts ?? null,
    cpu: values?.cpu ?? null,
    memory: values?.memory ?? null,
    disk: values?.disk ?? null,
    updatesAvailable: countUpdatesAvailable(agent.latest?.containers),
  };
}

/** Containers with a newer digest offered; null when none of them was checked yet (issue #18). */
export function countUpdatesAvailable(containers: ReadonlyArray<{ availableDigest?: string | null | undefined }> | null | undefined): number | null {
  const checked = (containers ?? []).filter((container) => container.availableDigest !== undefined);
  return checked.length === 0 ? null : checked.filter((container) => container.availableDigest !== null).length;
}

export const AgentRefParamsSchema = z.object({
  id: z.string().min(1).max(128).describe('Agent id or name'),
});

export const AgentPatchSchema = z
  .object({
    name: NewAgentNameSchema.optional(),
    labels: LabelsSchema.optional(),
  })
  .strict()
  .refine((p) => p.name !== undefined || p.labels !== undefined, { message: 'give name or labels' })
  .meta({ id: 'AgentPatch' });
export type AgentPatch = z.infer<typeof AgentPatchSchema>;

export const ResolutionSchema = z.enum(['raw', '1m', '1h']);
export type Resolution = z.infer<typeof ResolutionSchema>;

export const MetricsQuerySchema = z.object({
  from: z.coerce.number().int().nonnegative().optional().describe('ms since epoch; default one hour before `to`'),
  to: z.coerce.number().int().nonnegative().optional().describe('ms since epoch; default now'),
  resolution: ResolutionSchema.optional().describe('Force a tier; default: the finest that fits the range'),
});
export type MetricsQuery = z.infer<typeof MetricsQuerySchema>;

const NullableNumber = z.number().nullable();
/** One point of a series: raw points carry only `avg` (min = max = avg). */
export const MetricPointSchema = z.object({
  ts: z.number().int(),
  values: z.record(z.enum(HISTORY_METRICS), z.object({ avg: NullableNumber, min: NullableNumber, max: NullableNumber })),
});
export type MetricPoint = z.infer<typeof MetricPointSchema>;

export const MetricsResponseSchema = z
  .object({
    agentId: AgentIdSchema,
    from: z.number().int(),
    to: z.number().int(),
    resolution: ResolutionSchema,
    stepMs: z.number().int().describe('Nominal spacing of points'),
    points: z.array(MetricPointSchema),
  })
  .meta({ id: 'MetricsResponse' });
export type MetricsResponse = z.infer<typeof MetricsResponseSchema>;
