import { z } from 'zod';
import { AgentIdSchema, AgentNameSchema } from './agents.js';

// ---- limits ---------------------------------------------------------------------------------

/** Audience of the hub's signed terminal openings (distinct from commands: one cannot pass for the other). */
export const TERMINAL_AUDIENCE = 'farol-agent-terminal';
/** JWS `typ` header of a signed terminal opening. */
export const TERMINAL_JWS_TYPE = 'farol-terminal+jwt';
/** A signed opening is valid this long: enough to cross a slow link, too short to be worth stealing. */
export const TERMINAL_OPEN_TTL_SECONDS = 30;
/** Largest `data` of one input or output message. */
export const MAX_TERMINAL_CHUNK_BYTES = 64 * 1024;
/** The agent sends output once this much is pending, or after `TERMINAL_OUTPUT_BATCH_MS`. */
export const TERMINAL_OUTPUT_BATCH_BYTES = 16 * 1024;
export const TERMINAL_OUTPUT_BATCH_MS = 16;
/**
 * Output the agent may have sent that the operator's screen has not yet acknowledged. Past it the
 * agent stops reading the PTY (the shell blocks on write), so a `yes` flood holds at most this much
 * per session in the hub and the browser.
 */
export const TERMINAL_OUTPUT_WINDOW_BYTES = 256 * 1024;
export const MAX_TERMINAL_COLS = 1_000;
export const MAX_TERMINAL_ROWS = 1_000;

// ---- shared shapes --------------------------------------------------------------------------

export const TerminalSessionIdSchema = z.string().regex(/^term_[a-z0-9]{16}$/, 'terminal session ids look like term_ followed by 16 chars');
export type TerminalSessionId = z.infer<typeof TerminalSessionIdSchema>;

const Cols = z.number().int().min(1).max(MAX_TERMINAL_COLS);
const Rows = z.number().int().min(1).max(MAX_TERMINAL_ROWS);

/**
 * Raw bytes of terminal input or output. Socket.IO carries them as binary attachments (a Buffer
 * in Node, an ArrayBuffer in browsers), so nothing is re-encoded on the way and a UTF-8
 * character split across two chunks reaches the screen intact.
 */
export const TerminalBytesSchema = z
  .custom<Uint8Array | ArrayBuffer>((value) => value instanceof Uint8Array || value instanceof ArrayBuffer, { message: 'terminal data is bytes (binary)' })
  .transform((value) => (value instanceof ArrayBuffer ? new Uint8Array(value) : value))
  .refine((bytes) => bytes.byteLength <= MAX_TERMINAL_CHUNK_BYTES, { message: `at most ${MAX_TERMINAL_CHUNK_BYTES} bytes per message` });

/** Why a session ended. */
export const TERMINAL_CLOSE_REASONS = [
  'exited',
  'closed',
  'idle_timeout',
  'agent_disconnected',
  'operator_disconnected',
  'hub_shutdown',
  'error',
] as const;
export const TerminalCloseReasonSchema = z.enum(TERMINAL_CLOSE_REASONS);
export type TerminalCloseReason = z.infer<typeof TerminalCloseReasonSchema>;

export const TerminalSizeSchema = z.object({ cols: Cols, rows: Rows });

// ---- /ui: operator ↔ hub ----------------------------------------------------------------------

/** `terminal:open` from a dashboard or the CLI. */
export const TerminalOpenRequestSchema = z.object({
  agentId: z.string().min(1).max(128).describe('Agent id or name'),
  cols: Cols,
  rows: Rows,
});
export type TerminalOpenRequest = z.infer<typeof TerminalOpenRequestSchema>;

/** Answer to `terminal:open`, once the agent has started the shell. */
export const TerminalOpenAckSchema = z.object({
  sessionId: TerminalSessionIdSchema,
  agentId: AgentIdSchema,
  agentName: AgentNameSchema,
  shell: z.string().max(4_096).describe('The program the agent started'),
  idleTimeoutMs: z.number().int().describe('The hub closes the session after this long without input'),
});
export type TerminalOpenAck = z.infer<typeof TerminalOpenAckSchema>;

export const TerminalInputSchema = z.object({ sessionId: TerminalSessionIdSchema, data: TerminalBytesSchema });
export type TerminalInput = z.infer<typeof TerminalInputSchema>;
export const TerminalResizeSchema = z.object({ sessionId: TerminalSessionIdSchema, cols: Cols, rows: Rows });
export type TerminalResize = z.infer<typeof TerminalResizeSchema>;
export const TerminalCloseSchema = z.object({ sessionId: TerminalSessionIdSchema });
export type TerminalClose = z.infer<typeof TerminalCloseSchema>;

