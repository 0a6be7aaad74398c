import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema } from './agents.js';
import { merkleLeafHash, merkleRootFromPath, type Sha256 } from './merkle.js';
import { NoDisplayDataSchema, ScreenshotCommandSchema, ScreenshotDataSchema } from './screenshot.js';
import { HeartbeatSampleSchema, ProcessSampleSchema } from './telemetry.js';
import { MAX_SECRETS_PER_COMMAND, SecretNameSchema } from './secrets.js';
import { ContainerRefSchema, ContainerSampleSchema, DockerStatusSchema, MAX_DOCKER_LOG_TAIL } from './docker.js';
import {
  DockerDeployCommandSchema,
  DockerDeployDataSchema,
  DockerImagesCommandSchema,
  DockerImagesDataSchema,
  DockerPruneCommandSchema,
  DockerPullCommandSchema,
  DockerRemoveCommandSchema,
  DockerUpdateCommandSchema,
  DockerUpdateDataSchema,
} from './containers.js';
import { NetworkPingCommandSchema, NetworkPingDataSchema } from './network.js';

// ---- limits ---------------------------------------------------------------------------------

/** Most machines one job may target (fan-out cap). */
export const MAX_JOB_TARGETS = 10_000;
/** stdout and stderr are each kept up to this many bytes per target; the rest is cut and `truncated` set. */
export const MAX_OUTPUT_BYTES = 64 * 1024;
/** A job that cannot start within its TTL expires; default and ceiling. */
export const DEFAULT_JOB_TTL_MS = 5 * 60_000;
export const MAX_JOB_TTL_MS = 24 * 3_600_000;
/** How long one target's command may run; default and ceiling. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
export const MAX_COMMAND_TIMEOUT_MS = 24 * 3_600_000;
/** Agents remember command ids this long, which covers the longest TTL: a redelivery never runs twice. */
export const COMMAND_ID_MEMORY_MS = 24 * 3_600_000;
/** Most processes a `processes` command returns. */
export const MAX_PROCESS_LIST = 2_000;
/** Audience of the hub's signed commands (distinct from hello proofs, so one cannot pass for the other). */
export const COMMAND_AUDIENCE = 'farol-agent-command';
/** JWS `typ` header of a signed command. */
export const COMMAND_JWS_TYPE = 'farol-command+jwt';

// ---- ids -------------------------------------------------------------------------------------

export const JobIdSchema = z.string().regex(/^job_[a-z0-9]{16}$/, 'job ids look like job_ followed by 16 chars');
export const CommandIdSchema = z.string().regex(/^cmd_[a-z0-9]{16}$/, 'command ids look like cmd_ followed by 16 chars');

// ---- commands --------------------------------------------------------------------------------

/** Text that can cross exec() intact: no NUL byte (the OS would cut or refuse it). */
const ExecText = (max: number) => z.string().max(max).regex(/^[^\0]*$/, 'must not contain a NUL byte');
const EnvNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'environment names are letters, digits and _');

const ShellOptions = {
  cwd: ExecText(4096).min(1).optional().describe('Working directory; default the agent\'s'),
  env: z
    .record(EnvNameSchema, ExecText(32_768))
    .refine((env) => Object.keys(env).length <= 256, { message: 'at most 256 variables' })
    .optional()
    .describe('Added to the environment (the agent\'s own FAROL_* variables are never passed on)'),
  timeoutMs: z.number().int().min(100).max(MAX_COMMAND_TIMEOUT_MS).optional().describe('Overrides the job\'s per-target timeout'),
  secrets: z
    .array(SecretNameSchema)
    .min(1)
    .max(MAX_SECRETS_PER_COMMAND)
    .refine((names) => new Set(names).size === names.length, { message: 'each secret once' })
    .optional()
    .describe('Secrets passed as environment variables of the same name; each must be scoped to every target'),
};

