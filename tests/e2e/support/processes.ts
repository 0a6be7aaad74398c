import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@farol/test-support';
import { createTestDatabase, isPostgresRun } from '../../../apps/hub/src/testing/postgres-test-db.js';

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

/** Databases of e2e hubs on PostgreSQL, by data directory (see `e2e-pg` in vitest.config.ts). */
const hubDatabases = new Map<string, Awaited<ReturnType<typeof createTestDatabase>>>();

/**
 * With `FAROL_TEST_DB=postgres` (the `e2e-pg` project, issue #13), the hub of `dataDir` runs on
 * a PostgreSQL database of its own, keyed by the directory so a restarted hub finds its data;
 * its URL, or undefined on SQLite.
 */
export async function hubDatabaseUrl(dataDir: string): Promise<string | undefined> {
  if (!isPostgresRun()) return undefined;
  const key = path.resolve(dataDir);
  let database = hubDatabases.get(key);
  if (!database) {
    database = await createTestDatabase(`e2e:${key}`);
    hubDatabases.set(key, database);
  }
  return database.url;
}

/** Drops the databases `hubDatabaseUrl` created (after each file of `e2e-pg`). */
export async function dropHubDatabases(): Promise<void> {
  for (const database of hubDatabases.values()) await database.drop();
  hubDatabases.clear();
}

/** `farol hub` as its own process on a fixed port, with a known admin token. */
export async function startHubProcess(dataDir: string, port: number, env: Record<string, string> = {}, { readyTimeoutMs = 30_000 } = {}): Promise<Proc & { url: string }> {
  const databaseUrl = env.FAROL_DATABASE_URL === undefined ? await hubDatabaseUrl(dataDir) : undefined;
  const proc = run([farolBin, 'hub', '--port', String(port), '--data', dataDir], {
    env: { FAROL_ADMIN_TOKEN: ADMIN_TOKEN, ...(databaseUrl ? { FAROL_DATABASE_URL: databaseUrl } : {}), ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  let lastAnswer = 'no answer';
  try {
    await waitFor(async () => {
      if (proc.child.exitCode !== null) throw new Error(`hub exited: ${proc.output()}`);
      try {
        const response = await fetch(`${url}/ready`);
        lastAnswer = `${response.status} ${(await response.text()).slice(0, 500)}`;
        return response.ok || undefined;
      } catch (error) {
        lastAnswer = String(error);
        return undefined;
      }
    }, readyTimeoutMs, 'hub ready');
  } catch (error) {
    if (proc.child.exitCode !== null) throw error;
    // A hub that never got ready: say what /ready said last and what the hub logged.
    throw new Error(`${(error as Error).message} on port ${port}; /ready last said: ${lastAnswer}; the hub's log ends with:\n${proc.output().slice(-4_000)}`, { cause: error });
  }
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

/** Polls until a value comes (shared by every test, issue #21). */
export { waitFor };
