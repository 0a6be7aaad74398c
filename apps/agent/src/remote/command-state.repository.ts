import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { COMMAND_ID_MEMORY_MS, CommandIdSchema, CommandResultSchema, type CommandResult } from '@farol/protocol';
import { writePrivateFileAtomic } from '../identity/identity.repository.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';

/** A command that was running when the agent last stopped. */
export interface RunningMarker {
  commandId: string;
  pid: number | null;
  startedAt: number;
}

/**
 * What the agent must not forget across restarts about remote commands, in `<state>/commands/`:
 * - `seen.jsonl`: every command id and JWS id received in the last 24 h, appended before a
 *   command runs, so a redelivered command never runs twice and a replayed one is refused;
 * - `results/<commandId>.json`: finished results until the hub acknowledges them, with
 *   `results/<commandId>.png` beside a screenshot's;
 * - `running/<commandId>.json`: commands in progress, so a crash is reported as one.
 */
export interface CommandStateRepository {
  hasJti(jti: string): boolean;
  hasCommand(commandId: string): boolean;
  /** Records a delivery (the command id is optional: a replay records nothing new). */
  remember(entry: { commandId?: string; jti: string }): void;
  saveResult(result: CommandResult): void;
  result(commandId: string): CommandResult | undefined;
  pendingResults(): CommandResult[];
  dropResult(commandId: string): void;
  /** A screenshot's PNG, kept beside its result until the hub acknowledges the result. */
  saveImage(commandId: string, png: Buffer): void;
  image(commandId: string): Buffer | undefined;
  markRunning(marker: RunningMarker): void;
  clearRunning(commandId: string): void;
  /** Markers left by a previous process (read once, at open). */
  readonly interrupted: RunningMarker[];
}

const SeenLineSchema = z.object({ c: CommandIdSchema.optional(), j: z.string(), t: z.number() });
const RunningMarkerSchema = z.object({ commandId: CommandIdSchema, pid: z.number().int().nullable(), startedAt: z.number() });
const FILE_PATTERN = /^(cmd_[a-z0-9]{16})\.json$/;

/** Opens (creating) the command state under `dir`, pruning what is older than 24 h. */
export function openCommandState({ dir, clock, logger }: { dir: string; clock: Clock; logger: Logger }): CommandStateRepository {
  const resultsDir = path.join(dir, 'results');
  const runningDir = path.join(dir, 'running');
  const seenFile = path.join(dir, 'seen.jsonl');
  mkdirSync(resultsDir, { recursive: true, mode: 0o700 });
  mkdirSync(runningDir, { recursive: true, mode: 0o700 });

  const commands = new Map<string, number>();
  const jtis = new Map<string, number>();
  let lines = 0;

  function prune(now: number): void {
    const oldest = now - COMMAND_ID_MEMORY_MS;
    for (const map of [commands, jtis]) for (const [key, at] of map) if (at < oldest) map.delete(key);
  }

  function compact(): void {
    const entries = [
      ...[...commands].map(([c, t]) => JSON.stringify({ c, j: '', t })),
      ...[...jtis].map(([j, t]) => JSON.stringify({ j, t })),
    ];
    writePrivateFileAtomic(seenFile, entries.length > 0 ? `${entries.join('\n')}\n` : '');
    lines = entries.length;
  }

  if (existsSync(seenFile)) {
    for (const line of readFileSync(seenFile, 'utf8').split('\n')) {
      if (line === '') continue;
      let parsed;
      try {
        parsed = SeenLineSchema.safeParse(JSON.parse(line));
      } catch (error) {
        // A line torn by a crash mid-append; the ones before it are intact.
        logger.warn({ err: error }, 'skipping a damaged line of the command memory');
        continue;
      }
      if (!parsed.success) continue;
      if (parsed.data.c) commands.set(parsed.data.c, parsed.data.t);
      if (parsed.data.j) jtis.set(parsed.data.j, parsed.data.t);
    }
  }
  prune(clock.now());
  compact();

  function readJson<T>(file: string, schema: z.ZodType<T>): T | undefined {
    try {
      const parsed = schema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (parsed.success) return parsed.data;
      logger.error({ file, issues: parsed.error.issues.length }, 'dropping an unreadable command state file');
    } catch (error) {
      logger.error({ err: error, file }, 'dropping an unreadable command state file');
    }
    rmSync(file, { force: true });
    return undefined;
  }

  // A PNG whose result was never written (the agent died between the two): nothing will send it.
  for (const name of readdirSync(resultsDir)) {
    const match = /^(cmd_[a-z0-9]{16})\.png$/.exec(name);
    if (match && !existsSync(path.join(resultsDir, `${match[1]}.json`))) rmSync(path.join(resultsDir, name), { force: true });
  }

  const interrupted: RunningMarker[] = [];
  for (const name of readdirSync(runningDir)) {
    if (!FILE_PATTERN.test(name)) continue;
    const marker = readJson(path.join(runningDir, name), RunningMarkerSchema);
    if (marker) interrupted.push(marker);
  }

  /** The state dir removed under the running agent (issue #12): recreate it before writing or listing. */
  function ensureDirs(): void {
    if (existsSync(resultsDir) && existsSync(runningDir)) return;
    logger.error({ dir }, 'the command state directory was removed under the running agent; recreating it');
    mkdirSync(resultsDir, { recursive: true, mode: 0o700 });
    mkdirSync(runningDir, { recursive: true, mode: 0o700 });
  }

  const repository: CommandStateRepository = {
    interrupted,
    hasJti: (jti) => jtis.has(jti),
    hasCommand: (commandId) => commands.has(commandId),
    remember({ commandId, jti }) {
      const now = clock.now();
      if (commandId) commands.set(commandId, now);
      jtis.set(jti, now);
      ensureDirs();
      appendFileSync(seenFile, `${JSON.stringify({ ...(commandId ? { c: commandId } : {}), j: jti, t: now })}\n`, { mode: 0o600 });
      lines++;
      if (lines > 1_000 && lines > 2 * (commands.size + jtis.size)) {
        prune(now);
        compact();
      }
    },
    saveResult(result) {
      ensureDirs();
      writePrivateFileAtomic(path.join(resultsDir, `${result.commandId}.json`), JSON.stringify(result));
    },
    result(commandId) {
      const file = path.join(resultsDir, `${commandId}.json`);
      return existsSync(file) ? readJson(file, CommandResultSchema) : undefined;
    },
    pendingResults() {
      const results: CommandResult[] = [];
      ensureDirs();
      for (const name of readdirSync(resultsDir)) {
        const match = FILE_PATTERN.exec(name);
        if (!match) continue;
        const result = readJson(path.join(resultsDir, name), CommandResultSchema);
        if (result) results.push(result);
      }
      return results.sort((a, b) => a.endedAt - b.endedAt);
    },
    dropResult(commandId) {
      rmSync(path.join(resultsDir, `${commandId}.json`), { force: true });
      rmSync(path.join(resultsDir, `${commandId}.png`), { force: true });
    },
    saveImage(commandId, png) {
      const file = path.join(resultsDir, `${commandId}.png`);
      ensureDirs();
      writeFileSync(`${file}.tmp`, png, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    },
    image(commandId) {
      const file = path.join(resultsDir, `${commandId}.png`);
      return existsSync(file) ? readFileSync(file) : undefined;
    },
    markRunning(marker) {
      ensureDirs();
      writePrivateFileAtomic(path.join(runningDir, `${marker.commandId}.json`), JSON.stringify(marker));
    },
    clearRunning(commandId) {
      rmSync(path.join(runningDir, `${commandId}.json`), { force: true });
    },
  };
  return repository;
}