/** A program and its arguments, run directly: no shell ever sees them. */
export const ShellArgvCommandSchema = z
  .object({
    kind: z.literal('shell'),
    argv: z.array(ExecText(32_768)).min(1).max(1_024).refine((argv) => argv[0] !== '', { message: 'argv[0] names the program' }),
    ...ShellOptions,
  })
  .strict();

/** A script for the platform shell (`/bin/sh -c`, `cmd.exe /c`), only when the operator asks for one. */
export const ShellScriptCommandSchema = z
  .object({
    kind: z.literal('shell'),
    shell: z.literal(true),
    script: ExecText(65_536).min(1),
    ...ShellOptions,
  })
  .strict();

export const MetricsCommandSchema = z.object({ kind: z.literal('metrics') }).strict().describe('A fresh heartbeat sample, now');
export const ProcessesCommandSchema = z
  .object({
    kind: z.literal('processes'),
    top: z.number().int().min(1).max(MAX_PROCESS_LIST).optional().describe(`How many; default all (at most ${MAX_PROCESS_LIST})`),
    sortBy: z.enum(['cpu', 'memory']).optional().describe('Default cpu'),
  })
  .strict();
export const RestartCommandSchema = z.object({ kind: z.literal('restart') }).strict().describe('The agent restarts itself');
export const StopCommandSchema = z.object({ kind: z.literal('stop') }).strict().describe('The agent stops');

/** Most builds one agent_update command offers (one per platform). */
export const MAX_UPDATE_ARTIFACTS = 16;
/** Largest agent build an agent downloads (a one-file executable is about 125 MB). */
export const MAX_UPDATE_BYTES = 512 * 1024 * 1024;
/**
 * One build of the agent, as the hub's signed command describes it (the update manifest). The
 * command's signature by the hub key (pinned at enrollment) covers every field, so the agent
 * trusts the download only if its size and SHA-256 match these.
 */
export const UpdateArtifactSchema = z
  .object({
    platform: z
      .string()
      .regex(/^(node|[a-z0-9]+-[a-z0-9]+)$/, 'node (the .mjs bundle) or <os>-<arch>, e.g. linux-x64')
      .describe('`node`: the .mjs bundle run by Node.js on any OS; `<os>-<arch>`: a one-file executable'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256'),
    size: z.number().int().min(1).max(MAX_UPDATE_BYTES),
    path: z
      .string()
      .regex(/^\/download\/updates\/[A-Za-z0-9._-]{1,128}$/, 'a path under /download/updates/ on the agent\'s own hub')
      .describe('Where on its hub the agent downloads it (never another host)'),
  })
  .strict();
export type UpdateArtifact = z.infer<typeof UpdateArtifactSchema>;
/** Agent release versions: semver-like, no spaces (also the file names of FAROL_AGENT_UPDATES_DIR). */
export const AgentVersionSchema = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/, 'a version such as 0.2.0 or 0.2.0-rc.1');
export const AgentUpdateCommandSchema = z
  .object({
    kind: z.literal('agent_update'),
    version: AgentVersionSchema,
    artifacts: z.array(UpdateArtifactSchema).min(1).max(MAX_UPDATE_ARTIFACTS),
  })
  .strict()
  .describe('The agent downloads its build of `version` from its hub, checks it, swaps it in, restarts, and rolls back if the new version does not connect');
export type AgentUpdateCommand = z.infer<typeof AgentUpdateCommandSchema>;

export const DockerPsCommandSchema = z
  .object({
    kind: z.literal('docker_ps'),
    all: z.boolean().optional().describe('Include stopped containers; default true'),
  })
  .strict()
  .describe('The containers now, with their stats');
/** Restart, stop or start one container, named by a validated name or id (never a free string). */
export const DockerRestartCommandSchema = z
  .object({
    kind: z.literal('docker_restart'),
    container: ContainerRefSchema,
    timeoutSeconds: z.number().int().min(0).max(600).optional().describe('Grace before SIGKILL; default Docker\'s (10 s)'),
  })
  .strict();
