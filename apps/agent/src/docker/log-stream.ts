import { StringDecoder } from 'node:string_decoder';

export type LogStreamName = 'stdout' | 'stderr';

/**
 * Splits Docker's multiplexed log stream (a container without a TTY): frames of an 8-byte
 * header — stream type (1 stdout, 2 stderr; 0 stdin is never sent), three zero bytes, a
 * big-endian uint32 length — then that many bytes. Frames may arrive cut across chunks.
 * Text is decoded per stream, so a UTF-8 character split across frames stays whole.
 */
export function createLogDemuxer(onText: (stream: LogStreamName, text: string) => void): { push(chunk: Buffer): void; end(): void } {
  let pending: Buffer = Buffer.alloc(0);
  const decoders: Record<LogStreamName, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  return {
    push(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        const size = pending.readUInt32BE(4);
        if (pending.length < 8 + size) break;
        const stream: LogStreamName = pending[0] === 2 ? 'stderr' : 'stdout';
        const text = decoders[stream].write(pending.subarray(8, 8 + size));
        if (text !== '') onText(stream, text);
        pending = pending.subarray(8 + size);
      }
    },
    end() {
      for (const stream of ['stdout', 'stderr'] as const) {
        const rest = decoders[stream].end();
        if (rest !== '') onText(stream, rest);
      }
      // A cut-off last frame (the engine closed mid-frame) is dropped: its length says it is incomplete.
      pending = Buffer.alloc(0);
    },
  };
}

/**
 * Keeps the LAST `maxBytes` of a text (a log's newest lines matter most), cut at a line start
 * when it overflows, and says whether anything was dropped.
 */
export class TailText {
  private parts: string[] = [];
  private bytes = 0;
  truncated = false;
  constructor(private readonly maxBytes: number) {}

  append(text: string): void {
    if (text === '') return;
    this.parts.push(text);
    this.bytes += Buffer.byteLength(text);
    while (this.bytes > this.maxBytes && this.parts.length > 1) {
      this.bytes -= Buffer.byteLength(this.parts.shift()!);
      this.truncated = true;
    }
  }

  get text(): string {
    const whole = this.parts.join('');
    if (this.bytes <= this.maxBytes) return whole;
    this.truncated = true;
    // Cut to the byte budget from the end, then forward to the next line so no line is half shown.
    let kept = Buffer.from(whole).subarray(-this.maxBytes).toString('utf8');
    while (Buffer.byteLength(kept) > this.maxBytes) kept = kept.slice(1);
    const newline = kept.indexOf('\n');
    return newline >= 0 && newline < kept.length - 1 ? kept.slice(newline + 1) : kept;
  }
}
