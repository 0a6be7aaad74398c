import { homedir } from 'node:os';
import path from 'node:path';

/** Where the launcher finds the hub and agent bundles it delegates to (see ADR on bundling). */
export interface BundleLocations {
  hub: URL;
  agent: URL;
}

/**
 * Everything a command touches outside its arguments. `main` builds the real one from `process`;
 * tests pass their own so output, environment, time and signals are under their control.
 */
export interface CliContext {
  env: Record<string, string | undefined>;
  cwd: string;
  homeDir: string;
  /** Writes text as is (callers add the newline). */
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now: () => number;
  /** Used by the hub client; default the global fetch. */
  fetch?: typeof fetch;
  bundles: BundleLocations;
  /** Loads a bundle (dynamic import); tests substitute modules here. */
  importModule: (url: URL) => Promise<Record<string, unknown>>;
  /** The Node binary used to start child processes (the local agent of `farol dev`). */
  execPath: string;
  /** How the operator invokes this CLI, for hints: `farol`, or `node bin/farol.mjs` in a checkout. */
  commandName: string;
  /** Subscribes to SIGINT/SIGTERM; returns the unsubscribe function. */
  onShutdownSignal: (listener: (signal: string) => void) => () => void;
  /**
   * Makes sure a long-running command (`farol dev`) really ends once it has cleaned up, even if a
   * library left a handle open. Tests pass a no-op.
   */
  ensureExit: (code: number) => void;
}

/** The context of a real `farol` process. */
export function createProcessContext(bundles: BundleLocations): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    homeDir: homedir(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    now: () => Date.now(),
    bundles,
    importModule: (url) => import(url.href) as Promise<Record<string, unknown>>,
    execPath: process.execPath,
    commandName: commandNameOf(process.argv[1], process.cwd()),
    onShutdownSignal: (listener) => {
      process.on('SIGINT', listener);
      process.on('SIGTERM', listener);
      return () => {
        process.off('SIGINT', listener);
        process.off('SIGTERM', listener);
      };
    },
    ensureExit: (code) => {
      // Unref'd: if nothing else keeps the loop alive the process ends by itself first.
      setTimeout(() => process.exit(code), 2_000).unref();
    },
  };
}

/** `farol` when installed on PATH, else the way this checkout's launcher was started. */
export function commandNameOf(script: string | undefined, cwd: string): string {
  if (!script || path.basename(script) === 'farol') return 'farol';
  const relative = path.relative(cwd, script);
  return `node ${relative.startsWith('..') ? script : relative}`;
}
