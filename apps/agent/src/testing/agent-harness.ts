import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { HeartbeatSample } from '@farol/protocol';
import type { CommandContext } from '../commands/context.js';
import { runAgent, type RunAgentOverrides } from '../commands/run.command.js';
import { loadAgentConfig, type AgentFlags } from '../config.js';
import { createMemoryLogger, type LogFields } from '../logging/logger.js';
import { mathRandom, systemClock } from '../runtime/clock.js';
import { createTestHubState, startTestHub, type TestHub, type TestHubAgent, type TestHubState } from './test-hub.js';

/** Polls until a condition holds (shared by every test, issue #21). */
export { waitFor } from '@farol/test-support';

/** One test's agent, test hub and state dir. */
export interface AgentHarness {
  readonly stateDir: string;
  readonly hub: TestHub;
  readonly hubState: TestHubState;
  /** Starts the real `run` command (1 s heartbeats, fast reconnects) against the test hub. */
  start(flags?: AgentFlags, overrides?: Partial<RunAgentOverrides>): Promise<number>;
  /** Stops the hub and starts it again on the same port with the same state. */
  restartHub(): Promise<void>;
  stopHub(): Promise<void>;
  startHub(): Promise<void>;
  agent(): TestHubAgent | undefined;
  stored(): HeartbeatSample[];
  logs(): LogFields[];
  messages(): string[];
  /** Aborts the agent as SIGTERM would. */
  stopAgent(): void;
}

/**
 * Registers beforeEach/afterEach that give each test a fresh state dir, a fresh test hub and
 * an agent run it can start; everything is stopped and removed after the test.
 */
export function useAgentHarness(): AgentHarness {
  let stateDir = '';
  let hubState: TestHubState;
  let hub: TestHub;
  let hubRunning = false;
  let stop = new AbortController();
  let logs: () => LogFields[] = () => [];
  let running: Promise<number> | null = null;

  beforeEach(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'farol-agent-'));
    hubState = await createTestHubState();
    hub = await startTestHub(hubState);
    hubRunning = true;
    stop = new AbortController();
    running = null;
  });

  afterEach(async () => {
    stop.abort();
    await running;
    if (hubRunning) await hub.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const harness: AgentHarness = {
    get stateDir() {
      return stateDir;
    },
    get hub() {
      return hub;
    },
    get hubState() {
      return hubState;
    },
    start(flags = {}, overrides = {}) {
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
        { hub: hub.url, token: hubState.joinToken, state: stateDir, interval: '1s', reconnectMax: '1s', ...flags },
        {},
      );
      running = runAgent(config, context, { logger: memory.logger, reconnectBaseDelayMs: 100, ...overrides });
      return running;
    },
    async stopHub() {
      await hub.close();
      hubRunning = false;
    },
    async startHub() {
      hub = await startTestHub(hubState, hub.port);
      hubRunning = true;
    },
    async restartHub() {
      await harness.stopHub();
      await harness.startHub();
    },
    agent: () => [...hubState.agents.values()][0],
    stored: () => harness.agent()?.samples ?? [],
    logs: () => logs(),
    messages: () => logs().map((line) => String(line.msg)),
    stopAgent: () => stop.abort(),
  };
  return harness;
}
