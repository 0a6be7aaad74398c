import { z } from 'zod';
import { CONTAINER_NAME_PATTERN, ContainerRefSchema, ContainerSampleSchema } from './docker.js';
import { ChannelNameSchema, QuietHoursSchema, type QuietHours } from './channels.js';
import { MAX_SECRETS_PER_COMMAND, SecretNameSchema } from './secrets.js';

// Issue #18: deploying, removing and updating containers, and their images. Every field that
// reaches the Docker Engine API is checked here, so the hub refuses odd input at 400 and the
// agent (which parses the signed command with the same schema) never sees it.

/** Docker's container name rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`), bounded. */
export const ContainerNameSchema = z.string().regex(CONTAINER_NAME_PATTERN, 'a container name is letters, digits, _ . - (not starting with _ . -), at most 128');

/**
 * An image reference as Docker's reference grammar allows it: `[registry[:port]/]path[:tag][@sha256:hex]`,
 * lower-case path components, no spaces, quotes or leading dash (so it cannot pass for an option).
 */
const IMAGE_REFERENCE_PATTERN =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
export const ImageRefSchema = z
  .string()
  .max(255)
  .regex(IMAGE_REFERENCE_PATTERN, 'an image reference looks like nginx:1.27, ghcr.io/org/app:2 or registry:5000/app@sha256:<64 hex>');
export function isImageRef(text: string): boolean {
  return ImageRefSchema.safeParse(text).success;
}

/** An absolute path with no `..` step, no NUL and no control character. */
const AbsolutePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => p.startsWith('/'), { message: 'an absolute path, starting with /' })
  .refine((p) => ![...p].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), { message: 'a path must not contain control characters' })
  .refine((p) => !p.split('/').includes('..'), { message: 'a path must not contain a .. step' })
  .refine((p) => !p.includes(':'), { message: 'a path must not contain ":" (it separates the parts of -v)' });

export const EnvKeySchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment names are letters, digits and _, not starting with a digit');
/** Label keys as Docker recommends them (reverse DNS allowed): letters, digits, . _ - / */
export const ContainerLabelKeySchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, 'label keys are letters, digits, . _ - /, at most 128');
const PlainValue = (max: number) => z.string().max(max).regex(/^[^\0]*$/, 'must not contain a NUL byte');

export const RESTART_POLICIES = ['no', 'always', 'unless-stopped', 'on-failure'] as const;
export const RestartPolicySchema = z.enum(RESTART_POLICIES);

export const PortBindingSchema = z
  .object({
    hostIp: z.union([z.ipv4(), z.ipv6()]).optional().describe('Host address to bind; default every address'),
    hostPort: z.number().int().min(1).max(65_535),
    containerPort: z.number().int().min(1).max(65_535),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
  })
  .strict();
export type PortBinding = z.infer<typeof PortBindingSchema>;

export const MountSchema = z
  .object({ source: AbsolutePathSchema.describe('Host path'), target: AbsolutePathSchema.describe('Path in the container'), readOnly: z.boolean().default(false) })
  .strict();
export type Mount = z.infer<typeof MountSchema>;

export const HealthCheckSchema = z
  .object({
    cmd: z.array(PlainValue(4096).min(1)).min(1).max(64).describe('Run directly in the container (Docker\'s CMD form, never a shell unless you name one)'),
    intervalSeconds: z.number().int().min(1).max(3600).optional(),
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
    retries: z.number().int().min(1).max(100).optional(),
    startPeriodSeconds: z.number().int().min(0).max(3600).optional(),
  })
  .strict();
export type HealthCheck = z.infer<typeof HealthCheckSchema>;

/** Docker network names: the built-in modes or a user-defined network. */
export const NetworkNameSchema = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, 'a network name is letters, digits, _ . -');

// ---- private registries (ADR 0023) --------------------------------------------------------------

/** The registry an image reference without a registry part is pulled from. */
export const DOCKER_HUB_REGISTRY = 'docker.io';

/** A registry as image references name it: `ghcr.io`, `registry.lan:5000`, `127.0.0.1:5000`, `[::1]:5000`. */
export const RegistryHostSchema = z
  .string()
  .max(255)
  .regex(
    /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/,
    'a registry is a host name or address with an optional port: ghcr.io, registry.lan:5000, 127.0.0.1:5000',
  );

