import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../config.js';
import { createMemoryLogger } from '../logging/logger.js';
import { mathRandom, systemClock } from '../runtime/clock.js';
import { useAgentHarness, waitFor } from '../testing/agent-harness.js';
import { runAgent } from './run.command.js';

/* The agent keeps its identity safe (issue #12), against the real Socket.IO test hub. */

const quietContext = { env: {}, stdout: { write: () => true }, stderr: { write: () => true }, clock: systemClock, random: mathRandom };

describe('the agent\'s identity under faults (#12)', () => {
  const h = useAgentHarness();

  it('of two fresh agents started at the same moment on one state dir, only one enrolls; the other refuses clearly (#12)', async () => {
    const first = h.start();
    const second = runAgent(loadAgentConfig({ hub: h.hub.url, token: h.hubState.joinToken, state: h.stateDir, interval: '1s' }, {}), quietContext, {
      logger: createMemoryLogger().logger,
    });
    await expect(second).rejects.toThrow(/another farol-agent \(pid \d+\) is already running with/);
    await waitFor(() => h.stored().length >= 1, 8_000, 'the first agent reporting');
    expect(h.hubState.agents.size).toBe(1);
    h.stopAgent();
    expect(await first).toBe(0);
  });

  it('keeps running when its state directory is deleted: recreates it, logs once, keeps reporting (#12)', async () => {
    let exited: unknown = 'running';
    h.start().then(
      (code) => (exited = code),
      (error: unknown) => (exited = error),
    );
    await waitFor(() => h.stored().length >= 2, 8_000, 'two heartbeats');
    rmSync(h.stateDir, { recursive: true, force: true });
    const before = h.stored().length;
    // A reconnect reads the command state too (it crashed the agent on an uncaught ENOENT).
    await h.restartHub();
    await waitFor(() => h.stored().length >= before + 3, 10_000, 'heartbeats after the deletion');
    expect(exited).toBe('running');
    expect(existsSync(path.join(h.stateDir, 'identity.json'))).toBe(true);
    expect(existsSync(path.join(h.stateDir, 'agent.lock'))).toBe(true);
    const told = h.messages().filter((message) => message.startsWith('the state directory was removed under the running agent'));
    expect(told).toHaveLength(1);
  });

  it('retries enrollment with backoff while the hub is unreachable, then enrolls (#12)', async () => {
    await h.stopHub();
    let exited: unknown = 'running';
    h.start().then(
      (code) => (exited = code),
      (error: unknown) => (exited = error),
    );
    await waitFor(() => h.messages().filter((message) => message.endsWith('trying to enroll again')).length >= 2, 8_000, 'two enrollment retries');
    expect(exited).toBe('running');
    await h.startHub();
    await waitFor(() => h.stored().length >= 1, 10_000, 'a heartbeat after the hub came up');
    expect(h.hubState.agents.size).toBe(1);
  });

  it('still exits at once with a clear message when the join token is refused (#12)', async () => {
    const refused = runAgent(loadAgentConfig({ hub: h.hub.url, token: 'not-the-token', state: h.stateDir }, {}), quietContext, { logger: createMemoryLogger().logger });
    await expect(refused).rejects.toThrow(/enrollment refused: join token is not valid \(token_invalid\)/);
    expect(h.hubState.agents.size).toBe(0);
  });
});
