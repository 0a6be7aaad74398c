import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ScreenshotInfoSchema, SCREENSHOT_CHUNK_BYTES, type ScreenshotInfo } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { Db } from '../../infra/database.js';
import { serializeWriters } from '../../infra/dialect.js';

/** A stored screenshot: everything but the URL, which the routes add. */
export type ScreenshotRecord = Omit<ScreenshotInfo, 'url'>;
const RecordSchema = ScreenshotInfoSchema.omit({ url: true });

const META = /^(shot_[a-z0-9]{16})\.json$/;

/**
 * Screenshots in the database (issue #14): a row per screenshot (`screenshots`) and its PNG as
 * the agent uploaded it, one row per chunk (`screenshot_chunks`, keyed by the command). An upload
 * in progress is chunks without a screenshot row; finalizing adds the row. Any hub sharing the
 * database serves any screenshot, and an upload an agent resumes on another hub continues where
 * it stood. Retention (a count and an age) keeps the tables small.
 */
export interface ScreenshotsRepository {
  /** Bytes of an upload in progress (0 when none). */
  partialSize(commandId: string): Promise<number>;
  /** Appends at `offset` when it is where the upload stands; returns the size after. */
  append(commandId: string, offset: number, data: Uint8Array): Promise<number>;
  discardPartial(commandId: string): Promise<void>;
  partialSha256(commandId: string): Promise<string>;
  /** Records a complete upload as a screenshot. */
  finalize(record: ScreenshotRecord): Promise<void>;
  find(id: string): Promise<ScreenshotRecord | undefined>;
  findByCommand(commandId: string): Promise<ScreenshotRecord | undefined>;
  /** The PNG's bytes in order, a chunk at a time (never the whole image in memory). */
  image(record: ScreenshotRecord): AsyncIterable<Buffer>;
  /** Oldest first. */
  list(): Promise<ScreenshotRecord[]>;
  remove(id: string): Promise<void>;
  /** Uploads untouched for `maxAgeMs` (an agent that never finished). */
  prunePartials(now: number, maxAgeMs: number): Promise<number>;
}

