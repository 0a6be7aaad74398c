import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useAgentHarness, waitFor } from '../testing/agent-harness.js';
import { createImpostorKey, signTestCommand } from '../testing/test-hub.js';

describe('remote commands over the hub link (real agent, Socket.IO test hub)', () => {
  const h = useAgentHarness();

  it('runs a command sent right after hello only once the hub has proven its key', async () => {
    let sent = false;
    h.hubState.commandsAfterHello = (agentId) => {
      if (sent) return [];
      sent = true;
      return [signTestCommand(h.hubState, { sub: agentId, command: { kind: 'shell', argv: ['echo', 'held'] } })];
    };
    void h.start();
    await waitFor(() => h.hubState.results.length === 1, 8_000, 'the result');
    expect(h.hubState.results[0]).toMatchObject({ state: 'succeeded', stdout: 'held\n' });
    // A quick command's result is its only answer (no separate `accepted`).
    expect(h.hubState.acks).toEqual([]);
  });

  it('refuses a replayed command and one signed by another key; runs nothing twice', async () => {
    void h.start();
    await waitFor(() => h.stored().length >= 1, 8_000, 'linked');
    const agentId = h.agent()!.agentId;
    const counter = path.join(h.stateDir, 'counter');
    const genuine = signTestCommand(h.hubState, { sub: agentId, command: { kind: 'shell', shell: true, script: `echo x >> ${counter}` } });
    h.hub.sendCommand(genuine);
    await waitFor(() => h.hubState.results.length === 1, 5_000, 'the first result');
    h.hub.sendCommand(genuine);
    const forged = signTestCommand(h.hubState, { sub: agentId, command: { kind: 'shell', shell: true, script: `echo y >> ${counter}` } }, await createImpostorKey());
    h.hub.sendCommand(forged);
    await waitFor(() => h.hubState.acks.length === 2, 5_000, 'two refusals');

    expect(h.hubState.acks.map((a) => [a.status, a.reason])).toEqual([
      ['refused', 'replayed: this signed command was already delivered once'],
      ['refused', 'the signature does not verify with the hub key pinned at enrollment'],
    ]);
    expect(readFileSync(counter, 'utf8')).toBe('x\n');
    expect(h.hubState.results).toHaveLength(1);
  });

  it('keeps an unacknowledged result on disk and sends it again after reconnecting', async () => {
    void h.start();
    await waitFor(() => h.stored().length >= 1, 8_000, 'linked');
    const agentId = h.agent()!.agentId;
    h.hubState.onResult = () => ({ ok: false, error: { code: 'unavailable', message: 'database down' } });
    const token = signTestCommand(h.hubState, { sub: agentId, command: { kind: 'shell', argv: ['echo', 'durable'] } });
    h.hub.sendCommand(token);
    const outbox = path.join(h.stateDir, 'commands', 'results');
    await waitFor(() => existsSync(outbox) && readdirCount(outbox) === 1, 5_000, 'the kept result');
    h.hubState.onResult = undefined;
    await h.restartHub();
    await waitFor(() => h.hubState.results.length === 1, 8_000, 'the result after reconnecting');
    expect(h.hubState.results[0]!.stdout).toBe('durable\n');
    await waitFor(() => readdirCount(outbox) === 0, 5_000, 'the outbox to empty');
  });

  it('exits with code 4 on a remote stop, and re-executes itself on a standalone restart', async () => {
    const running = h.start();
    await waitFor(() => h.stored().length >= 1, 8_000, 'linked');
    h.hub.sendCommand(signTestCommand(h.hubState, { sub: h.agent()!.agentId, command: { kind: 'stop' } }));
    expect(await running).toBe(4);
    expect(h.hubState.results[0]).toMatchObject({ state: 'succeeded', stdout: expect.stringContaining('stopping') });

    let reexecs = 0;
    const again = h.start({}, { reexec: () => reexecs++ });
    await waitFor(() => h.hubState.hellos >= 2, 8_000, 'linked again');
    h.hub.sendCommand(signTestCommand(h.hubState, { sub: h.agent()!.agentId, command: { kind: 'restart' } }));
    expect(await again).toBe(0);
    expect(reexecs).toBe(1);
  });
});

function readdirCount(dir: string): number {
  return existsSync(dir) ? readdirSync(dir).length : 0;
}
