import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../infra/logger.js';

/** Records one session as an asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/). */
export interface AsciicastRecorder {
  output(bytes: Uint8Array, at: number): void;
  resize(cols: number, rows: number, at: number): void;
  close(at: number): Promise<void>;
}

/**
 * Opens `<dir>/<file>` (mode 0600) and writes the header. Output only: what the operator types
 * is never recorded (passwords typed at a prompt do not echo, and must not land on disk).
 * Bytes are decoded as a stream, so a UTF-8 character split across two chunks is kept whole.
 */
export function startAsciicast(
  dir: string,
  file: string,
  header: { cols: number; rows: number; startedAt: number; title: string },
  logger: Logger,
): AsciicastRecorder {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stream: WriteStream = createWriteStream(path.join(dir, file), { flags: 'wx', mode: 0o600 });
  let failed = false;
  stream.on('error', (error) => {
    failed = true;
    logger.error({ err: error, file }, 'terminal recording failed; the session goes on unrecorded');
  });
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const seconds = (at: number): number => Math.max(0, (at - header.startedAt) / 1000);
  const line = (value: unknown): void => {
    if (!failed) stream.write(`${JSON.stringify(value)}\n`);
  };
  line({ version: 2, width: header.cols, height: header.rows, timestamp: Math.floor(header.startedAt / 1000), title: header.title, env: { TERM: 'xterm-256color' } });
  return {
    output(bytes, at) {
      const text = decoder.decode(bytes, { stream: true });
      if (text !== '') line([seconds(at), 'o', text]);
    },
    resize(cols, rows, at) {
      line([seconds(at), 'r', `${cols}x${rows}`]);
    },
    close(at) {
      const rest = decoder.decode();
      if (rest !== '') line([seconds(at), 'o', rest]);
      return new Promise<void>((resolve) => stream.end(() => resolve()));
    },
  };
}