/**
 * The registry of an image reference, by Docker's rule: the first path component is a registry
 * when it has a `.` or a `:`, is `localhost` or a bracketed address; otherwise Docker Hub.
 */
export function registryOf(reference: string): string {
  const slash = reference.indexOf('/');
  if (slash < 0) return DOCKER_HUB_REGISTRY;
  const first = reference.slice(0, slash);
  return first.includes('.') || first.includes(':') || first.startsWith('[') || first === 'localhost' ? first : DOCKER_HUB_REGISTRY;
}

/**
 * What a registry secret holds: the JSON `{"username":"…","password":"…"}` (a token goes in
 * `password`). One format only, checked where the value is used (agent and hub), never echoed.
 */
export const RegistryCredentialSchema = z
  .object({
    username: z
      .string()
      .min(1)
      .max(256)
      .refine((name) => ![...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), { message: 'a user name without control characters' }),
    password: z.string().min(1).max(8192),
  })
  .strict();
export type RegistryCredential = z.infer<typeof RegistryCredentialSchema>;

/** Parses a registry secret's value; on a mistake a message that never quotes the value. */
export function parseRegistryCredential(value: string): RegistryCredential | string {
  const shape = 'a registry secret holds {"username":"…","password":"…"}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return `${shape}; this value is not JSON`;
  }
  const result = RegistryCredentialSchema.safeParse(parsed);
  if (result.success) return result.data;
  return `${shape}; ${result.error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.code === 'unrecognized_keys' ? 'unknown field' : 'missing or malformed'}`).join(', ')}`;
}

/**
 * `registry:credentials` (agent → hub): the login for a registry, for the agent's background
 * digest check. Answered only when an auto-update rule matching the machine names that registry
 * and its secret's scope admits the machine; the agent keeps it in memory for `ttlMs` at most.
 */
export const RegistryCredentialsFetchSchema = z.object({ registry: RegistryHostSchema }).strict();
export type RegistryCredentialsFetch = z.infer<typeof RegistryCredentialsFetchSchema>;
export const RegistryCredentialsFetchAckSchema = z.object({
  username: z.string(),
  password: z.string(),
  ttlMs: z.number().int().min(1_000).max(86_400_000).describe('Forget it after this long (and at once when the registry refuses it)'),
});
export type RegistryCredentialsFetchAck = z.infer<typeof RegistryCredentialsFetchAckSchema>;

const RegistrySecretField = SecretNameSchema.optional().describe(
  'Hub secret with the registry login ({"username","password"}) sent with the pull; fetched by the agent when it runs, never stored in the job',
);

/** `farol containers deploy`: create and start a container (pull its image first if missing). */
export const DockerDeployCommandSchema = z
  .object({
    kind: z.literal('docker_deploy'),
    image: ImageRefSchema,
    name: ContainerNameSchema,
    ports: z.array(PortBindingSchema).max(64).optional(),
    env: z
      .record(EnvKeySchema, PlainValue(32_768))
      .refine((env) => Object.keys(env).length <= 256, { message: 'at most 256 variables' })
      .optional()
      .describe('Plain environment values: they are stored in the job. Use secrets for anything secret'),
    secrets: z
      .array(SecretNameSchema)
      .min(1)
      .max(MAX_SECRETS_PER_COMMAND)
      .refine((names) => new Set(names).size === names.length, { message: 'each secret once' })
      .optional()
      .describe('Hub secrets set as environment variables of the same name; fetched by the agent when it runs, never stored in the job'),
    mounts: z.array(MountSchema).max(64).optional(),
    restart: RestartPolicySchema.optional().describe('Default no'),
    labels: z
      .record(ContainerLabelKeySchema, PlainValue(4096))
      .refine((labels) => Object.keys(labels).length <= 128, { message: 'at most 128 labels' })
      .optional(),
    network: NetworkNameSchema.optional().describe('Default Docker\'s (bridge)'),
    health: HealthCheckSchema.optional(),
    registrySecret: RegistrySecretField,
  })
  .strict()
  .superRefine((command, ctx) => {
    const clash = (command.secrets ?? []).find((name) => command.env && name in command.env);
    if (clash) ctx.addIssue({ code: 'custom', path: ['secrets'], message: `${clash} is both a plain variable and a secret` });
  });
export type DockerDeployCommand = z.infer<typeof DockerDeployCommandSchema>;

export const DockerRemoveCommandSchema = z
  .object({ kind: z.literal('docker_rm'), container: ContainerRefSchema, force: z.boolean().optional().describe('Stop it first if it runs') })
  .strict();

/** Default and ceiling of how long an update waits for the new container to be healthy. */
export const DEFAULT_UPDATE_HEALTH_TIMEOUT_SECONDS = 60;
/** A container without a health check must keep running this long to count as good. */
export const DEFAULT_UPDATE_GRACE_SECONDS = 10;

export const DockerUpdateCommandSchema = z
  .object({
    kind: z.literal('docker_update'),
    container: ContainerNameSchema,
    healthTimeoutSeconds: z.number().int().min(1).max(3600).optional().describe(`Wait for healthy; default ${DEFAULT_UPDATE_HEALTH_TIMEOUT_SECONDS}`),
    graceSeconds: z.number().int().min(1).max(3600).optional().describe(`Without a health check, running this long counts; default ${DEFAULT_UPDATE_GRACE_SECONDS}`),
    registrySecret: RegistrySecretField,
  })
  .strict()
  .describe('Pull the container\'s image; on a new digest recreate it with the same configuration, and put the old image back if it is not healthy');

export const DockerPullCommandSchema = z.object({ kind: z.literal('docker_pull'), image: ImageRefSchema, registrySecret: RegistrySecretField }).strict();
export const DockerImagesCommandSchema = z.object({ kind: z.literal('docker_images') }).strict();
export const DockerPruneCommandSchema = z.object({ kind: z.literal('docker_prune') }).strict().describe('Remove dangling images');

/** Kinds that create, replace or remove containers: policy group `docker.deploy`, off unless the machine allows it. */
export const DOCKER_DEPLOY_COMMAND_KINDS = ['docker_deploy', 'docker_update', 'docker_rm'] as const;
/** Image kinds: policy group `docker.images`. */
export const DOCKER_IMAGE_COMMAND_KINDS = ['docker_pull', 'docker_images', 'docker_prune'] as const;

// ---- structured results ----------------------------------------------------------------------

export const DockerImageSummarySchema = z.object({
  id: z.string(),
  tags: z.array(z.string()),
  digests: z.array(z.string()),
  sizeBytes: z.number().nonnegative(),
  createdAt: z.number().int().describe('ms since epoch'),
});
export const DockerImagesDataSchema = z.object({ kind: z.literal('docker_images'), images: z.array(DockerImageSummarySchema).max(5_000) });
export const DockerDeployDataSchema = z.object({ kind: z.literal('docker_deploy'), container: ContainerSampleSchema, imageId: z.string(), pulled: z.boolean() });
export const DockerUpdateDataSchema = z.object({
  kind: z.literal('docker_update'),
  outcome: z.enum(['unchanged', 'updated', 'rolled_back']),
  image: z.string().describe('The reference pulled'),
  previousImageId: z.string(),
  newImageId: z.string(),
  digest: z.string().nullable().describe('Registry digest of the image now running'),
  rollbackTag: z.string().nullable().describe('Where the previous image is kept until the next update'),
  reason: z.string().nullable().describe('Why it was rolled back'),
});
export type DockerUpdateData = z.infer<typeof DockerUpdateDataSchema>;

// ---- auto-update (the Watchtower role) --------------------------------------------------------

/** A container with this label set to `true` opts in to automatic updates. */
export const AUTO_UPDATE_LABEL = 'farol.auto-update';
/**
 * A label-only opt-in's daily window (issue #18): `HH:MM-HH:MM`, in UTC unless an IANA time zone
 * follows after a space (`02:00-04:00 Europe/Lisbon`); an end before the start spans midnight.
 */
export const AUTO_UPDATE_WINDOW_LABEL = 'farol.auto-update.window';

/** The window of a `farol.auto-update.window` label value, or a message saying what is wrong. */
export function parseUpdateWindowLabel(value: string): QuietHours | string {
  const usage = 'use HH:MM-HH:MM (UTC) or HH:MM-HH:MM Area/City, e.g. 02:00-04:00 Europe/Lisbon';
  const match = /^(\d{2}:\d{2})-(\d{2}:\d{2})(?: ([A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}))?$/.exec(value);
  if (!match) return usage;
  const parsed = QuietHoursSchema.safeParse({ start: match[1], end: match[2], timezone: match[3] ?? 'UTC' });
  if (!parsed.success) return `${parsed.error.issues[0]!.message}; ${usage}`;
  if (parsed.data.start === parsed.data.end) return `the window starts and ends at ${parsed.data.start}: it would never open; ${usage}`;
  return parsed.data;
}

/** How often an agent asks the registry for its containers' tags by default (the design notes' 5 min). */
export const DEFAULT_CONTAINER_UPDATE_CHECK = '5m';

/** A container name glob: a name where `*` and `?` stand for any characters. */
export const ContainerGlobSchema = z.string().regex(/^[a-zA-Z0-9*?][a-zA-Z0-9_.*?-]{0,127}$/, 'a container name or glob: letters, digits, _ . - and * ?');

/** True when `name` matches the glob (`*` any run, `?` one character). */
export function matchesContainerGlob(glob: string, name: string): boolean {
  const pattern = glob.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`).test(name);
}

