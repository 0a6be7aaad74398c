import { z } from 'zod';
import { ErrorAckSchema, ERROR_CODES, ERROR_HTTP_STATUS } from './errors.js';
import { EnrollRequestSchema, EnrollResponseSchema } from './enrollment.js';
import { MAX_OUTPUT_BYTES, MAX_JOB_TARGETS, COMMAND_ID_MEMORY_MS, MAX_BATCH_DEPTH, CommandClaimsSchema, CommandBatchClaimsSchema, COMMAND_AUDIENCE, COMMAND_JWS_TYPE, COMMAND_BATCH_JWS_TYPE } from './jobs.js';
import {
  AgentHandshakeAuthSchema,
  agentToHubEvents,
  ConnectErrorDataSchema,
  HubProofClaimsSchema,
  hubToAgentEvents,
  hubToUiEvents,
  STOP_RETRYING_CODES,
  UiHandshakeAuthSchema,
  uiToHubEvents,
} from './realtime.js';
import { MAX_SAMPLE_AGE_MS, MAX_SAMPLE_FUTURE_SKEW_MS } from './telemetry.js';
import { MAX_SCREENSHOT_BYTES, SCREENSHOT_CHUNK_BYTES } from './screenshot.js';
import {
  AGENT_TOKEN_AUDIENCE,
  AGENT_TOKEN_MAX_LIFETIME_SECONDS,
  BAD_MESSAGE_WINDOW_MS,
  MAX_BAD_MESSAGES,
  HUB_PROOF_ISSUER,
  MAX_MESSAGE_BYTES,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
} from './version.js';

/** Where the hub serves this document. */
export const PROTOCOL_SCHEMA_PATH = '/api/protocol.json';

type JsonSchema = Record<string, unknown>;

/**
 * One schema as JSON Schema 2020-12, as a peer must SEND it (`io: 'input'`: defaults optional,
 * transforms seen from their input side). Binary attachments (screenshot chunks, terminal
 * bytes) have no JSON form; they are described as such.
 */
function toJson(schema: z.ZodType, defs: Record<string, JsonSchema>): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const def = (ctx.zodSchema as { _zod: { def: { type: string } } })._zod.def;
      if (def.type === 'custom') {
        ctx.jsonSchema.description = 'Binary: a Socket.IO binary attachment (a placeholder { "_placeholder": true, "num": n } in the JSON packet, the bytes in the following frame); never base64 text';
        ctx.jsonSchema.contentMediaType = 'application/octet-stream';
      }
    },
  }) as JsonSchema;
  // Named schemas (HeartbeatSample, Command, ...) go to the document's one $defs, so `#/$defs/X`
  // resolves from the root and each appears once.
  const { $schema: _schema, $defs, ...rest } = json as JsonSchema & { $defs?: Record<string, JsonSchema> };
  for (const [id, def] of Object.entries($defs ?? {})) {
    const known = defs[id];
    if (known && JSON.stringify(known) !== JSON.stringify(def)) throw new Error(`two different schemas are named ${id}`);
    defs[id] = def;
  }
  return rest;
}

function withAcks(table: Record<string, { payload: z.ZodType; ack: z.ZodType }>, defs: Record<string, JsonSchema>): Record<string, { payload: JsonSchema; ack: JsonSchema }> {
  return Object.fromEntries(
    Object.entries(table).map(([event, { payload, ack }]) => [
      event,
      {
        payload: toJson(payload, defs),
        ack: toJson(z.union([z.object({ ok: z.literal(true), data: ack }), ErrorAckSchema]), defs),
      },
    ]),
  );
}

function payloadsOnly(table: Record<string, z.ZodType>, defs: Record<string, JsonSchema>): Record<string, { payload: JsonSchema }> {
  return Object.fromEntries(Object.entries(table).map(([event, payload]) => [event, { payload: toJson(payload, defs) }]));
}

