import path from 'node:path';

/** What this agent process runs from: the file an update replaces and the build platform it needs. */
export interface RunningBuild {
  /** `node` for the .mjs bundle (any OS), `<os>-<arch>` for a one-file executable. */
  platform: string;
  /** The file replaced by an update. */
  file: string;
  /** How to run a build of this platform: [program, ...args before the agent's own]. */
  launcher(file: string): [string, ...string[]];
}

/**
 * The build this process runs from, or why it cannot be updated: an agent run from the
 * TypeScript sources (`npm run dev`, tests) is updated with git, not by the hub.
 */
export function runningBuild(argv: readonly string[] = process.argv, execPath: string = process.execPath): RunningBuild | { error: string } {
  const script = argv[1];
  if (script && script.endsWith('.mjs')) {
    return { platform: 'node', file: path.resolve(script), launcher: (file) => [execPath, file] };
  }
  // A one-file executable (Node single-executable application) is its own program: argv[1] is
  // its first argument, not a script.
  if (path.basename(execPath).startsWith('farol-agent')) {
    return { platform: `${process.platform}-${process.arch}`, file: execPath, launcher: (file) => [file] };
  }
  return { error: `this agent runs from ${script ?? execPath}, not from a farol-agent.mjs bundle or a farol-agent executable; update it where it was built` };
}
