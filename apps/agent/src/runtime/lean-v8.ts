import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags that trade peak speed for memory, for an agent that wakes up every few seconds to
 * read /proc and send one message: compile for size, and stay in the bytecode interpreter
 * instead of producing optimised and baseline machine code. Measured on the idle agent (issue
 * #16, docs/adr/0027-hub-memory-and-tail.md): ~10 MiB less RSS, no measurable CPU difference.
 * They are compile-time flags, so setting them at run time works for everything compiled after;
 * heap sizes (the young generation) are fixed at start and cannot be set from here.
 */
export const LEAN_V8_FLAGS = ['--optimize-for-size', '--no-opt', '--no-sparkplug', '--no-maglev'] as const;

/**
 * Whether this process is the agent program itself (not a test runner or another program that
 * imported it) running a command that is not `simulate`, which plays thousands of agents and
 * needs the optimising compiler. `moduleUrl` is the bundle's URL (the executable's own for the
 * one-file agent, where argv[1] is the executable too).
 */
export function wantsLeanV8(argv: readonly string[], moduleUrl: string): boolean {
  const script = argv[1];
  if (!script || argv.slice(2).includes('simulate')) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch (error) {
    // argv[1] that does not resolve to a file (node -e, a REPL) is not this program.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** This process is the agent program running a command other than `simulate` (read once, at start). */
export const isLeanAgentProgram = wantsLeanV8(process.argv, import.meta.url);

// Imported first by main.ts, so this runs before the rest of the agent is evaluated.
if (isLeanAgentProgram) setFlagsFromString(LEAN_V8_FLAGS.join(' '));