/**
 * The machine-readable agent and `/ui` protocol: every event's payload and acknowledgement, the
 * handshakes, the connect error, the signed claims an agent verifies, and the limits the hub
 * enforces. Served at `GET /api/protocol.json` and committed as docs/protocol.schema.json
 * (`node scripts/protocol-schema.mjs`); a test fails when the two drift.
 */
export function buildProtocolSchema(): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  const document: JsonSchema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:farol:protocol',
    title: 'Farol agent and dashboard protocol',
    description:
      'Socket.IO 4 (Engine.IO 4 wire protocol, EIO=4) over WebSocket. Each entry under namespaces.*.events is one event: `payload` is the first argument, `ack` the acknowledgement the hub calls back with (every client → hub event must be emitted with an ack callback). Prose: docs/protocol.md.',
    protocolVersion: PROTOCOL_VERSION,
    supportedProtocolVersions: { min: MIN_PROTOCOL_VERSION, max: MAX_PROTOCOL_VERSION },
    limits: {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      agentTokenMaxLifetimeSeconds: AGENT_TOKEN_MAX_LIFETIME_SECONDS,
      agentTokenClockSkewSeconds: 30,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      maxSampleFutureSkewMs: MAX_SAMPLE_FUTURE_SKEW_MS,
      maxSampleAgeMs: MAX_SAMPLE_AGE_MS,
      maxSamplesPerReport: 1000,
      maxJobTargets: MAX_JOB_TARGETS,
      maxBatchDepth: MAX_BATCH_DEPTH,
      commandIdMemoryMs: COMMAND_ID_MEMORY_MS,
      screenshotChunkBytes: SCREENSHOT_CHUNK_BYTES,
      maxScreenshotBytes: MAX_SCREENSHOT_BYTES,
      maxBadMessages: MAX_BAD_MESSAGES,
      badMessageWindowMs: BAD_MESSAGE_WINDOW_MS,
      missedHeartbeatsBeforeOffline: 3,
    },
    constants: {
      agentTokenAudience: AGENT_TOKEN_AUDIENCE,
      hubProofIssuer: HUB_PROOF_ISSUER,
      commandAudience: COMMAND_AUDIENCE,
      commandJwsType: COMMAND_JWS_TYPE,
      commandBatchJwsType: COMMAND_BATCH_JWS_TYPE,
    },
    errorCodes: Object.fromEntries(ERROR_CODES.map((code) => [code, { httpStatus: ERROR_HTTP_STATUS[code], stopRetrying: STOP_RETRYING_CODES.includes(code as (typeof STOP_RETRYING_CODES)[number]) }])),
    enrollment: {
      'POST /api/enroll': { request: toJson(EnrollRequestSchema, defs), response: toJson(EnrollResponseSchema, defs) },
    },
    signed: {
      hubProofClaims: toJson(HubProofClaimsSchema, defs),
      commandClaims: toJson(CommandClaimsSchema, defs),
      commandBatchClaims: toJson(CommandBatchClaimsSchema, defs),
    },
    namespaces: {
      '/agent': {
        handshakeAuth: toJson(AgentHandshakeAuthSchema, defs),
        connectError: toJson(ConnectErrorDataSchema, defs),
        clientToServer: withAcks(agentToHubEvents, defs),
        serverToClient: payloadsOnly(hubToAgentEvents, defs),
      },
      '/ui': {
        handshakeAuth: toJson(UiHandshakeAuthSchema, defs),
        connectError: toJson(ConnectErrorDataSchema, defs),
        clientToServer: withAcks(uiToHubEvents, defs),
        serverToClient: payloadsOnly(hubToUiEvents, defs),
      },
    },
  };
  document.$defs = Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b)));
  return document;
}

/** The document as committed: two-space JSON and a final newline. */
export function protocolSchemaText(): string {
  return `${JSON.stringify(buildProtocolSchema(), null, 2)}\n`;
}
