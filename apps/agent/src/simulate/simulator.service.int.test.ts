import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeartbeatSampleSchema } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../logging/logger.js';
import { mathRandom, systemClock } from '../runtime/clock.js';
import { createTestHubState, startTestHub, type TestHub } from '../testing/test-hub.js';
import { createSyntheticMachine, syntheticSample, syntheticSystemInfo } from './synthetic-sample.js';
import { formatSummary, runSimulation, type SimulationOptions } from './simulator.service.js';

describe('agent simulator', () => {
  let hub: TestHub;
  let stateDir: string;

  beforeEach(async () => {
    hub = await startTestHub(await createTestHubState('sim-token'));
    stateDir = mkdtempSync(path.join(tmpdir(), 'farol-sim-'));
  });
  afterEach(async () => {
    await hub.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const options = (overrides: Partial<SimulationOptions> = {}): SimulationOptions => ({
    hubUrl: hub.url,
    joinToken: 'sim-token',
    agents: 25,
    heartbeatIntervalMs: 1_000,
    stateDir,
    durationMs: 2_500,
    connectConcurrency: 10,
    clock: systemClock,
    random: mathRandom,
    logger: createMemoryLogger('warn').logger,
    signal: new AbortController().signal,
    ...overrides,
  });

  it('runs N agents over the real protocol and measures emit-to-ack latency', async () => {
    const links: Array<{ agent: number; event: string; hubUrl: string }> = [];
    const summary = await runSimulation(options({ onLink: (event) => links.push(event) }));
    // The link log of the reconnect-storm benchmark (--link-log): one link per agent here.
    expect(new Set(links.filter((l) => l.event === 'linked').map((l) => l.agent)).size).toBe(25);
    expect(links.every((l) => l.hubUrl === hub.url)).toBe(true);

    expect(summary.everConnected).toBe(25);
    expect(hub.state.hellos).toBe(25);
    expect(new Set(hub.state.handshakes.map((h) => h.agentId)).size).toBe(25);
    expect(summary.heartbeats.sent).toBeGreaterThanOrEqual(25);
    expect(summary.heartbeats.acked).toBe(summary.heartbeats.sent);
    expect(summary.heartbeats.failed).toBe(0);
    expect(summary.latencyMs.count).toBe(summary.heartbeats.acked);
    expect(summary.latencyMs.p50).toBeGreaterThan(0);
    expect(summary.latencyMs.max).toBeGreaterThanOrEqual(summary.latencyMs.p99!);
    const stored = [...hub.state.agents.values()].reduce((sum, agent) => sum + agent.samples.length, 0);
    expect(stored).toBe(summary.heartbeats.acked);
    expect(formatSummary(summary)).toMatch(/heartbeats: \d+ sent, \d+ acked, 0 failed/);
  });

  it('reuses cached identities on a rerun instead of enrolling again', async () => {
    await runSimulation(options({ agents: 5, durationMs: 1_000 }));
    expect(existsSync(path.join(stateDir, 'sim-identities.json'))).toBe(true);
    expect(hub.state.agents.size).toBe(5);

    const { joinToken: _unused, ...withoutToken } = options({ agents: 5, durationMs: 1_000 });
    const rerun = await runSimulation(withoutToken);
    expect(hub.state.agents.size).toBe(5);
    expect(rerun.everConnected).toBe(5);
  });

  it('sends synthetic samples the hub schema accepts', () => {
    let seed = 3;
    const random = () => ((seed = (seed * 16_807) % 2_147_483_647) / 2_147_483_647);
    for (let index = 0; index < 200; index++) {
      const machine = createSyntheticMachine(index, random, 1_800_000_000_000);
      const sample = syntheticSample(machine, 1_800_000_000_000 + index, random);
      expect(HeartbeatSampleSchema.safeParse(sample).success).toBe(true);
      expect(sample.topCpu).toHaveLength(5);
      expect(syntheticSystemInfo(machine).ips[1]!.isTailscale).toBe(true);
    }
  });
});
