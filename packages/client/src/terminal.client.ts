import {
  ErrorAckSchema,
  MAX_TERMINAL_CHUNK_BYTES,
  TerminalClosedSchema,
  TerminalOpenAckSchema,
  TerminalOutputSchema,
  type ErrorCode,
  type TerminalClosed,
  type TerminalOpenAck,
} from '@farol/protocol';
import type { UiSocket } from './realtime.client.js';

/** The hub refused to open a terminal, or a request about it failed; `code` is the protocol's. */
export class TerminalError extends Error {
  readonly code: ErrorCode | 'timeout';
  constructor(code: ErrorCode | 'timeout', message: string) {
    super(message);
    this.name = 'TerminalError';
    this.code = code;
  }
}

export interface OpenTerminalOptions {
  /** Agent id or name. */
  agent: string;
  cols: number;
  rows: number;
  /**
   * A chunk of the shell's output. Call `done` once it is shown (xterm's write callback, stdout
   * drained): the agent sends more only as chunks are done, so a flood cannot outrun the screen.
   */
  onOutput: (data: Uint8Array, done: () => void) => void;
  /** The session ended; called once. */
  onClosed: (closed: TerminalClosed) => void;
  /** How long to wait for the machine to start its shell; default 20 s. */
  timeoutMs?: number;
  /**
   * Keystrokes or a resize the hub refused or did not acknowledge (the session ended on the hub,
   * the connection stalled). The session stays open; show it to the operator. Default: a
   * console warning, so a failed send is never silent (issue #21).
   */
  onSendError?: (error: TerminalError, what: 'input' | 'resize') => void;
}

/** An open terminal session. */
export interface TerminalSession extends TerminalOpenAck {
  /** Sends keystrokes or pasted text (UTF-8 for strings); sent in order, one message in flight. */
  write(data: Uint8Array | string): void;
  resize(cols: number, rows: number): void;
  /** Ends the session; `onClosed` follows with reason `closed`. */
  close(): Promise<void>;
  /** Stops listening without telling the hub (the socket is going away anyway). */
  dispose(): void;
}

const REQUEST_TIMEOUT_MS = 10_000;

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

function failureOf(raw: unknown): TerminalError | null {
  const failure = ErrorAckSchema.safeParse(raw);
  return failure.success ? new TerminalError(failure.data.error.code, failure.data.error.message) : null;
}

/**
 * Opens an interactive shell on a machine over an open `/ui` socket. Output is delivered as
 * bytes (a UTF-8 character may span two chunks: decode with `stream: true`, or hand the bytes to
 * xterm as they are). Rejects with a TerminalError whose `code` says why (`command_refused` for
 * the machine's policy, `session_limit`, `agent_offline`, `terminal_unavailable`, `not_found`).
 */