export const DockerStopCommandSchema = z
  .object({
    kind: z.literal('docker_stop'),
    container: ContainerRefSchema,
    timeoutSeconds: z.number().int().min(0).max(600).optional().describe('Grace before SIGKILL; default Docker\'s (10 s)'),
  })
  .strict();
export const DockerStartCommandSchema = z.object({ kind: z.literal('docker_start'), container: ContainerRefSchema }).strict();
export const DockerLogsCommandSchema = z
  .object({
    kind: z.literal('docker_logs'),
    container: ContainerRefSchema,
    tail: z.number().int().min(1).max(MAX_DOCKER_LOG_TAIL).optional().describe('Last N lines; default 100'),
    since: z.number().int().nonnegative().optional().describe('Only lines after this time, seconds since epoch'),
    timestamps: z.boolean().optional().describe('Prefix each line with Docker\'s RFC 3339 timestamp'),
  })
  .strict()
  .describe('A container\'s log: its stdout in stdout, its stderr in stderr');

/**
 * What to run on a machine. A plain union (not a discriminated one) because `shell` has two
 * shapes: `argv`, or `shell: true` with a `script`; TypeScript still narrows on `kind`.
 */
export const CommandSchema = z
  .union([
    ShellArgvCommandSchema,
    ShellScriptCommandSchema,
    MetricsCommandSchema,
    ProcessesCommandSchema,
    RestartCommandSchema,
    StopCommandSchema,
    DockerPsCommandSchema,
    DockerRestartCommandSchema,
    DockerStopCommandSchema,
    DockerStartCommandSchema,
    DockerLogsCommandSchema,
    DockerDeployCommandSchema,
    DockerRemoveCommandSchema,
    DockerUpdateCommandSchema,
    DockerPullCommandSchema,
    DockerImagesCommandSchema,
    DockerPruneCommandSchema,
    ScreenshotCommandSchema,
    AgentUpdateCommandSchema,
    NetworkPingCommandSchema,
  ])
  .meta({ id: 'Command' });
export type Command = z.infer<typeof CommandSchema>;
export type CommandKind = Command['kind'];
export type ShellCommand = z.infer<typeof ShellArgvCommandSchema> | z.infer<typeof ShellScriptCommandSchema>;
export type DockerCommand = Extract<Command, { kind: (typeof DOCKER_COMMAND_KINDS)[number] | (typeof CONTAINER_MANAGE_COMMAND_KINDS)[number] }>;
export const COMMAND_KINDS = ['shell', 'metrics', 'processes', 'restart', 'stop', 'docker_ps', 'docker_restart', 'docker_stop', 'docker_start', 'docker_logs', 'docker_deploy', 'docker_rm', 'docker_update', 'docker_pull', 'docker_images', 'docker_prune', 'screenshot', 'agent_update', 'network_ping'] as const satisfies readonly CommandKind[];
/** The Docker command kinds, and those that change a container (policy group names `docker` and `docker_write`). */
export const DOCKER_COMMAND_KINDS = ['docker_ps', 'docker_restart', 'docker_stop', 'docker_start', 'docker_logs'] as const satisfies readonly CommandKind[];
export const DOCKER_WRITE_COMMAND_KINDS = ['docker_restart', 'docker_stop', 'docker_start'] as const satisfies readonly CommandKind[];
/** Issue #18: the kinds that deploy, update or remove containers and manage images (policy groups `docker.deploy`, `docker.images`). */
export const CONTAINER_MANAGE_COMMAND_KINDS = ['docker_deploy', 'docker_rm', 'docker_update', 'docker_pull', 'docker_images', 'docker_prune'] as const satisfies readonly CommandKind[];

