import { createPublicKey } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandClaims, CommandResult, CommandRun, Job } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun, type PeerIdentity } from '../../testing/protocol-peer.js';

/*
 * After a hub crash a target reads as queued and is sent again; the agent, which runs a command
 * id once, hands over the result it kept from the first send (issue #12). The stored times must
 * still tell a possible story: sent, then started, then ended.
 */

let hub: HubFixture;
beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  await hub?.stop();
});

async function link(peer: PeerIdentity): Promise<{ socket: Socket; commands: CommandClaims[] }> {
  const connected = await connectPeer(hub.url, peer);
  if (!connected.socket) throw new Error(`connect failed: ${JSON.stringify(connected.error)}`);
  const commands: CommandClaims[] = [];
  const key = createPublicKey({ key: { ...peer.enrollment.hubPublicKey }, format: 'jwk' });
  connected.socket.on('command:run', (run: CommandRun) => commands.push(readCommandRun(run, key)));
  if (!(await hello(connected.socket, 10_000, peer.name)).ok) throw new Error('hello failed');
  return { socket: connected.socket, commands };
}

function keptResult(commandId: string, startedAt: number | null, endedAt: number): CommandResult {
  const ran = startedAt !== null;
  return { commandId, state: ran ? 'succeeded' : 'expired', exitCode: ran ? 0 : null, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, startedAt, endedAt, error: ran ? null : 'expired before it ran' };
}

const targetOf = async (jobId: string) => ((await hub.api('GET', `/api/jobs/${jobId}`)).body as Job).targets[0]!;

describe('a job target re-sent after a hub crash (#12)', () => {
  it('never stores a sent time later than the run the agent kept from the first send (#12)', async () => {
    const peer = await enrollPeer(hub.url, await hub.createJoinToken(), 'resent-1');
    const { socket, commands } = await link(peer);
    const created = (await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['true'] }, targets: { agents: ['resent-1'] }, ttlMs: 60_000, timeoutMs: 5_000 })).body as Job;
    await waitFor(() => commands.length === 1 || undefined, 5_000, 'the (re-)sent command');
    // The run happened before the crash, 10 s before this send.
    const endedAt = Date.now() - 9_000;
    expect(await emitAck(socket, 'command:result', keptResult(commands[0]!.commandId, endedAt - 1_000, endedAt))).toEqual({ ok: true, data: { stored: true } });
    await waitFor(async () => ((await targetOf(created.id)).state === 'succeeded' ? true : undefined), 5_000, 'the stored result');
    const target = await targetOf(created.id);
    expect(target.sentAt).not.toBeNull();
    expect(target.sentAt!).toBeLessThanOrEqual(target.startedAt!);
    expect(target.startedAt!).toBeLessThanOrEqual(target.endedAt!);
    socket.close();
  });

  it('never leaves the sent time empty when the kept result arrives first (#12)', async () => {
    const peer = await enrollPeer(hub.url, await hub.createJoinToken(), 'resent-2');
    // Queued while the machine is away (the hub's view after a crash: stored, never sent).
    const created = (await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['true'] }, targets: { agents: ['resent-2'] }, ttlMs: 60_000, timeoutMs: 5_000 })).body as Job;
    const commandId = created.targets[0]!.commandId;
    const { socket } = await link(peer);
    const endedAt = Date.now() - 2_000;
    expect(await emitAck(socket, 'command:result', keptResult(commandId, null, endedAt))).toMatchObject({ ok: true });
    await waitFor(async () => ((await targetOf(created.id)).state === 'expired' ? true : undefined), 5_000, 'the stored result');
    const target = await targetOf(created.id);
    expect(target.sentAt).not.toBeNull();
    expect(target.sentAt!).toBeLessThanOrEqual(target.endedAt!);
    socket.close();
  });
});
