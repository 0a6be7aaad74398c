import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured logger: one JSON event per line on stdout. Secrets are redacted by path. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'farol-hub' },
    redact: { paths: ['token', '*.token', 'adminToken', 'req.headers.authorization', 'secret', '*.secret'], censor: '[redacted]' },
  });
}