export function createScreenshotsRepository(db: Db, { clock, onDamaged }: { clock: Clock; onDamaged: (what: string, error: unknown) => void }): ScreenshotsRepository {
  const parse = (row: { id: string; record: string }): ScreenshotRecord | undefined => {
    let raw: unknown;
    try {
      raw = JSON.parse(row.record);
    } catch (error) {
      onDamaged(row.id, error);
      return undefined;
    }
    const parsed = RecordSchema.safeParse(raw);
    if (!parsed.success) {
      onDamaged(row.id, parsed.error);
      return undefined;
    }
    return parsed.data;
  };
  const held = async (executor: Db, commandId: string): Promise<number> => {
    const row = await executor.selectFrom('screenshot_chunks').select((eb) => eb.fn.sum<number | null>('bytes').as('total')).where('command_id', '=', commandId).executeTakeFirst();
    return Number(row?.total ?? 0);
  };
  const isFinal = async (executor: Db, commandId: string): Promise<boolean> =>
    (await executor.selectFrom('screenshots').select('id').where('command_id', '=', commandId).executeTakeFirst()) !== undefined;
  async function* chunksOf(commandId: string): AsyncGenerator<Buffer> {
    const offsets = await db.selectFrom('screenshot_chunks').select('byte_offset').where('command_id', '=', commandId).orderBy('byte_offset').execute();
    for (const { byte_offset: offset } of offsets) {
      const row = await db.selectFrom('screenshot_chunks').select('data').where('command_id', '=', commandId).where('byte_offset', '=', offset).executeTakeFirst();
      // Removed by retention while it was being read: the image ends short, the client sees a short body.
      if (!row) return;
      yield Buffer.from(row.data);
    }
  }

  return {
    partialSize: (commandId) => held(db, commandId),
    append: (commandId, offset, data) =>
      // One write at a time per upload, on every hub: a duplicated chunk must not interleave with the next.
      db.transaction().execute(async (trx) => {
        await serializeWriters(trx, `screenshot:${commandId}`);
        if (await isFinal(trx, commandId)) return held(trx, commandId);
        const current = await held(trx, commandId);
        const row = { command_id: commandId, byte_offset: offset, bytes: data.byteLength, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), created_at: clock.now() };
        if (offset === 0 && current > 0) {
          // A fresh start (the agent captured again, or lost track): begin anew.
          await trx.deleteFrom('screenshot_chunks').where('command_id', '=', commandId).execute();
          await trx.insertInto('screenshot_chunks').values(row).execute();
          return data.byteLength;
        }
        if (offset !== current) return current;
        await trx.insertInto('screenshot_chunks').values(row).execute();
        return current + data.byteLength;
      }),
    discardPartial: (commandId) =>
      db.transaction().execute(async (trx) => {
        await serializeWriters(trx, `screenshot:${commandId}`);
        if (await isFinal(trx, commandId)) return;
        await trx.deleteFrom('screenshot_chunks').where('command_id', '=', commandId).execute();
      }),
    async partialSha256(commandId) {
      const hash = createHash('sha256');
      for await (const chunk of chunksOf(commandId)) hash.update(chunk);
      return hash.digest('hex');
    },
    async finalize(record) {
      await db
        .insertInto('screenshots')
        .values({ id: record.id, command_id: record.commandId, created_at: record.createdAt, record: JSON.stringify(record) })
        .onConflict((conflict) => conflict.column('command_id').doNothing())
        .execute();
    },
    async find(id) {
      const row = await db.selectFrom('screenshots').select(['id', 'record']).where('id', '=', id).executeTakeFirst();
      return row ? parse(row) : undefined;
    },
    async findByCommand(commandId) {
      const row = await db.selectFrom('screenshots').select(['id', 'record']).where('command_id', '=', commandId).executeTakeFirst();
      return row ? parse(row) : undefined;
    },
    image: (record) => chunksOf(record.commandId),
    async list() {
      const rows = await db.selectFrom('screenshots').select(['id', 'record']).orderBy('created_at').orderBy('id').execute();
      return rows.map(parse).filter((record): record is ScreenshotRecord => record !== undefined);
    },
    async remove(id) {
      await db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('screenshots').select('command_id').where('id', '=', id).executeTakeFirst();
        await trx.deleteFrom('screenshots').where('id', '=', id).execute();
        if (row) await trx.deleteFrom('screenshot_chunks').where('command_id', '=', row.command_id).execute();
      });
    },
    async prunePartials(now, maxAgeMs) {
      const stale = await db
        .selectFrom('screenshot_chunks')
        .select('command_id')
        .where('command_id', 'not in', db.selectFrom('screenshots').select('command_id'))
        .groupBy('command_id')
        .having((eb) => eb.fn.max('created_at'), '<', now - maxAgeMs)
        .execute();
      for (const { command_id: commandId } of stale) {
        await db.deleteFrom('screenshot_chunks').where('command_id', '=', commandId).where('command_id', 'not in', db.selectFrom('screenshots').select('command_id')).execute();
      }
      return stale.length;
    },
  };
}

/**
 * Screenshots a hub kept on disk before issue #14 (`<data>/screenshots/<id>.png` and `.json`):
 * moved into the database once, then deleted. Damaged records are reported and left in place.
 */
export async function importScreenshotFiles(dir: string, store: ScreenshotsRepository, onDamaged: (file: string, error: unknown) => void): Promise<number> {
  if (!existsSync(dir)) return 0;
  let moved = 0;
  for (const name of await readdir(dir)) {
    const match = META.exec(name);
    if (!match) continue;
    const metaFile = path.join(dir, name);
    const imageFile = path.join(dir, `${match[1]}.png`);
    let record: ScreenshotRecord;
    let image: Buffer;
    try {
      record = RecordSchema.parse(JSON.parse(await readFile(metaFile, 'utf8')));
      image = await readFile(imageFile);
    } catch (error) {
      onDamaged(metaFile, error);
      continue;
    }
    if (!(await store.findByCommand(record.commandId))) {
      await store.discardPartial(record.commandId);
      for (let offset = 0; offset < image.byteLength; offset += SCREENSHOT_CHUNK_BYTES) {
        await store.append(record.commandId, offset, image.subarray(offset, offset + SCREENSHOT_CHUNK_BYTES));
      }
      await store.finalize(record);
    }
    await rm(imageFile, { force: true });
    await rm(metaFile, { force: true });
    moved++;
  }
  await rm(path.join(dir, 'partial'), { recursive: true, force: true });
  return moved;
}
