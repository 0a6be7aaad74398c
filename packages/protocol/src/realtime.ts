import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema, AgentStatusSchema, LabelsSchema } from './agents.js';
import { ErrorCodeSchema, type ErrorAck, type ErrorCode } from './errors.js';
import {
  CommandAckSchema,
  CommandCancelSchema,
  CommandOutputSchema,
  CommandResultAckSchema,
  CommandResultSchema,
  CommandRunSchema,
  JobOutputEventSchema,
  JobTargetEventSchema,
  JobUpdateEventSchema,
  JobWatchAckSchema,
  JobWatchRequestSchema,
} from './jobs.js';
import { HeartbeatSampleSchema, HISTORY_METRICS, SystemInfoSchema } from './telemetry.js';
import { AlertChangedEventSchema } from './alerts.js';
import { CheckResultsAckSchema, CheckResultsSchema, ChecksAssignSchema, ChecksRunNowSchema } from './checks.js';
import { SecretsFetchAckSchema, SecretsFetchSchema } from './secrets.js';
import { RegistryCredentialsFetchAckSchema, RegistryCredentialsFetchSchema } from './containers.js';
import { TailscaleReportSchema } from './network.js';
import { ScreenshotUploadAckSchema, ScreenshotUploadSchema } from './screenshot-api.js';
import {
  TerminalCloseSchema,
  TerminalClosedSchema,
  TerminalExitSchema,
  TerminalInputSchema,
  TerminalOpenAckSchema,
  TerminalOpenedSchema,
  TerminalOpenRequestSchema,
  TerminalOpenSchema,
  TerminalOutputSchema,
  TerminalResizeSchema,
} from './terminal.js';

/** Socket.IO namespaces. */
export const AGENT_NAMESPACE = '/agent';
export const UI_NAMESPACE = '/ui';

/** What an agent puts in the Socket.IO handshake `auth`. */
export const AgentHandshakeAuthSchema = z.object({
  protocolVersion: z.number().int(),
  token: z.string().min(1).max(4096).describe('EdDSA JWT signed by the agent key, lifetime <= 60 s'),
});
export type AgentHandshakeAuth = z.infer<typeof AgentHandshakeAuthSchema>;

/** What a dashboard or the CLI puts in the Socket.IO handshake `auth`. */
export const UiHandshakeAuthSchema = z.object({ token: z.string().min(1).max(4096) });

/**
 * `data` of a refused connection (Socket.IO `connect_error`). On the wire it is the CONNECT_ERROR
 * packet `44/agent,{"message":"…","data":{ code, message, supportedProtocolVersions? }}`: the
 * Socket.IO JS client exposes the inner object as `error.data`; other clients (python-socketio)
 * hand over the whole `{ message, data }`, so read `.data` one level deeper.
 */
export const ConnectErrorDataSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  supportedProtocolVersions: z.object({ min: z.number().int(), max: z.number().int() }).optional().describe('With protocol_version_unsupported: the versions this hub accepts'),
});
export type ConnectErrorData = z.infer<typeof ConnectErrorDataSchema>;

/**
 * Connect refusals after which an agent must stop reconnecting (and exit with a clear message):
 * retrying cannot succeed until a person acts. Every other code (token_expired: fix the clock;
 * unavailable, internal, agent_unknown after a restore) is retried with backoff.
 */
export const STOP_RETRYING_CODES = ['agent_deleted', 'key_revoked', 'protocol_version_unsupported'] as const satisfies readonly ErrorCode[];

/**
 * Claims of the hub's proof in the `agent:hello` ack: a compact JWS, header
 * `{ alg: "EdDSA", typ: "JWT" }`, signed by the hub key the agent pinned at enrollment.
 */
export const HubProofClaimsSchema = z.object({
  iss: z.literal('farol-hub'),
  sub: z.string().describe('The agent id the connection was authenticated as'),
  nonce: z.string().describe('The challenge of this hello, byte for byte'),
  iat: z.number().int().describe('Seconds since epoch'),
  exp: z.number().int().describe('Seconds since epoch, iat + 60'),
});
export type HubProofClaims = z.infer<typeof HubProofClaimsSchema>;

