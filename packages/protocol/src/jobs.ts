import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema } from './agents.js';
import { NoDisplayDataSchema, ScreenshotCommandSchema, ScreenshotDataSchema } from './screenshot.js';
import { HeartbeatSampleSchema, ProcessSampleSchema } from './telemetry.js';
import { MAX_SECRETS_PER_COMMAND, SecretNameSchema } from './secrets.js';
import { ContainerRefSchema, ContainerSampleSchema, DockerStatusSchema, MAX_DOCKER_LOG_TAIL } from './docker.js';

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
    ScreenshotCommandSchema,
  ])
  .meta({ id: 'Command' });
export type Command = z.infer<typeof CommandSchema>;
export type CommandKind = Command['kind'];
export type ShellCommand = z.infer<typeof ShellArgvCommandSchema> | z.infer<typeof ShellScriptCommandSchema>;
export type DockerCommand = Extract<Command, { kind: (typeof DOCKER_COMMAND_KINDS)[number] }>;
export const COMMAND_KINDS = ['shell', 'metrics', 'processes', 'restart', 'stop', 'docker_ps', 'docker_restart', 'docker_stop', 'docker_start', 'docker_logs', 'screenshot'] as const satisfies readonly CommandKind[];
/** The Docker command kinds, and those that change a container (policy group names `docker` and `docker_write`). */
export const DOCKER_COMMAND_KINDS = ['docker_ps', 'docker_restart', 'docker_stop', 'docker_start', 'docker_logs'] as const satisfies readonly CommandKind[];
export const DOCKER_WRITE_COMMAND_KINDS = ['docker_restart', 'docker_stop', 'docker_start'] as const satisfies readonly CommandKind[];

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
    case 'screenshot':
      return `screenshot${command.display ? ` ${command.display}` : ''}${command.maxWidth ? ` max ${command.maxWidth}px wide` : ''}`;
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
  .discriminatedUnion('kind', [MetricsDataSchema, ProcessesDataSchema, DockerPsDataSchema, DockerActionDataSchema, ScreenshotDataSchema, NoDisplayDataSchema])
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
 * SHA-256) over one leaf per machine; see commandLeafBytes.
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

/** The bytes of a batch leaf: the per-machine claims, newline-separated (ids never hold a newline). */
export function commandLeafBytes(leaf: Pick<CommandBatchProof, 'sub' | 'commandId' | 'jti'>): string {
  return `farol-command-leaf\n${leaf.sub}\n${leaf.commandId}\n${leaf.jti}`;
}

/**
 * `token` alone: a compact JWS over CommandClaims. With `batch`: `token` is a JWS over
 * CommandBatchClaims and `batch` says which leaf is this agent's and proves it is in the tree.
 */
export const CommandRunSchema = z.object({
  token: z.string().min(1).max(200_000).describe('Compact JWS over CommandClaims, or over CommandBatchClaims with `batch`'),
  batch: CommandBatchProofSchema.optional(),
});
export type CommandRun = z.infer<typeof CommandRunSchema>;

export const CommandCancelSchema = z.object({ commandId: CommandIdSchema });
export type CommandCancel = z.infer<typeof CommandCancelSchema>;

// ---- agent → hub -------------------------------------------------------------------------------

/**
 * The agent's answer to `command:run`: it runs it (`accepted`), already has it (`duplicate`: a
 * redelivery; the result comes or came with `command:result`), or will not (`refused`, with why).
 */
export const CommandAckSchema = z.object({
  commandId: CommandIdSchema,
  status: z.enum(['accepted', 'duplicate', 'refused']),
  reason: z.string().max(1_000).optional(),
  at: z.number().int().describe('Agent clock, ms'),
});
export type CommandAck = z.infer<typeof CommandAckSchema>;

export const CommandOutputSchema = z.object({
  commandId: CommandIdSchema,
  stream: z.enum(['stdout', 'stderr']),
  data: z.string().max(MAX_OUTPUT_BYTES),
  seq: z.number().int().nonnegative().describe('Per command, across both streams, from 0'),
});
export type CommandOutput = z.infer<typeof CommandOutputSchema>;

export const CommandResultSchema = z.object({
  commandId: CommandIdSchema,
  state: FinalTargetStateSchema,
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  stdout: z.string().max(MAX_OUTPUT_BYTES),
  stderr: z.string().max(MAX_OUTPUT_BYTES),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  data: CommandDataSchema.nullable(),
  startedAt: z.number().int().nullable(),
  endedAt: z.number().int(),
  error: z.string().max(4_000).nullable(),
});
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