/** The hub secrets a command asks for (fetched by the agent when it runs, never stored in the job). */
export function commandSecretNames(command: Command): readonly string[] {
  const names = command.kind === 'shell' || command.kind === 'docker_deploy' ? [...(command.secrets ?? [])] : [];
  // ADR 0023: the registry login of a pull, deploy or update is fetched the same way.
  if ((command.kind === 'docker_deploy' || command.kind === 'docker_update' || command.kind === 'docker_pull') && command.registrySecret && !names.includes(command.registrySecret)) {
    names.push(command.registrySecret);
  }
  return names;
}

const registrySecretText = (command: { registrySecret?: string | undefined }): string => (command.registrySecret ? ` --registry-secret ${command.registrySecret}` : '');

/** A one-line description of a command for logs, the audit log and tables. */
export function describeCommand(command: Command): string {
  switch (command.kind) {
    case 'shell':
      return 'script' in command ? `sh -c ${JSON.stringify(command.script)}` : command.argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
    case 'processes':
      return `processes${command.top ? ` top ${command.top}` : ''}${command.sortBy ? ` by ${command.sortBy}` : ''}`;
    case 'docker_ps':
      return command.all === false ? 'docker ps (running)' : 'docker ps';
    case 'docker_restart':
    case 'docker_stop':
    case 'docker_start':
      return `docker ${command.kind.slice('docker_'.length)} ${command.container}`;
    case 'docker_logs':
      return `docker logs ${command.container}${command.tail ? ` --tail ${command.tail}` : ''}${command.since !== undefined ? ` --since ${command.since}` : ''}`;
    case 'docker_deploy':
      return `docker deploy ${command.name} ${command.image}${(command.ports ?? []).map((p) => ` -p ${p.hostPort}:${p.containerPort}`).join('')}${(command.secrets ?? []).map((n) => ` --env-secret ${n}`).join('')}${registrySecretText(command)}`;
    case 'docker_rm':
      return `docker rm ${command.force ? '-f ' : ''}${command.container}`;
    case 'docker_update':
      return `docker update ${command.container}${registrySecretText(command)}`;
    case 'docker_pull':
      return `docker pull ${command.image}${registrySecretText(command)}`;
    case 'docker_images':
      return 'docker images';
    case 'docker_prune':
      return 'docker image prune';
    case 'screenshot':
      return `screenshot${command.display ? ` ${command.display}` : ''}${command.maxWidth ? ` max ${command.maxWidth}px wide` : ''}`;
    case 'agent_update':
      return `agent update to ${command.version}`;
    case 'network_ping':
      return `ping ${command.host}${command.count ? ` x${command.count}` : ''}`;
    default:
      return command.kind;
  }
}

// ---- structured results ----------------------------------------------------------------------

export const MetricsDataSchema = z.object({ kind: z.literal('metrics'), sample: HeartbeatSampleSchema });
export const ProcessesDataSchema = z.object({
  kind: z.literal('processes'),
  total: z.number().int().nonnegative().describe('Processes on the machine'),
  sortBy: z.enum(['cpu', 'memory']),
  processes: z.array(ProcessSampleSchema).max(MAX_PROCESS_LIST),
});
export const DockerPsDataSchema = z.object({
  kind: z.literal('docker_ps'),
  docker: DockerStatusSchema,
  containers: z.array(ContainerSampleSchema),
});
/** The container after a restart, stop or start (as `docker inspect` then sees it). */
export const DockerActionDataSchema = z.object({
  kind: z.enum(['docker_restart', 'docker_stop', 'docker_start']),
  container: ContainerSampleSchema,
  changed: z.boolean().describe('false when Docker had nothing to do (already stopped / already running)'),
});
/** What `metrics`, `processes` and the Docker commands return besides their output. */
export const CommandDataSchema = z
  .discriminatedUnion('kind', [MetricsDataSchema, ProcessesDataSchema, DockerPsDataSchema, DockerActionDataSchema, DockerDeployDataSchema, DockerUpdateDataSchema, DockerImagesDataSchema, ScreenshotDataSchema, NoDisplayDataSchema, NetworkPingDataSchema])
  .meta({ id: 'CommandData' });
