import { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has or that say nothing to someone watching `npm start`. */
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'v']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && 'message' in value && typeof value.message === 'string') return JSON.stringify(value.message);
  return JSON.stringify(value);
}

/**
 * One pino JSON line as a short line for a terminal: `12:04:05 WARN message key=value`, in
 * local time. Anything that is not a pino line comes back unchanged.
 */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    // Not JSON after all: shown as it came.
    return line;
  }
  if (typeof entry.level !== 'number' || typeof entry.time !== 'number') return line;
  const time = new Date(entry.time);
  const clock = [time.getHours(), time.getMinutes(), time.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const fields = Object.entries(entry)
    .filter(([key, value]) => !OMITTED.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  return [clock, (LEVELS[entry.level] ?? String(entry.level)).padEnd(5), typeof entry.msg === 'string' ? entry.msg : '', ...fields].filter(Boolean).join(' ');
}

/** A stream for a logger that writes each of its lines, formatted, to `write`. */
export function prettyLogStream(write: (text: string) => void): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line !== '') write(`${formatLogLine(line)}\n`);
      done();
    },
    final(done) {
      if (partial !== '') write(`${formatLogLine(partial)}\n`);
      done();
    },
  });
}
