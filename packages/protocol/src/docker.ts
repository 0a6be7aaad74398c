import { z } from 'zod';

// ---- container references ---------------------------------------------------------------------

/**
 * Docker's own rule for container names (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), capped at 128 chars, so a
 * name can be placed in an Engine API path with nothing to escape: no `/`, `?`, `%`, `..` start or
 * whitespace can ever reach it.
 */
export const CONTAINER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/** A full (64) or abbreviated (at least 12) lowercase hex container id. */
export const CONTAINER_ID_PATTERN = /^[a-f0-9]{12,64}$/;

/** A container named by its name or its (short or full) id; validated before it ever reaches the Engine API. */
export const ContainerRefSchema = z
  .string()
  .min(1)
  .max(128)
  .refine((ref) => CONTAINER_NAME_PATTERN.test(ref) || CONTAINER_ID_PATTERN.test(ref), {
    message: 'a container is named by its Docker name ([a-zA-Z0-9][a-zA-Z0-9_.-]*) or its hex id',
  })
  .describe('Container name or id');
export type ContainerRef = z.infer<typeof ContainerRefSchema>;

/** True when `ref` may be used as a container reference (same rule as ContainerRefSchema). */
export function isContainerRef(ref: string): boolean {
  return ContainerRefSchema.safeParse(ref).success;
}

// ---- what the agent reports ------------------------------------------------------------------

/**
 * Docker's container states, plus `missing`: a watched container that does not exist on the
 * machine at all (the alerts issue treats it as down).
 */
export const CONTAINER_STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead', 'missing'] as const;
export const ContainerStateSchema = z.enum(CONTAINER_STATES);
export type ContainerState = z.infer<typeof ContainerStateSchema>;

/** `none` when the image defines no health check. */
export const CONTAINER_HEALTHS = ['none', 'starting', 'healthy', 'unhealthy'] as const;
export const ContainerHealthSchema = z.enum(CONTAINER_HEALTHS);
export type ContainerHealth = z.infer<typeof ContainerHealthSchema>;

/** Most containers one heartbeat carries (watched ones first, so they are never cut). */
export const MAX_CONTAINERS_PER_SAMPLE = 500;

/**
 * One container as the agent saw it at heartbeat time. Resource fields are null when the
 * container is not running, or its stats did not arrive within the collector's time budget.
 */
export const ContainerSampleSchema = z
  .object({
    id: z.string().max(64).describe('Full id; empty for a `missing` watched container'),
    name: z.string().max(256).describe('Without Docker\'s leading `/`; for `missing`, the watch entry'),
    image: z.string().max(1024).describe('As the container was created (tag or digest); empty for `missing`'),
    state: ContainerStateSchema,
    status: z.string().max(256).describe('Docker\'s human status, e.g. "Up 3 hours (healthy)"'),
    health: ContainerHealthSchema,
    restartCount: z.number().int().nonnegative().describe('Restarts by Docker\'s restart policy since creation'),
    exitCode: z.number().int().nullable().describe('Last exit code while not running; null while running or unknown'),
    cpuPercent: z.number().nonnegative().nullable().describe('Percent of one core (100 = one full core), like `docker stats`'),
    memoryBytes: z.number().nonnegative().nullable().describe('Usage minus page cache, like `docker stats`'),
    memoryLimitBytes: z.number().nonnegative().nullable().describe('The container\'s limit, or the machine\'s memory'),
    createdAt: z.number().int().nullable().describe('ms since epoch'),
    startedAt: z.number().int().nullable().describe('ms since epoch of the last start; null if never started'),
    watched: z.boolean().describe('Matches the agent\'s watch list (FAROL_WATCH_CONTAINERS)'),
    // Issue #18 (auto-update). Optional: older agents send none of them.
    digest: z.string().max(256).nullable().optional().describe('Registry digest (sha256:…) of the image the container runs; null when the image has none (built or imported locally)'),
    availableDigest: z
      .string()
      .max(256)
      .nullable()
      .optional()
      .describe('A newer digest the registry holds for the container\'s image tag ("update available"); null when it runs the newest; absent when not checked yet'),
    updateCheckedAt: z.number().int().nullable().optional().describe('ms since epoch of the last registry check of its tag'),
    autoUpdate: z.boolean().optional().describe('The container carries the label farol.auto-update=true'),
    autoUpdateWindow: z.string().max(100).nullable().optional().describe('The value of its farol.auto-update.window label (HH:MM-HH:MM [Area/City]); null without one'),
  })
  .meta({ id: 'ContainerSample' });
export type ContainerSample = z.infer<typeof ContainerSampleSchema>;

/**
 * Whether the agent can reach a Docker engine: `available`, `unavailable` (no socket, or it
 * refuses: expected on a machine without Docker, reported once, not as an error), or `error`
 * (the engine answered but listing failed).
 */
export const DockerStatusSchema = z
  .object({
    state: z.enum(['available', 'unavailable', 'error']),
    endpoint: z.string().max(1024).describe('unix:///var/run/docker.sock, tcp://host:2375, ...'),
    version: z.string().max(64).nullable().describe('Engine version when available'),
    error: z.string().max(1_000).nullable().describe('Why it is unavailable or failing'),
    since: z.number().int().describe('ms since epoch when this state began'),
  })
  .meta({ id: 'DockerStatus' });
export type DockerStatus = z.infer<typeof DockerStatusSchema>;

/** `GET /api/agents/:id/containers`: from the agent's latest heartbeat. */
export const AgentContainersSchema = z
  .object({
    agentId: z.string(),
    ts: z.number().int().nullable().describe('When the sample was taken; null if the agent never sent one'),
    docker: DockerStatusSchema.nullable().describe('null when the agent does not report Docker (older agent, or no sample yet)'),
    containers: z.array(ContainerSampleSchema),
  })
  .meta({ id: 'AgentContainers' });
export type AgentContainers = z.infer<typeof AgentContainersSchema>;

// ---- command results ----------------------------------------------------------------------------

/** Lines `docker_logs` returns at most, and its default. */
export const MAX_DOCKER_LOG_TAIL = 10_000;
export const DEFAULT_DOCKER_LOG_TAIL = 100;
