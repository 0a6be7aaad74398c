import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const farolBin = path.join(root, 'bin/farol.mjs');
export const agentBundle = path.join(root, 'apps/agent/dist/farol-agent.mjs');

/** A child process with its output kept, for assertions and for debugging failures. */
export interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function run(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Proc {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? root,
    env: { ...process.env, FAROL_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `farol-${prefix}-`));
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const ADMIN_TOKEN = 'fat_e2e_admin_token_0123456789abcdef';

/** `farol hub` as its own process on a fixed port, with a known admin token. */
export async function startHubProcess(dataDir: string, port: number, env: Record<string, string> = {}): Promise<Proc & { url: string }> {
  const proc = run([farolBin, 'hub', '--port', String(port), '--data', dataDir], { env: { FAROL_ADMIN_TOKEN: ADMIN_TOKEN, ...env } });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (proc.child.exitCode !== null) throw new Error(`hub exited: ${proc.output()}`);
    try {
      return (await fetch(`${url}/ready`)).ok || undefined;
    } catch {
      return undefined;
    }
  }, 30_000, 'hub ready');
  return { ...proc, url };
}

export async function api<T = unknown>(url: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function joinToken(url: string, input: Record<string, unknown> = {}): Promise<string> {
  const { status, body } = await api<{ token: string }>(url, 'POST', '/api/join-tokens', input);
  if (status !== 201) throw new Error(`join token: ${status}`);
  return body.token;
}

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
