import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckAssignment, CheckResults, CheckRunResult } from '@farol/protocol';
import { createLogger } from '../logging/logger.js';
import { commandChecksAllowed, createAgentChecks } from './checks.service.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function policyFile(content?: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'farol-checks-policy-'));
  dirs.push(dir);
  const file = path.join(dir, 'policy.json');
  if (content !== undefined) writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const logger = createLogger({ level: 'silent', sink: { write: () => undefined }, format: 'json' });
const tick = () => new Promise((resolve) => setImmediate(resolve));
const plugin: CheckAssignment = { id: 'chk_plugin', name: 'disk', probe: { kind: 'command', argv: ['/usr/lib/nagios/plugins/check_disk'] }, intervalMs: 60_000, timeoutMs: 5_000 };
const ok: CheckRunResult = { status: 'ok', latencyMs: 1, message: 'fine', certDaysLeft: null, perfdata: [] };

describe('command checks and the agent policy (#19)', () => {
  it('are off without a policy file, with an unreadable one, and when it does not name checks.command ("*" is not enough)', () => {
    expect(commandChecksAllowed(policyFile())).toMatchObject({ ok: false, reason: expect.stringContaining('add "checks.command"') });
    expect(commandChecksAllowed(policyFile('{ nope'))).toMatchObject({ ok: false });
    expect(commandChecksAllowed(policyFile({ allow: ['*'] }))).toMatchObject({ ok: false, reason: expect.stringContaining('does not allow "checks.command"') });
    expect(commandChecksAllowed(policyFile({ allow: ['metrics', 'checks.command'] }))).toEqual({ ok: true });
  });

  it('runs a plugin as UNKNOWN with the refusal when the policy says no, and for real when it says yes', async () => {
    const seen: Array<{ allowCommand: boolean; refusal?: string | undefined }> = [];
    const sent: CheckResults[] = [];
    for (const [file, allowed] of [
      [policyFile({ allow: ['*'] }), false],
      [policyFile({ allow: ['checks.command'] }), true],
    ] as const) {
      const checks = createAgentChecks({
        link: { isLinked: () => true, request: async (_event, payload) => (sent.push(payload as CheckResults), { ok: true as const, data: { stored: 1, ignored: 0 } }) },
        policyFile: file,
        clock: { now: () => 5_000 },
        logger,
        runProbe: async (_probe, _timeout, options) => {
          seen.push({ allowCommand: options.allowCommand, refusal: options.refusal });
          return ok;
        },
      });
      checks.assign([plugin]);
      checks.runNow([plugin.id]);
      await tick();
      await tick();
      await checks.stop();
      expect(seen.at(-1)!.allowCommand).toBe(allowed);
    }
    expect(seen[0]!.refusal).toContain('command check refused by this machine\'s policy');
    expect(sent.map((s) => s.results[0]!.checkId)).toEqual(['chk_plugin', 'chk_plugin']);
  });
});

describe('check results while the hub is away (#19)', () => {
  it('keeps them (bounded, oldest dropped) and sends them in one batch once linked', async () => {
    let linked = false;
    const sent: CheckResults[] = [];
    let now = 1_000;
    const checks = createAgentChecks({
      link: { isLinked: () => linked, request: async (_event, payload) => (sent.push(payload as CheckResults), { ok: true as const, data: { stored: 0, ignored: 0 } }) },
      policyFile: policyFile(),
      clock: { now: () => now },
      logger,
      maxBuffered: 3,
      runProbe: async () => ok,
    });
    const tcp = (id: string): CheckAssignment => ({ id, name: id, probe: { kind: 'tcp', host: '127.0.0.1', port: 9 }, intervalMs: 60_000, timeoutMs: 1_000 });
    checks.assign([tcp('chk_a'), tcp('chk_b')]);
    for (let round = 0; round < 3; round++) {
      now += 1_000;
      checks.runNow(['chk_a', 'chk_b']);
      await tick();
      await tick();
    }
    expect(sent).toEqual([]);
    expect(checks.pending()).toBe(3);
    linked = true;
    checks.linked();
    await tick();
    await tick();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.results.map((r) => r.ts)).toEqual([3_000, 4_000, 4_000]);
    expect(checks.pending()).toBe(0);
    await checks.stop();
  });
});
