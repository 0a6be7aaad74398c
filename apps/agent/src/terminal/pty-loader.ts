import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as NodePty from 'node-pty';

/** The part of node-pty the terminal uses. */
export type PtyModule = Pick<typeof NodePty, 'spawn'>;
export type Pty = NodePty.IPty;

/** node-pty, or why it cannot be used on this machine. */
export type PtyLoad = { ok: true; pty: PtyModule } | { ok: false; message: string };

let cached: PtyLoad | undefined;

/**
 * Loads node-pty on first use. It is a native module, so the one-file agent the hub serves
 * cannot carry it (scripts/build.mjs keeps it external): it is resolved next to the agent file
 * (a checkout's node_modules, or `npm install node-pty` in the agent's directory). Loading it
 * lazily keeps every other feature working on machines without it.
 */
export function loadPty(): PtyLoad {
  if (cached) return cached;
  const here = fileURLToPath(import.meta.url);
  try {
    const require = createRequire(here);
    cached = { ok: true, pty: require('node-pty') as PtyModule };
  } catch (error) {
    const dir = path.dirname(here);
    cached = {
      ok: false,
      message: `terminal unavailable: node-pty is not installed next to the agent (run \`npm install node-pty@1\` in ${dir}, then restart the agent): ${(error as Error).message.split('\n')[0]}`,
    };
  }
  return cached;
}