export type CommandData = z.infer<typeof CommandDataSchema>;

// ---- targets and jobs ------------------------------------------------------------------------

/** Which machines: ids or names, a label selector, or every enrolled machine. */
export const JobTargetsSchema = z
  .union([
    z.object({ agents: z.array(z.string().min(1).max(128)).min(1).max(MAX_JOB_TARGETS).describe('Agent ids or names') }).strict(),
    z.object({ selector: z.string().min(1).max(1024).describe('Label selector, e.g. role=gpu,env!=dev') }).strict(),
    z.object({ all: z.literal(true) }).strict(),
  ])
  .meta({ id: 'JobTargets' });
export type JobTargets = z.infer<typeof JobTargetsSchema>;

export const TARGET_STATES = ['queued', 'sent', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'expired', 'refused'] as const;
export const TargetStateSchema = z.enum(TARGET_STATES);
export type TargetState = z.infer<typeof TargetStateSchema>;
/** States a target never leaves (except that an agent's own late result replaces a hub's guess). */
export const FINAL_TARGET_STATES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'expired', 'refused'] as const satisfies readonly TargetState[];
export type FinalTargetState = (typeof FINAL_TARGET_STATES)[number];
export const FinalTargetStateSchema = z.enum(FINAL_TARGET_STATES);
export function isFinalTargetState(state: TargetState): state is FinalTargetState {
  return (FINAL_TARGET_STATES as readonly string[]).includes(state);
}

export const JobStateSchema = z.enum(['running', 'done']).describe('done once every target is in a final state');
export type JobState = z.infer<typeof JobStateSchema>;

export const JobCreateSchema = z
  .object({
    command: CommandSchema,
    targets: JobTargetsSchema,
    ttlMs: z.number().int().min(1_000).max(MAX_JOB_TTL_MS).optional().describe('Offline targets wait this long for their machine; default 5 min'),
    timeoutMs: z.number().int().min(100).max(MAX_COMMAND_TIMEOUT_MS).optional().describe('Per target; default 60 s'),
  })
  .strict()
  .meta({ id: 'JobCreate' });
export type JobCreate = z.infer<typeof JobCreateSchema>;

/** `POST /api/agents/:id/command`: one machine. */
export const AgentCommandRequestSchema = z
  .object({
    command: CommandSchema,
    ttlMs: JobCreateSchema.shape.ttlMs,
    timeoutMs: JobCreateSchema.shape.timeoutMs,
  })
  .strict()
  .meta({ id: 'AgentCommandRequest' });
export type AgentCommandRequest = z.infer<typeof AgentCommandRequestSchema>;

export const AgentCommandQuerySchema = z.object({
  wait: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value !== 'false')
    .describe('false: answer 202 at once with the job; default: wait up to the timeout for the result'),
});

/** Counts of targets per state. */
export const TargetCountsSchema = z.record(TargetStateSchema, z.number().int().nonnegative());
export type TargetCounts = z.infer<typeof TargetCountsSchema>;

const Actor = z.string().describe('Who asked: `admin`, later an account id');

export const JobSummarySchema = z
  .object({
    id: JobIdSchema,
    command: CommandSchema,
    targetsSpec: JobTargetsSchema.describe('The targets as asked for'),
    state: JobStateSchema,
    ttlMs: z.number().int(),
    timeoutMs: z.number().int(),
    createdBy: Actor,
    createdAt: z.number().int(),
    expiresAt: z.number().int().describe('No target starts after this'),
    cancelledAt: z.number().int().nullable(),
    finishedAt: z.number().int().nullable(),
    total: z.number().int(),
    counts: TargetCountsSchema,
  })
  .meta({ id: 'JobSummary' });
export type JobSummary = z.infer<typeof JobSummarySchema>;

const OutputText = z.string().describe(`At most ${MAX_OUTPUT_BYTES} bytes (UTF-8)`);

