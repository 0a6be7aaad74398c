import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync } from 'node:fs';
import { appendFile, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ScreenshotInfoSchema, type ScreenshotInfo } from '@farol/protocol';

/** A stored screenshot: everything but the URL, which the routes add. */
export type ScreenshotRecord = Omit<ScreenshotInfo, 'url'>;
const RecordSchema = ScreenshotInfoSchema.omit({ url: true });

const PARTIAL = /^(cmd_[a-z0-9]{16})\.part$/;
const META = /^(shot_[a-z0-9]{16})\.json$/;

/**
 * Screenshots on disk, under `<data>/screenshots`: `<id>.png` with `<id>.json` beside it, and
 * uploads in progress as `partial/<commandId>.part`. Files rather than table rows: images are
 * megabytes, retention is a count and an age, and nothing queries them but by id. The index is
 * read once at open and kept in memory (retention keeps it small).
 */
export interface ScreenshotsRepository {
  /** Bytes of an upload in progress (0 when none). */
  partialSize(commandId: string): Promise<number>;
  /** Appends at `offset` when it is where the upload stands; returns the size after. */
  append(commandId: string, offset: number, data: Uint8Array): Promise<number>;
  discardPartial(commandId: string): Promise<void>;
  partialSha256(commandId: string): Promise<string>;
  /** Moves a complete upload into place and records it. */
  finalize(record: ScreenshotRecord): Promise<void>;
  find(id: string): ScreenshotRecord | undefined;
  findByCommand(commandId: string): ScreenshotRecord | undefined;
  imagePath(id: string): string;
  /** Oldest first. */
  list(): ScreenshotRecord[];
  remove(id: string): Promise<void>;
  /** Uploads untouched for `maxAgeMs` (an agent that never finished). */
  prunePartials(now: number, maxAgeMs: number): Promise<number>;
}

export async function openScreenshotsRepository(dir: string, onDamaged: (file: string, error: unknown) => void): Promise<ScreenshotsRepository> {
  const partialDir = path.join(dir, 'partial');
  mkdirSync(partialDir, { recursive: true, mode: 0o700 });
  const byId = new Map<string, ScreenshotRecord>();
  const byCommand = new Map<string, string>();
  for (const name of await readdir(dir)) {
    const match = META.exec(name);
    if (!match) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path.join(dir, name), 'utf8'));
    } catch (error) {
      // A metadata file torn by a crash mid-write: its image is unreachable and retention skips it.
      onDamaged(path.join(dir, name), error);
      continue;
    }
    const parsed = RecordSchema.safeParse(raw);
    if (!parsed.success) {
      onDamaged(path.join(dir, name), parsed.error);
      continue;
    }
    byId.set(parsed.data.id, parsed.data);
    byCommand.set(parsed.data.commandId, parsed.data.id);
  }
  const partialPath = (commandId: string): string => path.join(partialDir, `${commandId}.part`);
  const size = async (file: string): Promise<number> => {
    try {
      return (await stat(file)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
  };
  // One write at a time per upload: a duplicated chunk must not interleave with the next.
  const locks = new Map<string, Promise<unknown>>();
  const serial = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const run = (locks.get(key) ?? Promise.resolve()).then(work, work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    locks.set(key, settled);
    void settled.then(() => {
      if (locks.get(key) === settled) locks.delete(key);
    });
    return run;
  };

  return {
    partialSize: (commandId) => size(partialPath(commandId)),
    append: (commandId, offset, data) =>
      serial(commandId, async () => {
        const file = partialPath(commandId);
        const current = await size(file);
        if (offset === 0 && current > 0) {
          // A fresh start (the agent captured again, or lost track): begin anew.
          await truncate(file, 0);
          await appendFile(file, data, { mode: 0o600 });
          return data.byteLength;
        }
        if (offset !== current) return current;
        await appendFile(file, data, { mode: 0o600 });
        return current + data.byteLength;
      }),
    discardPartial: (commandId) => serial(commandId, () => rm(partialPath(commandId), { force: true })),
    partialSha256: (commandId) =>
      serial(
        commandId,
        () =>
          new Promise<string>((resolve, reject) => {
            const hash = createHash('sha256');
            createReadStream(partialPath(commandId))
              .on('data', (chunk) => hash.update(chunk))
              .on('error', reject)
              .on('end', () => resolve(hash.digest('hex')));
          }),
      ),
    finalize: (record) =>
      serial(record.commandId, async () => {
        await rename(partialPath(record.commandId), path.join(dir, `${record.id}.png`));
        const meta = path.join(dir, `${record.id}.json`);
        await writeFile(`${meta}.tmp`, JSON.stringify(record), { mode: 0o600 });
        await rename(`${meta}.tmp`, meta);
        byId.set(record.id, record);
        byCommand.set(record.commandId, record.id);
      }),
    find: (id) => byId.get(id),
    findByCommand: (commandId) => {
      const id = byCommand.get(commandId);
      return id ? byId.get(id) : undefined;
    },
    imagePath: (id) => path.join(dir, `${id}.png`),
    list: () => [...byId.values()].sort((a, b) => a.createdAt - b.createdAt),
    async remove(id) {
      const record = byId.get(id);
      byId.delete(id);
      if (record) byCommand.delete(record.commandId);
      await rm(path.join(dir, `${id}.json`), { force: true });
      await rm(path.join(dir, `${id}.png`), { force: true });
    },
    async prunePartials(now, maxAgeMs) {
      let removed = 0;
      for (const name of await readdir(partialDir)) {
        if (!PARTIAL.test(name)) continue;
        const file = path.join(partialDir, name);
        const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return null; // finalized meanwhile
          throw error;
        });
        if (info && now - info.mtimeMs > maxAgeMs) {
          await rm(file, { force: true });
          removed++;
        }
      }
      return removed;
    },
  };
}