/** `POST /api/containers/auto-update/rules`: machines (a label selector, or `all`) and container globs kept current. */
export const ContainerUpdateRuleCreateSchema = z
  .object({
    selector: z.string().min(1).max(512).describe('Label selector of the machines (env=prod,role!=db), or all'),
    containers: z.array(ContainerGlobSchema).min(1).max(32).describe('Container names or globs (web, api-*)'),
    window: QuietHoursSchema.optional().describe('A daily window (HH:MM to HH:MM in a time zone) outside which no update starts; default any time'),
    channels: z.array(ChannelNameSchema).max(16).optional().describe('Channels told of updates and rollbacks'),
    registry: RegistryHostSchema.optional().describe('With registrySecret: the registry (host[:port]) whose login the machines may fetch for their digest checks and updates (ADR 0023)'),
    registrySecret: SecretNameSchema.optional().describe('With registry: the hub secret holding {"username","password"} for it'),
  })
  .strict()
  .refine((rule) => (rule.registry === undefined) === (rule.registrySecret === undefined), { message: 'registry and registrySecret go together', path: ['registrySecret'] });
export type ContainerUpdateRuleCreate = z.infer<typeof ContainerUpdateRuleCreateSchema>;

export const ContainerUpdateRuleSchema = z
  .object({
    id: z.string(),
    selector: z.string(),
    containers: z.array(z.string()),
    window: QuietHoursSchema.nullable(),
    channels: z.array(z.string()),
    registry: z.string().nullable().optional().describe('The registry whose login the rule hands out (ADR 0023); absent from hubs before it'),
    registrySecret: z.string().nullable().optional().describe('The secret holding that login (its name, never its value)'),
    createdBy: z.string(),
    createdAt: z.number().int(),
  })
  .meta({ id: 'ContainerUpdateRule' });
