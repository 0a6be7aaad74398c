// Whether `npm start` may skip the build (`scripts/build.mjs --if-stale`, issue #21): every output
// exists and is newer than every source it is built from.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const OUTPUTS = ['apps/hub/dist/hub.mjs', 'apps/agent/dist/farol-agent.mjs', 'apps/cli/dist/farol.mjs', 'apps/web/dist/index.html'];
/** What the outputs are built from; folders are walked, skipping built and installed files. */
export const INPUTS = ['apps', 'packages', 'package.json', 'package-lock.json', 'tsconfig.base.json', 'scripts/build.mjs'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.farol-test', 'test-results']);

function newestMtime(file) {
  const info = statSync(file, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(file, { withFileTypes: true })) {
    if (entry.isDirectory() && SKIPPED_DIRS.has(entry.name)) continue;
    newest = Math.max(newest, newestMtime(path.join(file, entry.name)));
  }
  return newest;
}

/** True when every output exists and is newer than every source (`npm start` then skips the build). */
export function isUpToDate(root) {
  const outputs = OUTPUTS.map((file) => statSync(path.join(root, file), { throwIfNoEntry: false })?.mtimeMs ?? 0);
  const oldestOutput = Math.min(...outputs);
  if (oldestOutput === 0) return false;
  return INPUTS.every((input) => newestMtime(path.join(root, input)) < oldestOutput);
}

