import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured logger: one JSON event per line on stdout. Secrets are redacted by path. */
export function createLogger(
  level: string,
  options: {
    /** Blanks known secret values out of every line, whatever field they hide in (issue #6). */
    redactLine?: (line: string) => string;
    /** Where lines go; default stdout. Tests capture the output here. */
    destination?: NodeJS.WritableStream;
  } = {},
): Logger {
  const settings = {
    level,
    base: { service: 'farol-hub' },
    redact: { paths: ['token', '*.token', 'adminToken', 'req.headers.authorization', 'req.headers["x-farol-password"]', 'secret', '*.secret'], censor: '[redacted]' },
    ...(options.redactLine ? { hooks: { streamWrite: options.redactLine } } : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
