import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { startHub } from '../../testing/start-test-hub.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-no-channel-'));
const env = { FAROL_ROLLUP_INTERVAL: '1h', FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32' };

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Starts the hub, runs `during`, stops it; returns the warnings it logged. */
async function warningsOfAStart(during: (hub: { url: string; adminToken: string }) => Promise<void> = async () => undefined): Promise<string[]> {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const hub = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'info' }, env, { logDestination: stream });
  try {
    await during(hub);
  } finally {
    await hub.close();
  }
  return lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((entry) => entry.level === 40).map((entry) => entry.msg);
}

describe('alerts that go nowhere', () => {
  it('warns once in the hub log at start while no notification channel is configured, and not once one is (#21)', async () => {
    const first = await warningsOfAStart(async (hub) => {
      const created = await fetch(`${hub.url}/api/channels`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'ntfy', name: 'oncall', settings: { serverUrl: 'http://127.0.0.1:9', topic: 'farol' } }),
      });
      expect(created.status).toBe(201);
    });
    expect(first.filter((msg) => msg.includes('no notification channel'))).toEqual([
      'no notification channel is configured: alerts will notify no one; add one with `farol channels add` or in the dashboard under Alerts → Channels',
    ]);
    const second = await warningsOfAStart();
    expect(second.filter((msg) => msg.includes('no notification channel'))).toEqual([]);
  });
});