export type ContainerUpdateRule = z.infer<typeof ContainerUpdateRuleSchema>;

export const CONTAINER_ROLLOUT_TARGET_STATES = ['pending', 'updating', 'updated', 'unchanged', 'rolled_back', 'failed', 'skipped'] as const;
export const ContainerRolloutTargetSchema = z.object({
  agentId: z.string(),
  agentName: z.string(),
  wave: z.number().int().nonnegative(),
  state: z.enum(CONTAINER_ROLLOUT_TARGET_STATES),
  jobId: z.string().nullable(),
  error: z.string().nullable(),
});
export type ContainerRolloutTarget = z.infer<typeof ContainerRolloutTargetSchema>;

/** One automatic update of a container name to a new digest across the machines that run it, in waves. */
export const ContainerRolloutSchema = z
  .object({
    id: z.string(),
    container: z.string(),
    image: z.string(),
    digest: z.string().describe('The digest the registry offered'),
    state: z.enum(['running', 'succeeded', 'failed']),
    ruleId: z.string().nullable().describe('The rule that opted the containers in; null when their label did'),
    targets: z.array(ContainerRolloutTargetSchema),
    createdAt: z.number().int(),
    finishedAt: z.number().int().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'ContainerRollout' });
export type ContainerRollout = z.infer<typeof ContainerRolloutSchema>;
export const ContainerUpdateRuleListSchema = z.object({ rules: z.array(ContainerUpdateRuleSchema) }).meta({ id: 'ContainerUpdateRuleList' });
export const ContainerRolloutListSchema = z.object({ rollouts: z.array(ContainerRolloutSchema) }).meta({ id: 'ContainerRolloutList' });
export const ContainerUpdateRuleIdParamsSchema = z.object({ id: z.string().regex(/^cur_[a-z0-9]{1,64}$/, 'a rule id (cur_…)') });

