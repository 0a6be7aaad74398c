import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectUi, onUiEvent, watchJob, type UiSocket } from '@farol/client';
import { waitFor } from '@farol/test-support';
import type { Agent, AuditList, Job } from '@farol/protocol';
import { startHub, type RunningHub } from '../../apps/hub/src/main.js';
import { runAgent } from '../../apps/agent/src/commands/run.command.js';
import { loadAgentConfig } from '../../apps/agent/src/config.js';
import { createMemoryLogger, type LogFields } from '../../apps/agent/src/logging/logger.js';
import { mathRandom, systemClock } from '../../apps/agent/src/runtime/clock.js';

// The whole path of a secret with the real hub (SQLite, pino) and real agents running a real
// process: `exec --secret` reaches the command's environment, and the canary value appears in
// no hub log line, no agent log line, no job output (stored or streamed) and no byte of the
// database files.

const CANARY = 'CANARY-e2e-5d1c0b7a-never-in-clear';
const dir = mkdtempSync(path.join(tmpdir(), 'farol-secrets-'));
const hubLog: string[] = [];
let hub: RunningHub;
const agents: Array<{ name: string; stop: AbortController; done: Promise<number>; logs: () => LogFields[] }> = [];

async function api<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${hub.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${hub.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

async function startAgent(name: string, labels: Record<string, string>): Promise<void> {
  const token = await api<{ token: string }>('POST', '/api/join-tokens', { labels });
  const memory = createMemoryLogger('debug');
  const stop = new AbortController();
  const config = loadAgentConfig({ hub: hub.url, token: token.body.token, state: path.join(dir, name), name, interval: '1s', reconnectMax: '1s' }, {});
  const done = runAgent(
    config,
    { env: {}, stdout: { write: () => true }, stderr: { write: () => true }, clock: systemClock, random: mathRandom, signal: stop.signal },
    { logger: memory.logger, reconnectBaseDelayMs: 100, commandEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  agents.push({ name, stop, done, logs: memory.lines });
  await waitFor(async () => ((await api<Agent>('GET', `/api/agents/${name}`)).body?.status === 'online' ? true : undefined), 20_000, `${name} online`);
}

beforeAll(async () => {
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => hubLog.push(chunk.toString('utf8')));
  hub = await startHub({ port: 0, bind: '127.0.0.1', dataDir: path.join(dir, 'hub'), logLevel: 'debug' }, { FAROL_ROLLUP_INTERVAL: '1h' }, { logDestination: logStream });
  await startAgent('sys-web-1', { env: 'prod' });
  await startAgent('sys-web-2', { env: 'dev' });
});

afterAll(async () => {
  for (const agent of agents) agent.stop.abort();
  await Promise.all(agents.map((agent) => agent.done));
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a secret from the operator to a command', () => {
  it('reaches the command as an environment variable and is redacted everywhere else', async () => {
    expect((await api('PUT', '/api/secrets/DB_PASSWORD', { value: CANARY, scope: 'env=prod' })).status).toBe(201);

    const ui: UiSocket = connectUi({ baseUrl: hub.url, token: hub.adminToken, socketOptions: { transports: ['websocket'] } });
    const streamed: string[] = [];
    const invalid: string[] = [];
    onUiEvent(ui, 'job:output', (event) => streamed.push(event.data), (_event, error) => invalid.push(error.message));
    await new Promise<void>((resolve, reject) => {
      ui.once('connect', () => resolve());
      ui.once('connect_error', reject);
    });

    // Output starts after a pause, so the watch is in place before it streams.
    const script = 'sleep 0.5; printf "pw=%s\\n" "$DB_PASSWORD"; printf "%s" "$DB_PASSWORD" | sha256sum; printf "%s" "$DB_PASSWORD" >&2; echo "${#DB_PASSWORD}"';
    const created = await api<Job>('POST', '/api/jobs', { command: { kind: 'shell', argv: ['sh', '-c', script], secrets: ['DB_PASSWORD'] }, targets: { agents: ['sys-web-1'] }, timeoutMs: 15_000 });
    expect(created.status).toBe(201);
    await watchJob(ui, created.body.id);
    const job = await waitFor(async () => {
      const current = (await api<Job>('GET', `/api/jobs/${created.body.id}`)).body;
      return current.state === 'done' ? current : undefined;
    }, 20_000, 'the job');
    ui.close();

    const target = job.targets[0]!;
    expect(target.state).toBe('succeeded');
    const sha = createHash('sha256').update(CANARY).digest('hex');
    // The process had the value: its hash and length prove it without printing it.
    expect(target.stdout).toBe(`pw=[secret]\n${sha}  -\n${CANARY.length}\n`);
    expect(target.stderr).toBe('[secret]');
    expect(streamed.join('')).toContain('pw=[secret]');
    expect(invalid).toEqual([]);

    // Not scoped to the dev machine: refused before anything is sent.
    const refused = await api<{ code: string }>('POST', '/api/jobs', { command: { kind: 'shell', argv: ['true'], secrets: ['DB_PASSWORD'] }, targets: { agents: ['sys-web-2'] } });
    expect(refused.status).toBe(403);

    // A request line carrying the value: the hub's debug log shows it redacted.
    await api('GET', `/api/agents/${encodeURIComponent(CANARY)}`);
    const reads = (await api<AuditList>('GET', '/api/audit?action=secret.fetch')).body.entries;
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({ jobId: job.id, details: { names: ['DB_PASSWORD'], agentName: 'sys-web-1' } });

    const hubText = hubLog.join('');
    expect(hubText).toContain('secrets delivered to an agent');
    expect(hubText).toContain('[secret]');
    expect(hubText).not.toContain(CANARY);
    for (const agent of agents) {
      const lines = JSON.stringify(agent.logs());
      expect(lines.length).toBeGreaterThan(100);
      expect(lines, agent.name).not.toContain(CANARY);
    }
    expect(streamed.join('')).not.toContain(CANARY);
    expect(JSON.stringify(job)).not.toContain(CANARY);

    // Every database file, byte by byte (the WAL holds the recent writes).
    const dbFile = hub.databaseFile;
    for (const file of [dbFile, `${dbFile}-wal`]) {
      const bytes = readFileSync(file);
      expect(bytes.length, file).toBeGreaterThan(0);
      expect(bytes.includes(Buffer.from(CANARY)), file).toBe(false);
    }
    // And the agents' state dirs (results outbox, command memory).
    for (const agent of agents) {
      // grep exits 1 when no file matches, 0 (and names them) when one does.
      const search = spawnSync('grep', ['-rl', CANARY, path.join(dir, agent.name)], { encoding: 'utf8' });
      expect(search.stdout).toBe('');
      expect(search.status).toBe(1);
    }
  });
});