/** A successful acknowledgement. */
export type OkAck<T> = { ok: true; data: T };
export type Ack<T> = OkAck<T> | ErrorAck;

// ---- /agent namespace: agent → hub -------------------------------------------------------

export const AgentHelloSchema = z.object({
  system: SystemInfoSchema,
  heartbeatIntervalMs: z.number().int().min(1_000).max(3_600_000),
  challenge: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url')
    .describe('32 fresh random bytes, base64url without padding (43 chars); the hub signs it back as `nonce` in `proof`'),
}).describe('The first event of every connection, exactly once: a second hello on the same connection is refused with bad_request');
export type AgentHello = z.infer<typeof AgentHelloSchema>;

export const AgentHelloAckSchema = z.object({
  agentId: AgentIdSchema,
  name: AgentNameSchema.describe('The name the hub knows the agent by now (it may have been renamed)'),
  labels: LabelsSchema,
  proof: z.string().describe('Compact JWS (EdDSA) by the hub key over HubProofClaims { iss: farol-hub, sub: agentId, nonce: challenge, iat, exp }'),
  serverTime: z.number().int().describe('Hub clock, ms since epoch: samples stamped more than maxSampleFutureSkewMs ahead of it are refused'),
});
export type AgentHelloAck = z.infer<typeof AgentHelloAckSchema>;

/** Heartbeats, live (one sample) or backfilled from the agent's buffer (many, oldest first). */
export const MetricsReportSchema = z.object({
  samples: z
    .array(HeartbeatSampleSchema)
    .min(1)
    .max(1000)
    .describe(
      'In any order (the hub stores by ts; the newest ts becomes the machine\'s latest only if newer than what it has). The whole message must stay under maxMessageBytes: split a backfill by bytes as well as count (the reference agent sends at most 500 samples and 512 KiB). A sample with ts more than maxSampleFutureSkewMs ahead of the hub, or older than maxSampleAgeMs, refuses the whole report with validation_failed',
    ),
});
export type MetricsReport = z.infer<typeof MetricsReportSchema>;

export const MetricsReportAckSchema = z.object({
  stored: z.number().int().describe('Samples newly stored'),
  duplicates: z.number().int().describe('Samples the hub already had (same timestamp)'),
});
export type MetricsReportAck = z.infer<typeof MetricsReportAckSchema>;

export const EmptySchema = z.object({}).strict();

/**
 * Every event an agent may send, with its payload schema and the schema of the ack data.
 * The hub validates each payload against this table; an event not in it is `unknown_event`.
 */
/** A sample streamed while someone watches the machine live; relayed, not stored. */
export const MetricsLiveSchema = z.object({ sample: HeartbeatSampleSchema });
export type MetricsLive = z.infer<typeof MetricsLiveSchema>;

export const agentToHubEvents = {
  'agent:hello': { payload: AgentHelloSchema, ack: AgentHelloAckSchema },
  'metrics:report': { payload: MetricsReportSchema, ack: MetricsReportAckSchema },
  'agent:info': { payload: SystemInfoSchema, ack: EmptySchema },
  'metrics:live': { payload: MetricsLiveSchema, ack: EmptySchema },
  // Remote commands (protocol 1 additions): see docs/protocol.md.
  'command:ack': { payload: CommandAckSchema, ack: EmptySchema },
  'command:output': { payload: CommandOutputSchema, ack: EmptySchema },
  'command:result': { payload: CommandResultSchema, ack: CommandResultAckSchema },
  // Secrets for a command about to run (see docs/protocol.md, Secrets).
  'secrets:fetch': { payload: SecretsFetchSchema, ack: SecretsFetchAckSchema },
  // Private registries (ADR 0023): a registry login for the background digest check.
  'registry:credentials': { payload: RegistryCredentialsFetchSchema, ack: RegistryCredentialsFetchAckSchema },
  // Screenshots: the PNG in chunks, before its command:result (docs/protocol.md#screenshots).
  'screenshot:upload': { payload: ScreenshotUploadSchema, ack: ScreenshotUploadAckSchema },
  // Terminal (issue #3): see docs/protocol.md. Output is acknowledged once the operator has it (flow control).
  'terminal:opened': { payload: TerminalOpenedSchema, ack: EmptySchema },
  'terminal:output': { payload: TerminalOutputSchema, ack: EmptySchema },
  'terminal:exit': { payload: TerminalExitSchema, ack: EmptySchema },
  // Service checks (issue #19): results of the checks the hub assigned, live or from the buffer.
  'check:results': { payload: CheckResultsSchema, ack: CheckResultsAckSchema },
  // The network (issue #19): the machine's `tailscale status --json`, reduced; untrusted data.
  'tailscale:report': { payload: TailscaleReportSchema, ack: EmptySchema },
} as const;
export type AgentToHubEventName = keyof typeof agentToHubEvents;