// ---- CLI and form helpers --------------------------------------------------------------------

/** `[hostIp:]hostPort:containerPort[/tcp|udp]` (as `docker run -p`), or an error message. */
export function parsePortSpec(text: string): PortBinding | string {
  const match = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  if (!match) return 'a port is HOST:CONTAINER[/tcp|udp] or IP:HOST:CONTAINER, e.g. 8080:80';
  const parsed = PortBindingSchema.safeParse({
    ...(match[1] ? { hostIp: match[1].replace(/^\[|\]$/g, '') } : {}),
    hostPort: Number(match[2]),
    containerPort: Number(match[3]),
    protocol: match[4] ?? 'tcp',
  });
  return parsed.success ? parsed.data : parsed.error.issues.map((i) => i.message).join('; ');
}

/** `/host/path:/container/path[:ro|rw]`, or an error message. */
export function parseMountSpec(text: string): Mount | string {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && parts[2] !== 'ro' && parts[2] !== 'rw')) return 'a volume is /host/path:/container/path[:ro]';
  const parsed = MountSchema.safeParse({ source: parts[0], target: parts[1], readOnly: parts[2] === 'ro' });
  return parsed.success ? parsed.data : parsed.error.issues.map((i) => i.message).join('; ');
}

/** The deploy form's fields as text (dashboard): one entry per line or comma, like the CLI's repeated flags. */
export interface DeployFormFields {
  image: string;
  name: string;
  ports: string[];
  env: string[];
  secrets: string[];
  volumes: string[];
  restart: string;
  labels: string[];
  network: string;
  healthCmd: string;
}

/**
 * The deploy command from form text, with the same parsers and schema as `farol containers
 * deploy`; on a mistake, the field and the message.
 */
export function deployCommandFrom(fields: DeployFormFields): { ok: true; command: DockerDeployCommand } | { ok: false; field: string; message: string } {
  const ports: PortBinding[] = [];
  for (const spec of fields.ports) {
    const port = parsePortSpec(spec);
    if (typeof port === 'string') return { ok: false, field: 'ports', message: `${spec}: ${port}` };
    ports.push(port);
  }
  const mounts: Mount[] = [];
  for (const spec of fields.volumes) {
    const mount = parseMountSpec(spec);
    if (typeof mount === 'string') return { ok: false, field: 'volumes', message: `${spec}: ${mount}` };
    mounts.push(mount);
  }
  const pairs = (lines: string[], field: string): Record<string, string> | { field: string; message: string } => {
    const out: Record<string, string> = {};
    for (const line of lines) {
      const at = line.indexOf('=');
      if (at <= 0) return { field, message: `${line}: use KEY=VALUE` };
      out[line.slice(0, at)] = line.slice(at + 1);
    }
    return out;
  };
  const env = pairs(fields.env, 'env');
  if ('field' in env && typeof env.field === 'string' && 'message' in env) return { ok: false, field: env.field, message: String(env.message) };
  const labels = pairs(fields.labels, 'labels');
  if ('field' in labels && typeof labels.field === 'string' && 'message' in labels) return { ok: false, field: labels.field, message: String(labels.message) };
  const healthCmd = fields.healthCmd.trim().split(/\s+/).filter(Boolean);
  const parsed = DockerDeployCommandSchema.safeParse({
    kind: 'docker_deploy',
    image: fields.image.trim(),
    name: fields.name.trim(),
    ...(ports.length > 0 ? { ports } : {}),
    ...(Object.keys(env).length > 0 ? { env } : {}),
    ...(fields.secrets.length > 0 ? { secrets: fields.secrets } : {}),
    ...(mounts.length > 0 ? { mounts } : {}),
    ...(fields.restart ? { restart: fields.restart } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(fields.network.trim() ? { network: fields.network.trim() } : {}),
    ...(healthCmd.length > 0 ? { health: { cmd: healthCmd } } : {}),
  });
  if (parsed.success) return { ok: true, command: parsed.data };
  const issue = parsed.error.issues[0]!;
  const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  const field = String(issue.path[0] ?? 'image');
  return { ok: false, field: field === 'mounts' ? 'volumes' : field, message };
}
