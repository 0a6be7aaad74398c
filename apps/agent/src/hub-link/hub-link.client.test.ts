import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HeartbeatSampleSchema, errorAck, type ErrorCode } from '@farol/protocol';
import { runAgent } from '../commands/run.command.js';
import type { CommandContext } from '../commands/context.js';
import { loadAgentConfig } from '../config.js';
import { createMemoryLogger, type LogFields } from '../logging/logger.js';
import { mathRandom, systemClock } from '../runtime/clock.js';
import { createImpostorKey, createTestHubState, startTestHub, type TestHub, type TestHubState } from '../testing/test-hub.js';

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('hub link (against a real Socket.IO test hub)', () => {
  let stateDir: string;
  let hubState: TestHubState;
  let hub: TestHub;
  let stop: AbortController;
  let logs: () => LogFields[];
  let running: Promise<number> | null;

  function start(extraFlags: Record<string, string> = {}): Promise<number> {
    const memory = createMemoryLogger('debug');
    logs = memory.lines;
    const context: CommandContext = {
      env: {},
      stdout: { write: () => true },
      stderr: { write: () => true },
      clock: systemClock,
      random: mathRandom,
      signal: stop.signal,
    };
    const config = loadAgentConfig(
      { hub: hub.url, token: hubState.joinToken, state: stateDir, interval: '1s', reconnectMax: '1s', ...extraFlags },
      {},
    );
    running = runAgent(config, context, { logger: memory.logger, reconnectBaseDelayMs: 100 });
    return running;
  }

  const onlyAgent = () => [...hubState.agents.values()][0];
  const stored = () => onlyAgent()?.samples ?? [];
  const messages = () => logs().map((line) => String(line.msg));

  beforeEach(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'farol-agent-'));
    hubState = await createTestHubState();
    hub = await startTestHub(hubState);
    stop = new AbortController();
    running = null;
  });

  afterEach(async () => {
    stop.abort();
    await running;
    await hub.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('enrolls, proves the hub, then sends heartbeats; stops promptly with exit 0', async () => {
    const exit = start();
    await waitFor(() => stored().length >= 2, 8_000, 'two heartbeats');

    const identityFile = path.join(stateDir, 'identity.json');
    expect(statSync(identityFile).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    const identity = JSON.parse(readFileSync(identityFile, 'utf8')) as { agentId: string; hubPublicKey: unknown };
    expect(identity.agentId).toBe(onlyAgent()!.agentId);
    expect(identity.hubPublicKey).toEqual(hubState.hubKey.publicJwk);
    expect(hubState.hellos).toBe(1);
    for (const sample of stored()) expect(HeartbeatSampleSchema.safeParse(sample).success).toBe(true);

    const stoppingAt = Date.now();
    stop.abort();
    expect(await exit).toBe(0);
    expect(Date.now() - stoppingAt).toBeLessThan(2_000);
  });

  it('sends no metrics to a hub that cannot prove the pinned key, and keeps retrying', async () => {
    // Enroll with the real hub key, then let an impostor answer the hellos.
    start();
    await waitFor(() => stored().length >= 1, 8_000, 'first heartbeat');
    const before = stored().length;
    hubState.proofKey = await createImpostorKey();
    const hellosBefore = hubState.hellos;
    await hub.close();
    hub = await startTestHub(hubState, hub.port);

    await waitFor(() => hubState.hellos >= hellosBefore + 2, 8_000, 'two refused hellos');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(stored().length).toBe(before);
    expect(messages()).toContain('hub could not prove its identity (key mismatch): refusing to send data');
  });

  it('backfills what was buffered during an outage, in order, once the hub is back', async () => {
    start();
    await waitFor(() => stored().length >= 1, 8_000, 'first heartbeat');
    await hub.close();
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    expect(stored().length).toBeLessThanOrEqual(2);
    hub = await startTestHub(hubState, hub.port);
    const lastBeforeRestart = Date.now();
    await waitFor(() => stored().some((s) => s.ts >= lastBeforeRestart), 8_000, 'a live heartbeat after the restart');

    const ts = stored().map((s) => s.ts);
    expect(ts.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < ts.length; i++) {
      expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
      // One sample per 1 s tick: a gap would mean a lost sample.
      expect(ts[i]! - ts[i - 1]!).toBeLessThan(1_600);
    }
  });

  it.each<[ErrorCode, string]>([
    ['agent_deleted', 'the hub deleted this agent'],
    ['key_revoked', "the hub revoked this agent's key"],
    ['protocol_version_unsupported', 'the hub supports protocol 2-3'],
  ])('stops with exit 3 when the hub refuses with %s', async (code, said) => {
    hubState.refuse = () => ({ code, message: 'refused for the test', supportedProtocolVersions: { min: 2, max: 3 } });
    const exit = await start();
    expect(exit).toBe(3);
    const fatal = logs().filter((line) => line.level === 60);
    expect(fatal).toHaveLength(1);
    expect(String(fatal[0]!.msg)).toContain(said);
    expect(hubState.handshakes).toHaveLength(1);
  });

  it('retries a refused token with a fresh one each attempt', async () => {
    let refusals = 2;
    hubState.refuse = () => (refusals-- > 0 ? { code: 'token_invalid', message: 'jti already used' } : null);
    start();
    await waitFor(() => stored().length >= 1, 8_000, 'a heartbeat after two refusals');
    const jtis = hubState.handshakes.map((h) => h.jti);
    expect(jtis.length).toBeGreaterThanOrEqual(3);
    expect(new Set(jtis).size).toBe(jtis.length);
  });

  it('drops a batch the hub calls invalid instead of resending it forever', async () => {
    let rejectedTs: number[] | null = null;
    hubState.onReport = (_agent, samples) => {
      if (rejectedTs !== null) return null;
      rejectedTs = samples.map((s) => s.ts);
      return errorAck('validation_failed', 'sample rejected');
    };
    start();
    await waitFor(() => stored().length >= 2, 8_000, 'heartbeats after the rejected one');
    const rejected = logs().filter((line) => String(line.msg).includes('rejected a metrics batch as invalid'));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.level).toBe(50);
    // The dropped sample is never sent again; the following ones arrive.
    const storedTs = stored().map((s) => s.ts);
    expect(rejectedTs!.length).toBeGreaterThan(0);
    for (const ts of rejectedTs!) expect(storedTs).not.toContain(ts);
    expect(Math.min(...storedTs)).toBeGreaterThan(Math.max(...rejectedTs!));
  });

  it('keeps identity.json in step when the hub renames the agent', async () => {
    hubState.renameTo = { name: 'renamed-box', labels: { role: 'db' } };
    start();
    await waitFor(() => stored().length >= 1, 8_000, 'first heartbeat');
    const identity = JSON.parse(readFileSync(path.join(stateDir, 'identity.json'), 'utf8')) as { name: string; labels: unknown };
    expect(identity).toMatchObject({ name: 'renamed-box', labels: { role: 'db' } });
  });
});
