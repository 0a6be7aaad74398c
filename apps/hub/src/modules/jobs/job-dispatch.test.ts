import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryBus } from '../../infra/bus.js';
import { createLogger } from '../../infra/logger.js';
import { runningJob } from '../../testing/running-job.js';
import { noTracing } from '../../infra/tracing.js';
import type { AgentChannel, Delivery } from '../agents/agent-channel.js';
import { createJobDispatch } from './job-dispatch.js';
import { createJobState } from './job-state.js';
import { queuedTarget } from './job-targets.js';

const AGENT = 'ag_0123456789abcdef';
const COMMAND = 'cmd_0123456789abcdef';

/**
 * The port to agents as the dispatch sees it (issue #14): whether some hub holds the agent, and
 * what became of each message; every `command:run` handed over is recorded.
 */
function channelOf(answers: Delivery[]) {
  const sent: string[] = [];
  let connected = true;
  let connectionId = 'conn_1';
  const channel: AgentChannel = {
    send: (_agentId, event) => {
      const outcome = answers.shift() ?? 'delivered';
      if (event === 'command:run' && outcome === 'delivered') sent.push(event);
      return Promise.resolve(outcome);
    },
    isConnected: () => connected,
    connectionOf: () => (connected ? connectionId : null),
  };
  /** A new connection (`id`), made on some hub: its hello may not have been heard here. */
  const moveTo = (id: string) => {
    connected = true;
    connectionId = id;
  };
  return { channel, sent, disconnect: () => (connected = false), reconnect: () => (connected = true), moveTo };
}

function setUp(answers: Delivery[]) {
  let now = Date.UTC(2026, 11, 6, 12);
  const clock = { now: () => now };
  const logger = createLogger('silent');
  const state = createJobState({ bus: createMemoryBus(logger), clock, summaryIntervalMs: 1_000, writes: { markFinal: () => undefined, markJob: () => undefined, queueAudit: () => undefined } });
  const port = channelOf(answers);
  const dispatch = createJobDispatch({ channel: port.channel, signer: { sign: (claims) => Promise.resolve(JSON.stringify(claims)) }, state, clock, logger, tracing: noTracing });
  const job = runningJob(now, { id: 'job_0123456789abcdef', command: { kind: 'shell', argv: ['/bin/true'] }, targetsSpec: { agents: [AGENT] }, total: 1 });
  const live = state.track(job, [queuedTarget(job.id, COMMAND, { id: AGENT, name: 'web-1' })]);
  /** `ms` later, the sweeper's retry pass, and what it sent settled. */
  const retryAfter = async (ms: number): Promise<void> => {
    now += ms;
    dispatch.retryFailedSends(5_000);
    await settle();
  };
  return { dispatch, live, port, advance: (ms: number) => (now += ms), retryAfter };
}

