import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema } from './agents.js';
import { CommandIdSchema, JobIdSchema } from './jobs.js';
import { DisplayNameSchema, MAX_SCREENSHOT_BYTES, MAX_SCREENSHOT_DIMENSION, SCREENSHOT_CHUNK_BYTES, Sha256HexSchema } from './screenshot.js';

export const ScreenshotIdSchema = z.string().regex(/^shot_[a-z0-9]{16}$/, 'screenshot ids look like shot_ followed by 16 chars');

// ---- /agent: the chunked upload ------------------------------------------------------------------

/**
 * One chunk of a screenshot, agent → hub, sent before the `command:result` that describes it.
 * Resumable and idempotent: the hub appends `data` only when `offset` equals what it already
 * holds, and always answers with how much it holds, so the agent continues from there (after a
 * reconnect, or when a chunk was delivered twice). `data` travels as a Socket.IO binary
 * attachment, not base64.
 */
export const ScreenshotUploadSchema = z.object({
  commandId: CommandIdSchema,
  total: z.number().int().min(1).max(MAX_SCREENSHOT_BYTES).describe('Size of the whole PNG'),
  sha256: Sha256HexSchema.describe('Of the whole PNG; the same in every chunk'),
  offset: z.number().int().nonnegative().max(MAX_SCREENSHOT_BYTES),
  data: z
    .custom<Uint8Array>((value) => value instanceof Uint8Array, { message: 'binary data' })
    .refine((bytes) => bytes.byteLength >= 1 && bytes.byteLength <= SCREENSHOT_CHUNK_BYTES, { message: `1 to ${SCREENSHOT_CHUNK_BYTES} bytes` }),
});
export type ScreenshotUpload = z.infer<typeof ScreenshotUploadSchema>;

export const ScreenshotUploadAckSchema = z.object({
  received: z.number().int().nonnegative().describe('Bytes the hub holds from offset 0; send the next chunk from here'),
});
export type ScreenshotUploadAck = z.infer<typeof ScreenshotUploadAckSchema>;

// ---- REST ----------------------------------------------------------------------------------------

/** `POST /api/agents/:id/screenshot`: every field optional (an empty body is fine). */
export const ScreenshotRequestSchema = z
  .object({
    display: DisplayNameSchema.optional().describe('X11 display, e.g. :0; default the agent\'s'),
    maxWidth: z.number().int().min(16).max(MAX_SCREENSHOT_DIMENSION).optional().describe('Scale down to at most this width'),
    timeoutMs: z.number().int().min(1_000).max(300_000).optional().describe('How long the capture and upload may take; default 30 s'),
  })
  .strict()
  .meta({ id: 'ScreenshotRequest' });
export type ScreenshotRequest = z.infer<typeof ScreenshotRequestSchema>;

/** A stored screenshot. */
export const ScreenshotInfoSchema = z
  .object({
    id: ScreenshotIdSchema,
    url: z.string().describe('GET it (same origin, operator auth) for the PNG'),
    agentId: AgentIdSchema,
    agentName: AgentNameSchema,
    jobId: JobIdSchema,
    commandId: CommandIdSchema,
    createdBy: z.string().describe('The operator who took it'),
    createdAt: z.number().int(),
    format: z.literal('png'),
    width: z.number().int(),
    height: z.number().int(),
    bytes: z.number().int(),
    sha256: Sha256HexSchema,
    display: z.string().nullable(),
    method: z.string(),
  })
  .meta({ id: 'ScreenshotInfo' });
export type ScreenshotInfo = z.infer<typeof ScreenshotInfoSchema>;

export const ScreenshotIdParamsSchema = z.object({ id: ScreenshotIdSchema });

/** The media types a screenshot route can answer with, by `Accept`. */
export const SCREENSHOT_MEDIA_TYPE = 'image/png';