export const JobTargetSchema = z
  .object({
    commandId: CommandIdSchema,
    agentId: AgentIdSchema,
    agentName: AgentNameSchema,
    state: TargetStateSchema,
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable().describe('The signal that ended the process, if one did'),
    stdout: OutputText,
    stderr: OutputText,
    stdoutTruncated: z.boolean(),
    stderrTruncated: z.boolean(),
    data: CommandDataSchema.nullable(),
    sentAt: z.number().int().nullable(),
    startedAt: z.number().int().nullable(),
    endedAt: z.number().int().nullable(),
    error: z.string().nullable().describe('Why it failed, was refused, timed out or expired'),
  })
  .meta({ id: 'JobTarget' });
export type JobTarget = z.infer<typeof JobTargetSchema>;

export const JobSchema = JobSummarySchema.extend({ targets: z.array(JobTargetSchema) }).meta({ id: 'Job' });
export type Job = z.infer<typeof JobSchema>;

export const JobListQuerySchema = z.object({
  state: JobStateSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional().describe('Default 50'),
  cursor: z.string().regex(/^\d+$/).optional().describe('`nextCursor` of the previous page'),
});
export type JobListQuery = z.infer<typeof JobListQuerySchema>;

export const JobListSchema = z
  .object({ jobs: z.array(JobSummarySchema), nextCursor: z.string().nullable().describe('Pass as `cursor` for older jobs; null at the end') })
  .meta({ id: 'JobList' });
export type JobList = z.infer<typeof JobListSchema>;

export const JobIdParamsSchema = z.object({ id: JobIdSchema });

// ---- the signed command (hub → agent) ---------------------------------------------------------

/**
 * Claims of the compact JWS (EdDSA, hub key) that carries a command to one agent. The agent
 * verifies it with the hub key it pinned at enrollment and trusts nothing outside it.
 */
export const CommandClaimsSchema = z.object({
  iss: z.literal('farol-hub'),
  aud: z.literal(COMMAND_AUDIENCE),
  sub: AgentIdSchema.describe('The one agent that may run it'),
  jti: z.string().min(16).max(64).describe('Unique per delivery; a second delivery of the same jti is a replay'),
  iat: z.number().int(),
  exp: z.number().int().describe('Seconds since epoch; never later than the job\'s TTL'),
  commandId: CommandIdSchema.describe('Stable across redeliveries: the agent runs a command id at most once'),
  jobId: JobIdSchema,
  command: CommandSchema,
  timeoutMs: z.number().int().min(100).max(MAX_COMMAND_TIMEOUT_MS),
});
export type CommandClaims = z.infer<typeof CommandClaimsSchema>;

/** JWS `typ` header of a job's commands signed together (one signature over a Merkle root). */
export const COMMAND_BATCH_JWS_TYPE = 'farol-command-batch+jwt';
/** At most 2^MAX_BATCH_DEPTH commands in one batch (MAX_JOB_TARGETS fits well within). */
export const MAX_BATCH_DEPTH = 24;

/**
 * What a batch signs: everything a CommandClaims holds except the per-machine part (sub,
 * commandId, jti), which is committed to by `root`, the Merkle tree head (RFC 9162 §2.1.1,
 * SHA-256) over one leaf per machine; see commandLeafHash.
 */
export const CommandBatchClaimsSchema = z.object({
  iss: z.literal('farol-hub'),
  aud: z.literal(COMMAND_AUDIENCE),
  iat: z.number().int(),
  exp: z.number().int(),
  jobId: JobIdSchema,
  command: CommandSchema,
  timeoutMs: z.number().int().min(100).max(MAX_COMMAND_TIMEOUT_MS),
  root: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url SHA-256'),
  size: z.number().int().min(1).max(2 ** MAX_BATCH_DEPTH),
});
export type CommandBatchClaims = z.infer<typeof CommandBatchClaimsSchema>;

