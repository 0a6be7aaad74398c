import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { agentBundle, root } from './processes.js';

/** The version the built bundle carries. */
export const BUNDLE_VERSION = '0.1.0';

/** The bundle as another version (what a rebuild with another __FAROL_VERSION__ gives), optionally patched. */
export function bundleOf(version: string, patch: (text: string) => string = (text) => text): string {
  const text = readFileSync(agentBundle, 'utf8');
  const marker = `FAROL_VERSION = "${BUNDLE_VERSION}"`;
  if (text.split(marker).length !== 2) throw new Error(`the agent bundle does not carry ${marker} exactly once`);
  return patch(text.replace(marker, `FAROL_VERSION = "${version}"`));
}

export interface SupervisedAgent {
  /** The agent's own copy of the bundle, which updates replace. */
  file: string;
  state: string;
  output(): string;
  starts(): number;
  stop(): Promise<void>;
}

/**
 * An agent under a small restart loop standing in for systemd (FAROL_SUPERVISED=1: the agent
 * exits 75 to be restarted): started again after any exit but a clean stop, like
 * Restart=on-failure. It runs its own copy of the bundle in `home`.
 */
export function superviseAgent(home: string, firstArgs: string[], laterArgs: string[], bundle: string = readFileSync(agentBundle, 'utf8')): SupervisedAgent {
  mkdirSync(home, { recursive: true });
  const file = path.join(home, 'farol-agent.mjs');
  writeFileSync(file, bundle);
  const state = path.join(home, 'state');
  let output = '';
  let child: ChildProcess | null = null;
  let stopping = false;
  let starts = 0;
  let exited: Promise<void> = Promise.resolve();
  const start = (): void => {
    if (stopping || starts >= 30) return;
    starts++;
    child = spawn(process.execPath, [file, ...(starts === 1 ? firstArgs : laterArgs), '--state', state], {
      cwd: root,
      env: { ...process.env, FAROL_SUPERVISED: '1', FAROL_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolve) =>
      child!.once('exit', (code) => {
        output += `\n[supervisor] exit ${code}\n`;
        if (!stopping && code !== 0 && code !== 4) setTimeout(start, 200);
        resolve();
      }),
    );
  };
  start();
  return {
    file,
    state,
    output: () => output,
    starts: () => starts,
    async stop() {
      stopping = true;
      child?.kill('SIGTERM');
      await exited;
    },
  };
}