type EventHandlers<T extends Record<string, { payload: z.ZodType; ack: z.ZodType }>> = {
  [K in keyof T]: (payload: z.input<T[K]['payload']>, ack: (response: Ack<z.infer<T[K]['ack']>>) => void) => void;
};

/** Socket.IO typing for the /agent namespace, derived from the table above. */
export type AgentClientToServerEvents = EventHandlers<typeof agentToHubEvents>;

/**
 * Live mode: while at least one dashboard watches a machine, the hub asks its agent to stream
 * samples every `intervalMs` (1 s) with `metrics:live`; `intervalMs: null` ends it. The
 * regular heartbeats (stored) go on unchanged.
 */
export const TelemetryLiveSchema = z.object({
  intervalMs: z.number().int().min(250).max(60_000).nullable(),
});
export type TelemetryLive = z.infer<typeof TelemetryLiveSchema>;

/**
 * The hub is shutting down (SIGTERM) and will close this connection: come back after
 * `retryAfterMs` instead of at once. The hub spreads the values over its fleet, so a restart
 * is not followed by every agent reconnecting in the same second (issue #12).
 */
export const HubDrainingSchema = z.object({
  retryAfterMs: z.number().int().min(0).max(600_000).describe('Wait this long before the first reconnect attempt; back off as usual if it fails'),
  reason: z
    .enum(['shutdown', 'rebalance'])
    .optional()
    .describe('shutdown (absent from older hubs): the hub is stopping; rebalance: it holds more than its share of the fleet and asks this agent to reconnect to another hub'),
  hubUrl: z
    .string()
    .max(2048)
    .optional()
    .describe('rebalance: the hub to reconnect to, one with less than its share; an agent uses it only when it is one of its own hub URLs, else it tries its next hub'),
});
export type HubDraining = z.infer<typeof HubDrainingSchema>;

export const hubToAgentEvents = {
  'telemetry:live': TelemetryLiveSchema,
  /** The hub is stopping, or asks the agent to move to another hub; reconnect after `retryAfterMs`. */
  'hub:draining': HubDrainingSchema,
  /** A signed command for this agent; answered with `command:ack`, finished with `command:result`. */
  'command:run': CommandRunSchema,
  /** Stop a running command (its whole process tree). */
  'command:cancel': CommandCancelSchema,
  /** Open a terminal: a signed opening; answered with `terminal:opened`. */
  'terminal:open': TerminalOpenSchema,
  'terminal:input': TerminalInputSchema,
  'terminal:resize': TerminalResizeSchema,
  'terminal:close': TerminalCloseSchema,
  /** Service checks (issue #19): the complete list this agent runs, after every hello and on change. */
  'checks:assign': ChecksAssignSchema,
  /** Run these assigned checks now. */
  'checks:run': ChecksRunNowSchema,
} as const;

/** Events the hub sends an agent. */
export type AgentServerToClientEvents = {
  [K in keyof typeof hubToAgentEvents]: (payload: z.infer<(typeof hubToAgentEvents)[K]>) => void;
};

// ---- /ui namespace: hub → dashboards and CLI -----------------------------------------------

export const AgentStatusEventSchema = z.object({
  agentId: AgentIdSchema,
  name: AgentNameSchema,
  status: AgentStatusSchema,
  lastSeen: z.number().int().nullable(),
  at: z.number().int(),
  reason: z.enum(['connected', 'disconnected', 'heartbeat_missed', 'deleted', 'hub_shutdown']),
});
export type AgentStatusEvent = z.infer<typeof AgentStatusEventSchema>;