/** One machine's part of a batch and its inclusion proof (RFC 9162 §2.1.3 audit path, leaf to root). */
export const CommandBatchProofSchema = z.object({
  sub: AgentIdSchema,
  commandId: CommandIdSchema,
  jti: z.string().min(16).max(64),
  index: z.number().int().min(0),
  path: z.array(z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url SHA-256')).max(MAX_BATCH_DEPTH),
});
export type CommandBatchProof = z.infer<typeof CommandBatchProofSchema>;

/** The hash of a batch leaf: the per-machine claims, newline-separated (ids never hold a newline). */
export function commandLeafHash(sha256: Sha256, leaf: Pick<CommandBatchProof, 'sub' | 'commandId' | 'jti'>): Uint8Array {
  return merkleLeafHash(sha256, new TextEncoder().encode(`farol-command-leaf\n${leaf.sub}\n${leaf.commandId}\n${leaf.jti}`));
}

/**
 * The CommandClaims a verified batch gives one machine, or null when the machine's inclusion
 * proof does not lead to the signed root. `decode` turns base64url into bytes.
 */
export function commandClaimsFromBatch(sha256: Sha256, batch: CommandBatchClaims, proof: CommandBatchProof, decode: (base64url: string) => Uint8Array): CommandClaims | null {
  const root = merkleRootFromPath(sha256, commandLeafHash(sha256, proof), proof.index, batch.size, proof.path.map(decode));
  const signed = decode(batch.root);
  if (!root || root.length !== signed.length || root.some((byte, i) => byte !== signed[i])) return null;
  const { root: _root, size: _size, ...common } = batch;
  return { ...common, sub: proof.sub, commandId: proof.commandId, jti: proof.jti };
}

/** A W3C `traceparent` (version 00): `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
export const TraceparentSchema = z.string().regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, 'a W3C traceparent: 00-<trace id>-<span id>-<flags>');

/**
 * `token` alone: a compact JWS over CommandClaims. With `batch`: `token` is a JWS over
 * CommandBatchClaims and `batch` says which leaf is this agent's and proves it is in the tree.
 */
export const CommandRunSchema = z.object({
  token: z.string().min(1).max(200_000).describe('Compact JWS over CommandClaims, or over CommandBatchClaims with `batch`'),
  batch: CommandBatchProofSchema.optional(),
  traceparent: TraceparentSchema.optional().describe(
    'W3C trace context of the agent\'s run of this command, present when the hub exports traces (FAROL_OTLP_ENDPOINT). Not signed and never needed: an agent may ignore it. The reference agent passes it to shell commands as the TRACEPARENT environment variable; the hub records the run as this span from the result\'s startedAt/endedAt',
  ),
});
export type CommandRun = z.infer<typeof CommandRunSchema>;

export const CommandCancelSchema = z.object({ commandId: CommandIdSchema });
export type CommandCancel = z.infer<typeof CommandCancelSchema>;

// ---- agent → hub -------------------------------------------------------------------------------

/** Bytes of a string encoded as UTF-8 (lone surrogates count as U+FFFD, 3 bytes), without encoding it. */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Output text capped in UTF-8 bytes (maxLength is only the character bound every such text also meets). */
const OutputBytes = (what: string) =>
  z
    .string()
    .max(MAX_OUTPUT_BYTES)
    .refine((text) => utf8ByteLength(text) <= MAX_OUTPUT_BYTES, { message: `${what} is at most ${MAX_OUTPUT_BYTES} bytes of UTF-8` })
    .describe(`At most ${MAX_OUTPUT_BYTES} bytes once encoded as UTF-8 (bytes, not characters)`);

/**
 * The agent's answer to `command:run`: it runs it (`accepted`), already has it (`duplicate`: a
 * redelivery; the result comes or came with `command:result`), or will not (`refused`, with why).
 */
export const CommandAckSchema = z.object({
  commandId: CommandIdSchema,
  status: z.enum(['accepted', 'duplicate', 'refused']),
  reason: z.string().max(1_000).optional(),
  at: z.number().int().describe('When the agent decided, integer ms since epoch (agent clock)'),
}).describe('refused is final: a later command:result of that command may only say refused or expired (any other state is refused with bad_request)');
export type CommandAck = z.infer<typeof CommandAckSchema>;

export const CommandOutputSchema = z.object({
  commandId: CommandIdSchema,
  stream: z.enum(['stdout', 'stderr']),
  data: OutputBytes('a chunk').describe(`UTF-8 text (never base64), at most ${MAX_OUTPUT_BYTES} bytes per chunk; the reference agent sends about 16 KiB`),
  seq: z
    .number()
    .int()
    .nonnegative()
    .describe('Per command, across both streams, from 0, +1 per chunk. Must increase: a chunk whose seq is not above the last one the hub took for that command is a repeat and is dropped (acknowledged, not relayed); gaps are allowed (output is best effort, the result carries all of it)'),
});
export type CommandOutput = z.infer<typeof CommandOutputSchema>;

export const CommandResultSchema = z.object({
  commandId: CommandIdSchema,
  state: FinalTargetStateSchema,
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  stdout: OutputBytes('stdout'),
  stderr: OutputBytes('stderr'),
  stdoutTruncated: z.boolean().describe('true when the agent cut stdout at the byte limit'),
  stderrTruncated: z.boolean(),
  data: CommandDataSchema.nullable(),
  startedAt: z.number().int().nullable().describe('ms since epoch (agent clock); null when it never started'),
  endedAt: z.number().int().describe('ms since epoch (agent clock)'),
  error: z.string().max(4_000).nullable().describe('Why it failed, was refused, timed out or expired'),
})
  .superRefine((result, ctx) => {
    if (result.state === 'succeeded' && result.exitCode !== null && result.exitCode !== 0) {
      ctx.addIssue({ code: 'custom', path: ['exitCode'], message: `a succeeded result has exit code 0 (or null), not ${result.exitCode}: report state failed` });
    }
    if (result.state === 'succeeded' && result.signal !== null) {
      ctx.addIssue({ code: 'custom', path: ['signal'], message: 'a succeeded result was not ended by a signal' });
    }
  })
  .describe('The final answer to a command. Consistent: succeeded means exitCode 0 (or null for kinds without a process) and no signal; a non-zero exit is failed');
export type CommandResult = z.infer<typeof CommandResultSchema>;

export const CommandResultAckSchema = z.object({ stored: z.boolean().describe('false when the hub already had this result') });

// ---- /ui ---------------------------------------------------------------------------------------

/** A job changed (summary only), to every dashboard. */
export const JobUpdateEventSchema = z.object({ job: JobSummarySchema });
export type JobUpdateEvent = z.infer<typeof JobUpdateEventSchema>;

/** One target changed; to the sockets watching the job. Output is included once it is final. */
export const JobTargetEventSchema = z.object({ jobId: JobIdSchema, target: JobTargetSchema });
export type JobTargetEvent = z.infer<typeof JobTargetEventSchema>;

/** A chunk of a running target's output; to the sockets watching the job. */
export const JobOutputEventSchema = z.object({
  jobId: JobIdSchema,
  commandId: CommandIdSchema,
  agentId: AgentIdSchema,
  stream: z.enum(['stdout', 'stderr']),
  data: z.string(),
  seq: z.number().int().nonnegative(),
});
export type JobOutputEvent = z.infer<typeof JobOutputEventSchema>;

export const JobWatchRequestSchema = z.object({ jobId: JobIdSchema });
/** The job as it is when watching starts: the output so far, and the last chunk seq it includes per target. */
export const JobWatchAckSchema = z.object({
  job: JobSchema,
  outputSeq: z.record(CommandIdSchema, z.number().int()).describe('Chunks with seq <= this are already in the targets\' output'),
});
export type JobWatchAck = z.infer<typeof JobWatchAckSchema>;
