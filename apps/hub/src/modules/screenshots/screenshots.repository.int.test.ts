import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type Db } from '../../infra/database.js';
import { createScreenshotsRepository, importScreenshotFiles, type ScreenshotRecord, type ScreenshotsRepository } from './screenshots.repository.js';

/*
 * Issue #14, item 6: screenshots in the database, so every hub serves them. The upload rules
 * (append only where the upload stands, a fresh start at offset 0) hold as they did on disk,
 * and the files of older versions move in once.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'farol-screenshots-repo-'));
const clock = { t: 1_000_000, now() { return this.t; } };
let db: Db;
let store: ScreenshotsRepository;
const damaged: string[] = [];

const id16 = (): string => randomBytes(8).toString('hex');
function recordOf(commandId: string, image: Buffer, createdAt = clock.now()): ScreenshotRecord {
  return {
    id: `shot_${id16()}`,
    agentId: `ag_${id16()}`,
    agentName: 'box-1',
    jobId: `job_${id16()}`,
    commandId,
    createdBy: 'admin',
    createdAt,
    format: 'png',
    width: 10,
    height: 10,
    bytes: image.byteLength,
    sha256: createHash('sha256').update(image).digest('hex'),
    display: ':0',
    method: 'x11',
  };
}
async function bytesOf(record: ScreenshotRecord): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of store.image(record)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  mkdirSync(path.join(dir, 'data'));
  ({ db } = await openSqliteDatabase(path.join(dir, 'data')));
  store = createScreenshotsRepository(db, { clock, onDamaged: (what) => damaged.push(what) });
});
afterAll(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('screenshots in the database', () => {
  it('appends only where the upload stands, restarts at offset 0, and serves the image after finalizing', async () => {
    const commandId = `cmd_${id16()}`;
    const image = randomBytes(3_000);
    expect(await store.append(commandId, 0, image.subarray(0, 1_000))).toBe(1_000);
    // A chunk that overlaps what is held and one past it change nothing.
    expect(await store.append(commandId, 500, image.subarray(500, 1_000))).toBe(1_000);
    expect(await store.append(commandId, 2_000, image.subarray(2_000))).toBe(1_000);
    expect(await store.append(commandId, 1_000, image.subarray(1_000, 2_000))).toBe(2_000);
    expect(await store.append(commandId, 2_000, image.subarray(2_000))).toBe(3_000);
    expect(await store.partialSize(commandId)).toBe(3_000);
    expect(await store.partialSha256(commandId)).toBe(createHash('sha256').update(image).digest('hex'));
    const record = recordOf(commandId, image);
    await store.finalize(record);
    expect(await store.find(record.id)).toEqual(record);
    expect(await store.findByCommand(commandId)).toEqual(record);
    expect((await bytesOf(record)).equals(image)).toBe(true);
    // A finished screenshot is not an upload any more: late chunks and discards leave it alone.
    expect(await store.append(commandId, 0, randomBytes(10))).toBe(3_000);
    await store.discardPartial(commandId);
    expect((await bytesOf(record)).equals(image)).toBe(true);
    await store.remove(record.id);
    expect(await store.find(record.id)).toBeUndefined();
    expect(await store.partialSize(commandId)).toBe(0);
  });

  it('begins anew when a new capture starts at offset 0', async () => {
    const commandId = `cmd_${id16()}`;
    await store.append(commandId, 0, randomBytes(500));
    const second = randomBytes(200);
    expect(await store.append(commandId, 0, second)).toBe(200);
    expect(await store.partialSha256(commandId)).toBe(createHash('sha256').update(second).digest('hex'));
    await store.discardPartial(commandId);
    expect(await store.partialSize(commandId)).toBe(0);
  });

  it('drops uploads untouched for the given age, and only those', async () => {
    const stale = `cmd_${id16()}`;
    const fresh = `cmd_${id16()}`;
    await store.append(stale, 0, randomBytes(10));
    clock.t += 2 * 3_600_000;
    await store.append(fresh, 0, randomBytes(10));
    expect(await store.prunePartials(clock.now(), 3_600_000)).toBe(1);
    expect(await store.partialSize(stale)).toBe(0);
    expect(await store.partialSize(fresh)).toBe(10);
  });

  it('moves the screenshot files of an older version into the database once, leaving damaged ones', async () => {
    const legacy = path.join(dir, 'legacy-screenshots');
    mkdirSync(path.join(legacy, 'partial'), { recursive: true });
    const image = randomBytes(700 * 1024); // more than one upload chunk
    const record = recordOf(`cmd_${id16()}`, image, 5);
    writeFileSync(path.join(legacy, `${record.id}.png`), image);
    writeFileSync(path.join(legacy, `${record.id}.json`), JSON.stringify(record));
    writeFileSync(path.join(legacy, 'shot_0000000000000000.json'), '{"torn');
    writeFileSync(path.join(legacy, 'partial', `cmd_${id16()}.part`), randomBytes(10));
    const reports: string[] = [];
    expect(await importScreenshotFiles(legacy, store, (file) => reports.push(file))).toBe(1);
    expect(await store.find(record.id)).toEqual(record);
    expect((await bytesOf(record)).equals(image)).toBe(true);
    expect(existsSync(path.join(legacy, `${record.id}.png`))).toBe(false);
    expect(existsSync(path.join(legacy, 'partial'))).toBe(false);
    expect(reports).toEqual([path.join(legacy, 'shot_0000000000000000.json')]);
    // A second start finds nothing more to move.
    expect(await importScreenshotFiles(legacy, store, () => undefined)).toBe(0);
    expect((await store.list()).map((r) => r.id)).toContain(record.id);
  });
});