/** Lets the signing and sending promises settle. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('job dispatch (issue #14)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends again a command whose hand-over failed while its agent stayed connected, once the retry is due', async () => {
    const { dispatch, live, port, retryAfter } = setUp(['failed']);
    dispatch.deliverPending(AGENT);
    await settle();
    expect(port.sent).toHaveLength(0);
    expect(live.targets.get(COMMAND)!.state).toBe('queued');

    await retryAfter(0);
    expect(port.sent).toHaveLength(0);

    await retryAfter(5_000);
    expect(port.sent).toHaveLength(1);
    expect(live.targets.get(COMMAND)!.state).toBe('sent');

    // Handed over: nothing is left to send again.
    await retryAfter(60_000);
    expect(port.sent).toHaveLength(1);
  });

  it('leaves a failed command to the next hello when its agent went offline by the time the retry is due', async () => {
    const { dispatch, live, port, retryAfter } = setUp(['failed']);
    dispatch.deliverPending(AGENT);
    await settle();
    port.disconnect();
    dispatch.notReady(AGENT);
    await retryAfter(5_000);
    expect(port.sent).toHaveLength(0);
    expect(live.targets.get(COMMAND)!.state).toBe('queued');
    // Even when it can be reached again: without a hello it is not ready, and the hello sends it.
    port.reconnect();
    await retryAfter(5_000);
    expect(port.sent).toHaveLength(0);
    dispatch.deliverPending(AGENT);
    await settle();
    expect(port.sent).toHaveLength(1);
  });

  it('keeps a command whose ready agent no hub is named for a moment (Redis restarted empty), and sends it once one is', async () => {
    const { dispatch, live, port, retryAfter } = setUp([]);
    // The agent said hello; the directory, reloaded from an empty Redis, names no hub for it yet.
    port.disconnect();
    dispatch.deliverPending(AGENT);
    await settle();
    expect(port.sent).toHaveLength(0);
    await retryAfter(5_000);
    expect(port.sent).toHaveLength(0);
    // Its hub wrote it again: the next pass sends it, once.
    port.reconnect();
    await retryAfter(1_000);
    expect(port.sent).toHaveLength(1);
    expect(live.targets.get(COMMAND)!.state).toBe('sent');
    await retryAfter(10_000);
    expect(port.sent).toHaveLength(1);
  });

  it('sends again a command nobody answered for on the holder\'s inbox (not_connected while ready)', async () => {
    const { dispatch, live, port, retryAfter } = setUp(['not_connected']);
    dispatch.deliverPending(AGENT);
    await settle();
    expect(port.sent).toHaveLength(0);
    await retryAfter(5_000);
    expect(port.sent).toHaveLength(1);
    expect(live.targets.get(COMMAND)!.state).toBe('sent');
  });

  it('drops what it keeps for the sweeper once the job expires', async () => {
    const { dispatch, live, port, retryAfter } = setUp(['failed']);
    dispatch.deliverPending(AGENT);
    await settle();
    await retryAfter(600_000);
    expect(port.sent).toHaveLength(0);
    expect(live.targets.get(COMMAND)!.state).toBe('queued');
  });

  it('makes an agent that came back online on the same connection ready again, so what it was never handed goes out', async () => {
    const { dispatch, live, port } = setUp(['not_connected']);
    dispatch.deliverPending(AGENT);
    await settle();
    expect(port.sent).toHaveLength(0);
    // Offline (its hub's lease lapsed) while the connection stayed: not ready until a hello.
    dispatch.notReady(AGENT);
    expect(dispatch.isReady(AGENT)).toBe(false);
    // Online again with no hello to come: ready after the wait, and what it was never handed is sent.
    dispatch.readyWithoutHello(AGENT, 3_000);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(port.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(dispatch.isReady(AGENT)).toBe(true);
    expect(port.sent).toHaveLength(1);
    expect(live.targets.get(COMMAND)!.state).toBe('sent');
  });

  it('sends again what an agent was handed only after a hello (a new connection), not when it is ready again on the same one', async () => {
    const { dispatch, port } = setUp([]);
    dispatch.deliverPending(AGENT);
    await settle();
    expect(port.sent).toHaveLength(1);
    dispatch.notReady(AGENT);
    dispatch.readyWithoutHello(AGENT, 3_000);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(dispatch.isReady(AGENT)).toBe(true);
    dispatch.notReady(AGENT);
    dispatch.readyIfConnected();
    await settle();
    expect(port.sent).toHaveLength(1);
    // A hello: the agent may have lost what the old connection carried.
    dispatch.deliverPending(AGENT);
    await settle();
    expect(port.sent).toHaveLength(2);
  });

  it('sends a handed-over command again, without a hello heard here, only when the agent is on another connection now', async () => {
    const { dispatch, port } = setUp([]);
    dispatch.deliverPending(AGENT);
    await settle();
    expect(port.sent).toHaveLength(1);
    // Same connection, ready again (Redis came back): nothing is owed.
    dispatch.notReady(AGENT);
    dispatch.readyIfConnected();
    await settle();
    expect(port.sent).toHaveLength(1);
    // It reconnected elsewhere while Redis was away, and its hello there was missed here.
    dispatch.notReady(AGENT);
    port.moveTo('conn_2');
    dispatch.readyIfConnected();
    await settle();
    expect(port.sent).toHaveLength(2);
  });

  it('does not send a command twice while its first send is still under way (a retry and a ready again at once)', async () => {
    let release: (outcome: Delivery) => void = () => undefined;
    const { dispatch, port, retryAfter } = setUp(['failed']);
    dispatch.deliverPending(AGENT);
    await settle();
    // The retry's send hangs (a relay to the holder waiting for its answer).
    const slow = port.channel.send;
    port.channel.send = (agentId, event, payload) => (event === 'command:run' ? new Promise<Delivery>((resolve) => (release = resolve)).then((outcome) => (outcome === 'delivered' && port.sent.push(event), outcome)) : slow(agentId, event, payload));
    await retryAfter(5_000);
    dispatch.notReady(AGENT);
    dispatch.readyIfConnected();
    await settle();
    release('delivered');
    await settle();
    expect(port.sent).toHaveLength(1);
  });

  it('is ready after the wait even when no hub is named for it at that moment; an offline event during the wait stops it', async () => {
    const { dispatch, port, retryAfter } = setUp([]);
    port.disconnect();
    dispatch.readyWithoutHello(AGENT, 3_000);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(dispatch.isReady(AGENT)).toBe(true);
    expect(port.sent).toHaveLength(0);
    port.reconnect();
    await retryAfter(5_000);
    expect(port.sent).toHaveLength(1);

    const other = setUp([]);
    other.dispatch.readyWithoutHello(AGENT, 3_000);
    other.dispatch.notReady(AGENT);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(other.dispatch.isReady(AGENT)).toBe(false);
    expect(other.port.sent).toHaveLength(0);
  });

  it('sends nothing twice when a hello comes before the wait ends', async () => {
    const { dispatch, port } = setUp([]);
    dispatch.readyWithoutHello(AGENT, 3_000);
    dispatch.deliverPending(AGENT);
    await settle();
    expect(port.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(port.sent).toHaveLength(1);
  });
});
