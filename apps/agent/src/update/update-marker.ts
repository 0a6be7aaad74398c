import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AgentVersionSchema, CommandIdSchema } from '@farol/protocol';
import { writePrivateFileAtomic } from '../identity/identity.repository.js';

export const UPDATE_MARKER_FILE = 'update.json';

/**
 * `<state>/update.json`, written before the swap: the new build is on trial until it says hello
 * to the hub. `rolled_back` is what the new build leaves for the old one when it gave up.
 */
export const UpdateMarkerSchema = z.object({
  state: z.enum(['trial', 'rolled_back']),
  commandId: CommandIdSchema,
  version: AgentVersionSchema.describe('The new version'),
  previous: z.string().max(64).describe('The version it replaced'),
  file: z.string().min(1),
  prevFile: z.string().min(1),
  startedAt: z.number().int().nullable().describe('First start of the new version (ms since epoch)'),
  starts: z.number().int().nonnegative(),
  reason: z.string().max(1_000).optional(),
});
export type UpdateMarker = z.infer<typeof UpdateMarkerSchema>;

export function markerPath(stateDir: string): string {
  return path.join(stateDir, UPDATE_MARKER_FILE);
}

/** The marker, null without one; a marker that cannot be parsed is reported, not trusted. */
export function readMarker(stateDir: string): UpdateMarker | null | { error: string } {
  const file = markerPath(stateDir);
  if (!existsSync(file)) return null;
  try {
    const parsed = UpdateMarkerSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : { error: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export function writeMarker(stateDir: string, marker: UpdateMarker): void {
  writePrivateFileAtomic(markerPath(stateDir), `${JSON.stringify(UpdateMarkerSchema.parse(marker))}\n`);
}

export function removeMarker(stateDir: string): void {
  rmSync(markerPath(stateDir), { force: true });
}