/**
 * A chunk of the shell's output, hub → operator. The hub sends it with an acknowledgement
 * callback: the operator acknowledges once the chunk is on screen (xterm's write callback, or
 * stdout drained), and only then does the agent count those bytes as delivered.
 */
export const TerminalOutputSchema = z.object({
  sessionId: TerminalSessionIdSchema,
  seq: z.number().int().nonnegative().describe('Per session, from 0'),
  data: TerminalBytesSchema,
});
export type TerminalOutput = z.infer<typeof TerminalOutputSchema>;

/** The session is over, hub → operator; no more output follows. */
export const TerminalClosedSchema = z.object({
  sessionId: TerminalSessionIdSchema,
  reason: TerminalCloseReasonSchema,
  exitCode: z.number().int().nullable().describe('The shell\'s exit code when it exited'),
  signal: z.string().max(32).nullable(),
  message: z.string().max(1_000).nullable(),
});
export type TerminalClosed = z.infer<typeof TerminalClosedSchema>;

// ---- /agent: hub ↔ agent ----------------------------------------------------------------------

/**
 * Claims of the compact JWS (EdDSA, hub key) that asks an agent to open a terminal. The agent
 * verifies it with the key pinned at enrollment, refuses a `jti` it has seen and an expired one;
 * input, resize and close then ride the authenticated connection and name the session.
 */
export const TerminalOpenClaimsSchema = z.object({
  iss: z.literal('farol-hub'),
  aud: z.literal(TERMINAL_AUDIENCE),
  sub: AgentIdSchema.describe('The one agent that may open it'),
  jti: z.string().min(16).max(64),
  iat: z.number().int(),
  exp: z.number().int().describe(`Seconds since epoch; iat + ${TERMINAL_OPEN_TTL_SECONDS}`),
  sessionId: TerminalSessionIdSchema,
  actor: z.string().min(1).max(128).describe('The operator, for the agent\'s log'),
  cols: Cols,
  rows: Rows,
});
export type TerminalOpenClaims = z.infer<typeof TerminalOpenClaimsSchema>;

export const TerminalOpenSchema = z.object({ token: z.string().min(1).max(16_384).describe('Compact JWS over TerminalOpenClaims') });
export type TerminalOpen = z.infer<typeof TerminalOpenSchema>;

/** Why an agent did not open a terminal. */
export const TerminalRefusalSchema = z.enum(['policy', 'unavailable', 'limit', 'invalid', 'failed']);
export type TerminalRefusal = z.infer<typeof TerminalRefusalSchema>;

/** The agent's answer to `terminal:open`. */
export const TerminalOpenedSchema = z.discriminatedUnion('status', [
  z.object({ sessionId: TerminalSessionIdSchema, status: z.literal('opened'), shell: z.string().max(4_096), pid: z.number().int().nullable() }),
  z.object({ sessionId: TerminalSessionIdSchema, status: z.literal('refused'), refusal: TerminalRefusalSchema, message: z.string().max(1_000) }),
]);
export type TerminalOpened = z.infer<typeof TerminalOpenedSchema>;

/** The agent's session ended (the shell exited, it was idle, closed, or failed). */
export const TerminalExitSchema = z.object({
  sessionId: TerminalSessionIdSchema,
  reason: TerminalCloseReasonSchema,
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  message: z.string().max(1_000).nullable(),
});
export type TerminalExit = z.infer<typeof TerminalExitSchema>;

// ---- REST ----------------------------------------------------------------------------------------

export const TerminalSessionSchema = z
  .object({
    id: TerminalSessionIdSchema,
    agentId: AgentIdSchema,
    agentName: AgentNameSchema,
    actor: z.string(),
    cols: z.number().int(),
    rows: z.number().int(),
    openedAt: z.number().int(),
    closedAt: z.number().int().nullable(),
    closeReason: TerminalCloseReasonSchema.nullable(),
    exitCode: z.number().int().nullable(),
    bytesIn: z.number().int().describe('Bytes typed by the operator'),
    bytesOut: z.number().int().describe('Bytes the shell wrote'),
    recorded: z.boolean().describe('A recording can be downloaded'),
  })
  .meta({ id: 'TerminalSession' });
export type TerminalSession = z.infer<typeof TerminalSessionSchema>;

export const TerminalSessionListQuerySchema = z.object({
  agent: z.string().max(128).optional().describe('Agent id or name'),
  limit: z.coerce.number().int().min(1).max(500).optional().describe('Default 50'),
});
export type TerminalSessionListQuery = z.infer<typeof TerminalSessionListQuerySchema>;

export const TerminalSessionListSchema = z.object({ sessions: z.array(TerminalSessionSchema).describe('Newest first') }).meta({ id: 'TerminalSessionList' });
export type TerminalSessionList = z.infer<typeof TerminalSessionListSchema>;

export const TerminalSessionParamsSchema = z.object({ id: TerminalSessionIdSchema });