export async function openTerminal(socket: UiSocket, options: OpenTerminalOptions): Promise<TerminalSession> {
  let sessionId: string | null = null;
  let ended = false;
  // Output for this session may only follow the open ack, but the same read of the socket can
  // deliver both before the ack's promise settles: anything seen before the id is known waits.
  const early: Array<{ id: string; data: Uint8Array; ack: () => void }> = [];
  const untyped = socket as unknown as {
    on(event: string, listener: (...args: never[]) => void): void;
    off(event: string, listener: (...args: never[]) => void): void;
  };
  const onOutput = (payload: unknown, ack?: () => void): void => {
    const parsed = TerminalOutputSchema.safeParse(payload);
    if (!parsed.success) return;
    const done = ack ?? ((): void => undefined);
    if (sessionId === null) early.push({ id: parsed.data.sessionId, data: parsed.data.data, ack: done });
    else if (parsed.data.sessionId === sessionId && !ended) options.onOutput(parsed.data.data, done);
  };
  const onClosedEvent = (payload: unknown): void => {
    const parsed = TerminalClosedSchema.safeParse(payload);
    if (!parsed.success || parsed.data.sessionId !== sessionId || ended) return;
    ended = true;
    dispose();
    options.onClosed(parsed.data);
  };
  const onDisconnect = (): void => {
    if (ended || sessionId === null) return;
    ended = true;
    dispose();
    options.onClosed({ sessionId, reason: 'operator_disconnected', exitCode: null, signal: null, message: 'the connection to the hub was lost' });
  };
  function dispose(): void {
    untyped.off('terminal:output', onOutput);
    untyped.off('terminal:closed', onClosedEvent);
    untyped.off('disconnect', onDisconnect);
  }
  untyped.on('terminal:output', onOutput);
  untyped.on('terminal:closed', onClosedEvent);

  let raw: unknown;
  try {
    raw = await socket.timeout(options.timeoutMs ?? 20_000).emitWithAck('terminal:open', { agentId: options.agent, cols: options.cols, rows: options.rows });
  } catch (error) {
    dispose();
    throw new TerminalError('timeout', `the hub did not answer (${(error as Error).message})`);
  }
  const failure = failureOf(raw);
  if (failure) {
    dispose();
    throw failure;
  }
  const answer = TerminalOpenAckSchema.safeParse((raw as { data?: unknown } | null)?.data);
  if (!answer.success) {
    dispose();
    throw new TerminalError('internal', `invalid terminal:open answer: ${answer.error.message}`);
  }
  const opened = answer.data;
  sessionId = opened.sessionId;
  const reportSendError = (what: 'input' | 'resize') => (outcome: unknown, error?: unknown): void => {
    const failure = error === undefined ? failureOf(outcome) : new TerminalError('timeout', `the hub did not acknowledge the ${what} (${error instanceof Error ? error.message : String(error)})`);
    if (failure === null || ended) return;
    if (options.onSendError) options.onSendError(failure, what);
    else console.warn(`farol: terminal ${what} failed: ${failure.message}`);
  };
  untyped.on('disconnect', onDisconnect);
  for (const chunk of early.splice(0)) if (chunk.id === sessionId) options.onOutput(chunk.data, chunk.ack);

  // Input goes one message at a time: keystrokes typed meanwhile are coalesced into the next.
  let queued: Uint8Array[] = [];
  let sending = false;
  const pump = (): void => {
    if (sending || queued.length === 0 || ended) return;
    const total = queued.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const chunk of queued) {
      joined.set(chunk, offset);
      offset += chunk.byteLength;
    }
    const data = joined.subarray(0, MAX_TERMINAL_CHUNK_BYTES);
    queued = total > MAX_TERMINAL_CHUNK_BYTES ? [joined.subarray(MAX_TERMINAL_CHUNK_BYTES)] : [];
    sending = true;
    socket
      .timeout(REQUEST_TIMEOUT_MS)
      .emitWithAck('terminal:input', { sessionId: opened.sessionId, data })
      .then(reportSendError('input'), (error: unknown) => reportSendError('input')(undefined, error))
      .finally(() => {
        sending = false;
        pump();
      });
  };

  return {
    ...opened,
    write(data) {
      if (ended) return;
      const bytes = toBytes(data);
      if (bytes.byteLength === 0) return;
      queued.push(bytes);
      pump();
    },
    resize(cols, rows) {
      if (ended) return;
      socket
        .timeout(REQUEST_TIMEOUT_MS)
        .emitWithAck('terminal:resize', { sessionId: opened.sessionId, cols, rows })
        .then(reportSendError('resize'), (error: unknown) => reportSendError('resize')(undefined, error));
    },
    async close() {
      if (ended) return;
      const rawClose: unknown = await socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('terminal:close', { sessionId: opened.sessionId });
      const closeFailure = failureOf(rawClose);
      if (closeFailure && closeFailure.code !== 'not_found') throw closeFailure;
    },
    dispose() {
      ended = true;
      dispose();
    },
  };
}