export const MetricsUpdateEventSchema = z.object({
  agentId: AgentIdSchema,
  ts: z.number().int(),
  values: z.record(z.enum(HISTORY_METRICS), z.number().nullable()),
});
export type MetricsUpdateEvent = z.infer<typeof MetricsUpdateEventSchema>;

export const AgentRemovedEventSchema = z.object({ agentId: AgentIdSchema });

/** A machine was renamed or relabelled (by anyone, anywhere): every open dashboard follows. */
export const AgentUpdatedEventSchema = z.object({
  agentId: AgentIdSchema,
  name: AgentNameSchema,
  labels: LabelsSchema,
  at: z.number().int(),
});
export type AgentUpdatedEvent = z.infer<typeof AgentUpdatedEventSchema>;

/**
 * Several hubs (issue #14): the hub was cut off from the others for `lostForMs` (Redis away),
 * so events of that time may never have reached this socket. A dashboard reads again what it
 * shows (the fleet, open jobs, alerts) instead of trusting its copy.
 */
export const HubResyncEventSchema = z.object({ lostForMs: z.number().int().nonnegative() });
export type HubResyncEvent = z.infer<typeof HubResyncEventSchema>;

/** A live sample of a watched machine, sent only to the sockets watching it. */
export const MetricsLiveEventSchema = z.object({ agentId: AgentIdSchema, sample: HeartbeatSampleSchema });
export type MetricsLiveEvent = z.infer<typeof MetricsLiveEventSchema>;

export const hubToUiEvents = {
  'agent:status': AgentStatusEventSchema,
  'metrics:update': MetricsUpdateEventSchema,
  'agent:removed': AgentRemovedEventSchema,
  'agent:updated': AgentUpdatedEventSchema,
  'metrics:live': MetricsLiveEventSchema,
  'job:update': JobUpdateEventSchema,
  'job:target': JobTargetEventSchema,
  'job:output': JobOutputEventSchema,
  /** Sent with an ack callback: acknowledge once the chunk is on screen (flow control). */
  'terminal:output': TerminalOutputSchema,
  'terminal:closed': TerminalClosedSchema,
  /** An alert changed state or was sent again (issue #4). */
  'alert:changed': AlertChangedEventSchema,
  /** Events may have been missed (issue #14): read again what is shown. */
  'hub:resync': HubResyncEventSchema,
} as const;

export type UiServerToClientEvents = {
  [K in keyof typeof hubToUiEvents]: (payload: z.infer<(typeof hubToUiEvents)[K]>) => void;
};

export const WatchRequestSchema = z.object({ agentId: AgentIdSchema });
export const WatchAckSchema = z.object({
  intervalMs: z.number().int().describe('How often live samples will arrive'),
  online: z.boolean().describe('false when the agent is offline: samples start when it returns'),
});

/**
 * Events a dashboard may send. Watching starts live mode for that machine (samples every
 * second over `metrics:live`) until `agent:unwatch` or the socket closes.
 */
export const uiToHubEvents = {
  'agent:watch': { payload: WatchRequestSchema, ack: WatchAckSchema },
  'agent:unwatch': { payload: WatchRequestSchema, ack: EmptySchema },
  /** Receive `job:target` and `job:output` of one job until `job:unwatch` or the socket closes. */
  'job:watch': { payload: JobWatchRequestSchema, ack: JobWatchAckSchema },
  'job:unwatch': { payload: JobWatchRequestSchema, ack: EmptySchema },
  /** An interactive shell on a machine; the ack comes once the agent has started it. */
  'terminal:open': { payload: TerminalOpenRequestSchema, ack: TerminalOpenAckSchema },
  'terminal:input': { payload: TerminalInputSchema, ack: EmptySchema },
  'terminal:resize': { payload: TerminalResizeSchema, ack: EmptySchema },
  'terminal:close': { payload: TerminalCloseSchema, ack: EmptySchema },
} as const;
export type UiClientToServerEvents = EventHandlers<typeof uiToHubEvents>;
