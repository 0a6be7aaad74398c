import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../main.js';
import { startHub } from '../testing/start-test-hub.js';

/** Debian's `prometheus` package ships promtool (.ci/run installs it). */
function hasPromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    // Not installed: the test below says so in its skip reason.
    return false;
  }
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'farol-metrics-'));
let hub: RunningHub | undefined;

afterAll(async () => {
  await hub?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the hub\'s /metrics', () => {
  it.skipIf(!hasPromtool())('passes promtool check metrics (no gauge named _total) (#21; needs promtool from Debian\'s prometheus package)', async () => {
    hub = await startHub({ port: 0, bind: '127.0.0.1', dataDir, logLevel: 'silent', hubId: 'hub-metrics-1' }, { FAROL_ROLLUP_INTERVAL: '1h' });
    const response = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('farol_hub_nodejs_active_handles');
    expect(text).not.toMatch(/^farol_hub_nodejs_active_\w+_total/m);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
    // Issue #14: every series names its hub, so Prometheus can sum several hubs' series.
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(samples.length).toBeGreaterThan(50);
    for (const line of samples) expect(line).toContain('hub="hub-metrics-1"');
  });
});
