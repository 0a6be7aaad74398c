import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { HeartbeatSampleSchema, type HeartbeatSample } from '@farol/protocol';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';

/**
 * Samples waiting for the hub, on disk so an outage or a restart loses nothing.
 *
 * Layout of `<state>/buffer/`: append-only JSONL segments `seg-<seq>.jsonl` (a new one past
 * ~1 MB) and `cursor.json` = { segment, offset }, the first byte not yet acknowledged by the
 * hub. A batch is deleted (the cursor moved past it) only after the hub acknowledged it, so
 * delivery is at-least-once; the hub drops duplicates by (agent, ts).
 *
 * All I/O is synchronous: writes are one short line per heartbeat, and this keeps the file
 * state and the in-memory index from ever disagreeing across an await.
 */
export interface SampleBuffer {
  append(sample: HeartbeatSample): void;
  /** The oldest samples not yet committed, at most `maxCount` and about `maxBytes` of JSON. */
  peekBatch(maxCount: number, maxBytes: number): SampleBatch | null;
  /**
   * Removes a batch returned by peekBatch. False when there was nothing left to remove (the
   * caps already dropped it).
   */
  commit(batch: SampleBatch): boolean;
  /** Pending samples and their bytes on disk. */
  size(): { samples: number; bytes: number };
  close(): void;
}

/** Samples read from the buffer but not yet removed from it. */
export interface SampleBatch {
  samples: HeartbeatSample[];
  /** Bytes of `{"samples":[...]}` when serialized. */
  jsonBytes: number;
  /** Lines passed over inside the batch range (unreadable, or older than the max age). */
  skipped: number;
  /** The cursor after commit. */
  readonly end: BufferPosition;
  /** Lines the batch covers in its end segment, for the pending count. */
  readonly linesInEndSegment: number;
}

/** A byte offset in a segment. */
export interface BufferPosition {
  segment: number;
  offset: number;
}

/** Where the buffer lives and how much it may hold. */
export interface SampleBufferOptions {
  dir: string;
  maxAgeMs: number;
  maxBytes: number;
  clock: Clock;
  logger: Logger;
  /** Rotate to a new segment past this size; small in tests. */
  segmentBytes?: number;
}

const CursorSchema = z.object({ segment: z.number().int().nonnegative(), offset: z.number().int().nonnegative() });
const SEGMENT_PATTERN = /^seg-(\d{12})\.jsonl$/;
const DEFAULT_SEGMENT_BYTES = 1024 * 1024;
/** `{"samples":[` + `]}`. */
const BATCH_ENVELOPE_BYTES = 14;

interface Segment {
  seq: number;
  /** Size of the file, bytes. */
  bytes: number;
  /** Complete lines in the file. */
  lines: number;
  /** ts of the newest sample: the whole segment can go once this is past the max age. */
  newestTs: number;
}

function segmentName(seq: number): string {
  return `seg-${String(seq).padStart(12, '0')}.jsonl`;
}

function isBefore(a: BufferPosition, b: BufferPosition): boolean {
  return a.segment < b.segment || (a.segment === b.segment && a.offset < b.offset);
}

function countNewlines(bytes: Buffer): number {
  let count = 0;
  let at = bytes.indexOf(0x0a);
  while (at >= 0) {
    count++;
    at = bytes.indexOf(0x0a, at + 1);
  }
  return count;
}

