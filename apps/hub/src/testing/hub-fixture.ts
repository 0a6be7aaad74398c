import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HubOverrides } from '../config.js';
import type { RunningHub } from '../main.js';
import { startHub } from './start-test-hub.js';

/** A real hub on 127.0.0.1 with a fresh SQLite file in a temp directory. */
export interface HubFixture extends RunningHub {
  dataDir: string;
  api(method: string, route: string, body?: unknown, token?: string | null): Promise<{ status: number; body: unknown; headers: Headers }>;
  createJoinToken(input?: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

export async function startHubFixture(env: Record<string, string> = {}, overrides: HubOverrides = {}): Promise<HubFixture> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-hub-test-'));
  const hub = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'silent', ...overrides }, { FAROL_ROLLUP_INTERVAL: '1h', ...env });
  const api: HubFixture['api'] = async (method, route, body, token) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token ?? hub.adminToken}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${hub.url}${route}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (Prometheus text, scripts): keep the text.
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
  return {
    ...hub,
    dataDir,
    api,
    async createJoinToken(input = {}) {
      const { status, body } = await api('POST', '/api/join-tokens', input);
      if (status !== 201) throw new Error(`join token: ${status} ${JSON.stringify(body)}`);
      return (body as { token: string }).token;
    },
    async stop() {
      await hub.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until a value comes (shared by every test, issue #21). */
export { waitFor } from '@farol/test-support';
