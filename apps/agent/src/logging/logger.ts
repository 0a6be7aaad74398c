import { hostname } from 'node:os';

/**
 * A small pino-compatible logger. The agent is one self-contained file that runs on every
 * machine of the fleet, so it carries no logging library: this writes the same one-JSON-object
 * per line shape as pino (`level` as a number, `time`, `pid`, `hostname`, `msg`), which log
 * shippers and `pino-pretty` already understand, or a short human line on a terminal.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_NUMBERS: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/** Structured fields attached to a log line (agent ids, counts, errors as `err`). */
export type LogFields = Record<string, unknown>;

type LogMethod = (fields: LogFields | string, msg?: string) => void;

/** The logging surface every module receives; the same call shapes as pino. */
export interface Logger {
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
  /** A logger whose lines all carry `bindings`. */
  child(bindings: LogFields): Logger;
  isLevelEnabled(level: LogLevel): boolean;
}

/** Where lines go: anything with `write(string)` (process.stdout, a test array). */
export interface LogSink {
  write(line: string): unknown;
}

/** How a logger writes. */
export interface LoggerOptions {
  level: LogLevel;
  sink: LogSink;
  /** `json` is pino's format; `pretty` is one readable line, for a terminal. */
  format: 'json' | 'pretty';
  /** Returns ms since epoch; injected so tests control time. */
  now?: () => number;
  bindings?: LogFields;
}

/** Makes an error loggable: JSON.stringify drops Error properties otherwise. */
export function serializeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { message: String(error) };
  const out: LogFields = { type: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (error.stack !== undefined) out.stack = error.stack;
  if (error.cause !== undefined) out.cause = serializeError(error.cause);
  return out;
}

function normalize(fields: LogFields): LogFields {
  if (!('err' in fields)) return fields;
  return { ...fields, err: serializeError(fields.err) };
}

function formatPretty(level: LogLevel, time: number, msg: string, fields: LogFields): string {
  const clock = new Date(time).toISOString().slice(11, 19);
  const extras = Object.entries(fields)
    .filter(([key]) => key !== 'err')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const err = fields.err as LogFields | undefined;
  if (err !== undefined) extras.push(`err=${String(err.message)}`);
  return `${clock} ${level.toUpperCase().padEnd(5)} ${msg}${extras.length > 0 ? ` ${extras.join(' ')}` : ''}\n`;
}

/** Creates a logger. Lines below `level` cost one comparison. */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LEVEL_NUMBERS[options.level];
  const now = options.now ?? Date.now;
  const base: LogFields = options.format === 'json' ? { pid: process.pid, hostname: hostname() } : {};
  const bindings = options.bindings ?? {};

  const method =
    (level: Exclude<LogLevel, 'silent'>): LogMethod =>
    (fieldsOrMsg, maybeMsg) => {
      if (LEVEL_NUMBERS[level] < threshold) return;
      const fields = typeof fieldsOrMsg === 'string' ? {} : normalize(fieldsOrMsg);
      const msg = typeof fieldsOrMsg === 'string' ? fieldsOrMsg : (maybeMsg ?? '');
      const time = now();
      const merged = { ...bindings, ...fields };
      const line =
        options.format === 'json'
          ? `${JSON.stringify({ level: LEVEL_NUMBERS[level], time, ...base, ...merged, msg })}\n`
          : formatPretty(level, time, msg, merged);
      options.sink.write(line);
    };

  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    child: (more) => createLogger({ ...options, bindings: { ...bindings, ...more } }),
    isLevelEnabled: (level) => LEVEL_NUMBERS[level] >= threshold,
  };
}

/** A logger that writes nothing (for library callers that pass none). */
export function createSilentLogger(): Logger {
  return createLogger({ level: 'silent', sink: { write: () => undefined }, format: 'json' });
}

/** Collects lines in memory; tests read them back as parsed objects. */
export function createMemoryLogger(level: LogLevel = 'trace'): { logger: Logger; lines: () => LogFields[] } {
  const lines: string[] = [];
  const logger = createLogger({ level, sink: { write: (line: string) => lines.push(line) }, format: 'json' });
  return { logger, lines: () => lines.map((line) => JSON.parse(line) as LogFields) };
}