/** The sample's ts without a full parse (append writes ts first); 0 for a damaged line. */
function lineTs(line: string): number {
  const match = /^\{"ts":(\d+)/.exec(line);
  return match ? Number(match[1]) : 0;
}

/** Opens (creating if needed) the buffer in `dir`, recovering from a crash mid-write. */
export function openSampleBuffer(options: SampleBufferOptions): SampleBuffer {
  const { dir, clock, logger } = options;
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const cursorPath = path.join(dir, 'cursor.json');
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const filePath = (seq: number): string => path.join(dir, segmentName(seq));

  function readSegmentBytes(seq: number, from: number, to: number): Buffer {
    const chunk = Buffer.alloc(Math.max(0, to - from));
    if (chunk.length === 0) return chunk;
    const fd = openSync(filePath(seq), 'r');
    try {
      readSync(fd, chunk, 0, chunk.length, from);
    } finally {
      closeSync(fd);
    }
    return chunk;
  }

  /**
   * Reads a segment's size, line count and newest ts. A last line without its newline is a
   * write torn by a crash: it is cut off so the next append starts on a clean line.
   */
  function scanSegment(seq: number): Segment {
    const file = filePath(seq);
    let bytes = readFileSync(file);
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) {
      const keep = bytes.lastIndexOf(0x0a) + 1;
      logger.warn({ segment: seq, tornBytes: bytes.length - keep }, 'buffer: dropping a line torn by a crash');
      bytes = bytes.subarray(0, keep);
      const fd = openSync(file, 'r+');
      try {
        ftruncateSync(fd, keep);
      } finally {
        closeSync(fd);
      }
    }
    const lastStart = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
    return {
      seq,
      bytes: bytes.length,
      lines: countNewlines(bytes),
      newestTs: bytes.length === 0 ? 0 : lineTs(bytes.subarray(lastStart, lastStart + 40).toString('latin1')),
    };
  }

  function readCursor(): BufferPosition {
    if (!existsSync(cursorPath)) return { segment: 0, offset: 0 };
    try {
      return CursorSchema.parse(JSON.parse(readFileSync(cursorPath, 'utf8')));
    } catch (error) {
      // Resending is harmless (the hub dedupes), losing is not: start from the oldest sample.
      logger.warn({ err: error, file: cursorPath }, 'buffer: cursor unreadable; resending everything buffered');
      return { segment: 0, offset: 0 };
    }
  }

  const segments: Segment[] = readdirSync(dir)
    .map((name) => SEGMENT_PATTERN.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b)
    .map(scanSegment);
  let cursor = readCursor();
  let tailFd: number | null = null;

  function writeCursor(): void {
    const temporary = `${cursorPath}.tmp`;
    writeFileSync(temporary, JSON.stringify(cursor));
    renameSync(temporary, cursorPath);
  }

  function removeHead(): Segment {
    const head = segments.shift()!;
    if (tailFd !== null && segments.length === 0) {
      closeSync(tailFd);
      tailFd = null;
    }
    rmSync(filePath(head.seq), { force: true });
    return head;
  }

  // Segments wholly before the cursor were acknowledged; a crash can leave them behind.
  while (segments.length > 0 && segments[0]!.seq < cursor.segment) removeHead();
  const head = segments[0];
  if (!head) cursor = { segment: cursor.segment + 1, offset: 0 };
  else if (head.seq > cursor.segment) cursor = { segment: head.seq, offset: 0 };
  else if (cursor.offset > head.bytes) cursor = { segment: head.seq, offset: head.bytes };
  /** Lines of the head segment before the cursor. */
  let consumedLines = head ? countNewlines(readSegmentBytes(head.seq, 0, cursor.offset)) : 0;

  function pendingBytes(): number {
    return Math.max(0, segments.reduce((sum, s) => sum + s.bytes, 0) - (segments.length > 0 ? cursor.offset : 0));
  }

  function pendingSamples(): number {
    return Math.max(0, segments.reduce((sum, s) => sum + s.lines, 0) - consumedLines);
  }

  /** Drops the head segment with all its unsent lines; returns how many. */
  function dropHead(): number {
    const dropped = segments[0]!.lines - consumedLines;
    removeHead();
    consumedLines = 0;
    cursor = { segment: segments[0]!.seq, offset: 0 };
    writeCursor();
    return dropped;
  }

  /** Enforces max age and max bytes by dropping whole segments, oldest first. */
  function enforceCaps(): void {
    const cutoff = clock.now() - options.maxAgeMs;
    let droppedForAge = 0;
    let droppedForSize = 0;
    // The tail always stays: it is being written to, and one segment is small next to any cap.
    while (segments.length > 1 && segments[0]!.newestTs < cutoff) droppedForAge += dropHead();
    while (segments.length > 1 && pendingBytes() > options.maxBytes) droppedForSize += dropHead();
    if (droppedForAge > 0) {
      logger.warn({ dropped: droppedForAge, maxAgeMs: options.maxAgeMs }, 'buffer: dropped samples older than the max age');
    }
    if (droppedForSize > 0) {
      logger.warn({ dropped: droppedForSize, maxBytes: options.maxBytes }, 'buffer: full, dropped the oldest samples');
    }
  }

  function tailForAppend(): { segment: Segment; fd: number } {
    let tail = segments.at(-1);
    if (!tail || tail.bytes >= segmentBytes) {
      if (tailFd !== null) closeSync(tailFd);
      tailFd = null;
      tail = { seq: tail ? tail.seq + 1 : cursor.segment, bytes: 0, lines: 0, newestTs: 0 };
      segments.push(tail);
    }
    tailFd ??= openSync(filePath(tail.seq), 'a', 0o600);
    return { segment: tail, fd: tailFd };
  }

  /**
   * The directory, or the segment being written, removed under the running agent (issue #12):
   * appends would go to an unlinked file and every read would fail. Start afresh, once.
   */
  function healIfRemoved(): void {
    const tail = segments.at(-1);
    if (existsSync(dir) && (!tail || existsSync(filePath(tail.seq)))) return;
    const lost = pendingSamples();
    if (tailFd !== null) closeSync(tailFd);
    tailFd = null;
    cursor = { segment: (tail ? tail.seq : cursor.segment) + 1, offset: 0 };
    segments.length = 0;
    consumedLines = 0;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    logger.error({ dir, lost }, 'buffer: its directory was removed under the running agent; recreated it (the samples it held are lost)');
  }

  enforceCaps();
  logger.debug({ dir, pending: pendingSamples(), bytes: pendingBytes() }, 'buffer: opened');

  return {
    append(sample) {
      healIfRemoved();
      // ts first, so the age check reads it without parsing the line.
      const { ts, ...rest } = sample;
      const bytes = Buffer.from(`${JSON.stringify({ ts, ...rest })}\n`, 'utf8');
      const tail = tailForAppend();
      writeSync(tail.fd, bytes);
      tail.segment.bytes += bytes.length;
      tail.segment.lines += 1;
      tail.segment.newestTs = Math.max(tail.segment.newestTs, sample.ts);
      enforceCaps();
    },

    peekBatch(maxCount, maxBytes) {
      healIfRemoved();
      enforceCaps();
      const cutoff = clock.now() - options.maxAgeMs;
      const samples: HeartbeatSample[] = [];
      let jsonBytes = BATCH_ENVELOPE_BYTES;
      let end: BufferPosition = { ...cursor };
      let linesInEndSegment = 0;
      let expired = 0;
      let damaged = 0;
      let full = false;
      for (const segment of segments) {
        if (full || samples.length >= maxCount) break;
        const from = segment.seq === cursor.segment ? cursor.offset : 0;
        if (from >= segment.bytes) continue;
        const chunk = readSegmentBytes(segment.seq, from, segment.bytes);
        let start = 0;
        let lines = 0;
        while (start < chunk.length && samples.length < maxCount) {
          const newline = chunk.indexOf(0x0a, start);
          if (newline < 0) {
            // Only possible if something else wrote to this file (the state lock forbids it):
            // skip the unterminated rest rather than stall on it.
            damaged++;
            lines++;
            start = chunk.length;
            break;
          }
          const line = chunk.subarray(start, newline).toString('utf8');
          const lineBytes = newline - start + 1; // the newline's byte pays for the comma
          if (samples.length > 0 && jsonBytes + lineBytes > maxBytes) {
            full = true;
            break;
          }
          start = newline + 1;
          lines++;
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch (error) {
            if (!(error instanceof SyntaxError)) throw error;
            // A damaged line (disk error, foreign edit) is skipped; the rest still goes.
            value = undefined;
          }
          const parsed = HeartbeatSampleSchema.safeParse(value);
          if (!parsed.success) damaged++;
          else if (parsed.data.ts < cutoff) expired++;
          else {
            samples.push(parsed.data);
            jsonBytes += lineBytes;
          }
        }
        if (lines > 0) {
          end = { segment: segment.seq, offset: from + start };
          linesInEndSegment = lines;
        }
      }
      if (damaged > 0) logger.warn({ skipped: damaged }, 'buffer: skipped unreadable lines');
      if (expired > 0) {
        logger.warn({ dropped: expired, maxAgeMs: options.maxAgeMs }, 'buffer: dropped samples older than the max age');
      }
      if (samples.length === 0 && damaged + expired === 0) return null;
      return {
        samples,
        jsonBytes: samples.length === 0 ? 0 : jsonBytes - 1,
        skipped: damaged + expired,
        end,
        linesInEndSegment,
      };
    },

    commit(batch) {
      // The caps may have dropped the batch's segments while it was in flight.
      if (!isBefore(cursor, batch.end)) return false;
      const sameSegment = batch.end.segment === cursor.segment;
      while (segments.length > 1 && segments[0]!.seq < batch.end.segment) removeHead();
      consumedLines = sameSegment ? consumedLines + batch.linesInEndSegment : batch.linesInEndSegment;
      cursor = { ...batch.end };
      // A fully sent segment that is not being written to any more is deleted now.
      const head = segments[0]!;
      if (segments.length > 1 && cursor.offset >= head.bytes) {
        removeHead();
        consumedLines = 0;
        cursor = { segment: segments[0]!.seq, offset: 0 };
      }
      writeCursor();
      return true;
    },

    size() {
      return { samples: pendingSamples(), bytes: pendingBytes() };
    },

    close() {
      if (tailFd === null) return;
      // writeSync already handed every byte to the kernel; closing releases the handle promptly.
      closeSync(tailFd);
      tailFd = null;
    },
  };
}
