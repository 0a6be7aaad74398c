import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CliContext } from '../context.js';
import { main } from '../main.js';
import { NOW } from './fake-hub.js';

/** What one `farol` run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A way to run `farol` in this process, and the temporary home it runs in. */
export interface CliHarness {
  home: string;
  /** Runs `farol ARGS...`; `env` is added to a clean environment. */
  run(args: string[], env?: Record<string, string>, overrides?: Partial<CliContext>): Promise<CliRun>;
  cleanup(): Promise<void>;
}

/**
 * Runs `main` in this process with a private context: captured output, a fixed clock, a
 * temporary home (so the real ~/.config is never read) and no real signal handlers.
 */
export async function createCliHarness(): Promise<CliHarness> {
  const home = await mkdtemp(path.join(tmpdir(), 'farol-cli-'));
  return {
    home,
    async run(args, env = {}, overrides = {}) {
      let stdout = '';
      let stderr = '';
      const context: CliContext = {
        env: { PATH: process.env.PATH, ...env },
        cwd: home,
        homeDir: home,
        stdout: (text) => void (stdout += text),
        stderr: (text) => void (stderr += text),
        now: () => NOW,
        bundles: { hub: new URL(`file://${home}/missing/hub.mjs`), agent: new URL(`file://${home}/missing/farol-agent.mjs`) },
        importModule: (url) => import(url.href) as Promise<Record<string, unknown>>,
        execPath: process.execPath,
        commandName: 'farol',
        onShutdownSignal: () => () => undefined,
        ensureExit: () => undefined,
        ...overrides,
      };
      const code = await main(['node', 'farol', ...args], context);
      return { code, stdout, stderr };
    },
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}
