import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandContext } from '../commands/context.js';
import { runAgent } from '../commands/run.command.js';
import { loadAgentConfig, type AgentFlags } from '../config.js';
import { createMemoryLogger, type LogFields } from '../logging/logger.js';
import { mathRandom, systemClock } from '../runtime/clock.js';
import { waitFor } from '../testing/agent-harness.js';
import { createImpostorKey, createTestHubState, startTestHub, type TestHub, type TestHubState } from '../testing/test-hub.js';

/*
 * Issue #14: `--hub a,b` — two hubs sharing one fleet (here two real Socket.IO test hubs over one
 * state: one database, one hub key). The agent stays on the hub that works and moves to the other
 * when it fails. The same behaviour against real hub processes (and through HAProxy) is in
 * tests/e2e/several-hubs-failover.e2e.test.ts.
 */

let state: TestHubState;
let hubs: TestHub[];
let stateDir: string;
let stop: AbortController;
let running: Promise<number> | null;
let logs: () => LogFields[];

beforeEach(async () => {
  state = await createTestHubState();
  hubs = [await startTestHub(state), await startTestHub(state)];
  stateDir = mkdtempSync(path.join(tmpdir(), 'farol-failover-'));
  stop = new AbortController();
  running = null;
});

afterEach(async () => {
  stop.abort();
  await running;
  await Promise.all(hubs.map((hub) => hub.close()));
  rmSync(stateDir, { recursive: true, force: true });
});

/** A loopback port with nothing listening on it. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Draws just under 1: the rotation keeps the order given in --hub (see hub-rotation.test.ts). */
const keepOrder = (): number => 0.999;

function start(flags: AgentFlags, random: () => number = mathRandom): Promise<number> {
  const memory = createMemoryLogger('debug');
  logs = memory.lines;
  const context: CommandContext = { env: {}, stdout: { write: () => true }, stderr: { write: () => true }, clock: systemClock, random, signal: stop.signal };
  const config = loadAgentConfig({ token: state.joinToken, state: stateDir, interval: '1s', reconnectMax: '1s', ...flags }, {});
  running = runAgent(config, context, { logger: memory.logger, reconnectBaseDelayMs: 100 });
  return running;
}

/** The hub URL of every verified hello, in order. */
const linkedTo = (): string[] => logs().filter((line) => line.msg === 'connected to hub').map((line) => String(line.hubUrl));

describe('an agent given several hubs (issue #14)', () => {
  it('stays on the hub that works, and moves to the other one when it dies', async () => {
    start({ hub: `${hubs[0]!.url},${hubs[1]!.url}` });
    await waitFor(() => linkedTo().length >= 1, 8_000, 'a first link');
    const first = linkedTo()[0]!;
    const samplesBefore = [...state.agents.values()][0]!.samples.length;
    // Heartbeats flow for a while without any move.
    await waitFor(() => [...state.agents.values()][0]!.samples.length >= samplesBefore + 2, 8_000, 'two more heartbeats');
    expect(linkedTo()).toEqual([first]);

    const dead = hubs.find((hub) => hub.url === first)!;
    const survivor = hubs.find((hub) => hub.url !== first)!;
    await dead.close();
    const diedAt = Date.now();
    await waitFor(() => linkedTo().length >= 2, 8_000, 'the link to the other hub');
    expect(linkedTo()[1]).toBe(survivor.url);
    // Base 100 ms, cap 1 s here: one failed try at most before the survivor.
    expect(Date.now() - diedAt).toBeLessThan(3_000);
    const samples = [...state.agents.values()][0]!.samples.length;
    await waitFor(() => [...state.agents.values()][0]!.samples.length > samples, 8_000, 'heartbeats through the survivor');
  });

  it('enrolls through whichever hub answers and keeps every URL in identity.json', async () => {
    const nothing = `http://127.0.0.1:${await closedPort()}`;
    start({ hub: `${nothing},${hubs[1]!.url}/` }, keepOrder);
    await waitFor(() => linkedTo().length >= 1, 10_000, 'a link');
    expect(linkedTo()[0]).toBe(hubs[1]!.url);
    const identity = JSON.parse(readFileSync(path.join(stateDir, 'identity.json'), 'utf8')) as { hubUrl: string };
    expect(identity.hubUrl).toBe(`${nothing},${hubs[1]!.url}`);
    expect(state.agents.size).toBe(1);
  });

  it('restarts with the URLs it enrolled with when --hub is not given again', async () => {
    start({ hub: `${hubs[0]!.url},${hubs[1]!.url}` });
    await waitFor(() => linkedTo().length >= 1, 8_000, 'a first link');
    stop.abort();
    expect(await running).toBe(0);
    await hubs[0]!.close();
    await hubs[1]!.close();
    // Only the second hub comes back, on its port: the agent must find it from identity.json alone.
    hubs = [await startTestHub(state, hubs[1]!.port)];
    stop = new AbortController();
    start({ token: undefined }, keepOrder);
    await waitFor(() => linkedTo().length >= 1, 10_000, 'a link from the enrolled URLs');
    expect(linkedTo()[0]).toBe(hubs[0]!.url);
  });

  it('passes over a hub that cannot prove the pinned key and sends it nothing', async () => {
    // A second "hub" sharing the fleet's database but not its key: a misconfigured new hub.
    const impostorState: TestHubState = { ...state, proofKey: await createImpostorKey() };
    const impostor = await startTestHub(impostorState);
    hubs.push(impostor);
    await hubs[0]!.close();
    hubs.shift();
    start({ hub: `${impostor.url},${hubs[0]!.url}` }, keepOrder);
    await waitFor(() => linkedTo().length >= 1, 10_000, 'a link to the hub with the right key');
    expect(linkedTo()).toEqual([hubs[0]!.url]);
    await waitFor(() => [...state.agents.values()][0]!.samples.length >= 2, 8_000, 'heartbeats');
    expect(logs().some((line) => line.msg === 'hub could not prove its identity (key mismatch): refusing to send data' && line.hubUrl === impostor.url)).toBe(true);
  });
});
