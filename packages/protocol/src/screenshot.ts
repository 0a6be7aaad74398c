import { z } from 'zod';

// The `screenshot` command and what it returns. The image itself never rides in a result: it
// is uploaded in chunks first (screenshot-api.ts), because a PNG easily passes the 1 MB
// message cap. No import from jobs.ts here: jobs.ts imports this file.

/** Largest PNG an agent may upload (a 4K desktop full of noise is ~25 MB). */
export const MAX_SCREENSHOT_BYTES = 48 * 1024 * 1024;
/** Bytes per `screenshot:upload` chunk; well under MAX_MESSAGE_BYTES with the envelope. */
export const SCREENSHOT_CHUNK_BYTES = 512 * 1024;
/** Widest and tallest image an agent will encode (X11's own limit is 32767). */
export const MAX_SCREENSHOT_DIMENSION = 32_767;

/**
 * An X display name as `DISPLAY` spells it: `:0`, `:1.0`, `unix:0`, `host:0`. Strict, so it
 * can be handed to a capture tool as one argument without surprises.
 */
export const DisplayNameSchema = z
  .string()
  .max(270)
  .regex(/^(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])?:\d{1,5}(?:\.\d{1,3})?$/, 'displays look like :0, :1.0 or host:0');

export const ScreenshotCommandSchema = z
  .object({
    kind: z.literal('screenshot'),
    display: DisplayNameSchema.optional().describe('X11 display; default the agent\'s DISPLAY, else the first local X server'),
    maxWidth: z.number().int().min(16).max(MAX_SCREENSHOT_DIMENSION).optional().describe('Scale down (keeping the aspect ratio) to at most this width'),
    format: z.literal('png').optional().describe('Always PNG'),
  })
  .strict()
  .describe('A PNG of the whole screen');
export type ScreenshotCommand = z.infer<typeof ScreenshotCommandSchema>;

export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex');

/** A captured image: what the agent measured, plus the id the hub gave it once stored. */
export const ScreenshotDataSchema = z.object({
  kind: z.literal('screenshot'),
  format: z.literal('png'),
  width: z.number().int().min(1).max(MAX_SCREENSHOT_DIMENSION),
  height: z.number().int().min(1).max(MAX_SCREENSHOT_DIMENSION),
  bytes: z.number().int().min(1).max(MAX_SCREENSHOT_BYTES),
  sha256: Sha256HexSchema,
  display: z.string().max(300).nullable().describe('The X display captured; null on macOS, Windows and Wayland'),
  method: z.string().max(64).describe('How it was captured: x11 (the agent\'s own X client), import, xwd, grim, screencapture, powershell ...'),
  screenshotId: z
    .string()
    .regex(/^shot_[a-z0-9]{16}$/)
    .optional()
    .describe('Set by the hub once the image is stored: GET /api/screenshots/{screenshotId}'),
});
export type ScreenshotData = z.infer<typeof ScreenshotDataSchema>;

/**
 * A machine with nothing to capture (no DISPLAY, no X server socket, no Wayland, no desktop
 * session): a distinct outcome, not a failure of the agent. The target state is `failed`.
 */
export const NoDisplayDataSchema = z.object({
  kind: z.literal('no_display'),
  detail: z.string().max(1_000),
});
export type NoDisplayData = z.infer<typeof NoDisplayDataSchema>;
