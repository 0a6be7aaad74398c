import { io, type Socket } from 'socket.io-client';
import { TerminalOpenClaimsSchema, UI_NAMESPACE, type CommandRun } from '@farol/protocol';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun, type PeerIdentity } from '../../../apps/hub/src/testing/protocol-peer.js';
import { ADMIN_TOKEN, joinToken } from './processes.js';

/** A hand-driven agent (the real protocol) that counts what it is asked to run. */
export interface MachinePeer {
  peer: PeerIdentity;
  socket: Socket;
  /** Command ids in the order they were run: a command id twice is a command run twice. */
  runs: string[];
  /** Times the connection dropped. */
  disconnects: number;
}

/**
 * Connects `peer` to `url`: runs every shell command at once (stdout `<name>: <argv>`), echoes
 * terminal input back as output. Says hello with a long heartbeat interval, as it sends no
 * heartbeats (three missed intervals take an agent offline).
 */
export async function connectMachine(url: string, peer: PeerIdentity): Promise<MachinePeer> {
  const connected = await connectPeer(url, peer);
  if (!connected.socket) throw new Error(`connect failed: ${JSON.stringify(connected.error)}`);
  const socket = connected.socket;
  const machine: MachinePeer = { peer, socket, runs: [], disconnects: 0 };
  socket.on('disconnect', () => machine.disconnects++);
  socket.on('command:run', (command: CommandRun) => {
    const claims = readCommandRun(command);
    const first = !machine.runs.includes(claims.commandId);
    machine.runs.push(claims.commandId);
    const at = Date.now();
    const argv = 'argv' in claims.command ? claims.command.argv.join(' ') : claims.command.kind;
    // A command sent again (its first result lost with a hub) is answered with the same result, as the agent does.
    const result = { commandId: claims.commandId, state: 'succeeded', exitCode: 0, signal: null, stdout: `${peer.name}: ${argv}\n`, stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, startedAt: at, endedAt: at, error: null };
    void (async () => {
      if (!first) await emitAck(socket, 'command:ack', { commandId: claims.commandId, status: 'duplicate', at });
      const stored = await emitAck(socket, 'command:result', result);
      if (!stored.ok) throw new Error(`result refused: ${JSON.stringify(stored.error)}`);
    })().catch((error: unknown) => console.error('peer command failed', error));
  });
  let outputSeq = 0;
  socket.on('terminal:open', ({ token }: { token: string }) => {
    const claims = TerminalOpenClaimsSchema.parse(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()));
    // Fire and forget, as the agent does; an answer lost when the test closes the socket is not an error.
    emitAck(socket, 'terminal:opened', { sessionId: claims.sessionId, status: 'opened', shell: '/bin/sh -l', pid: 4242 }).catch(() => undefined);
  });
  socket.on('terminal:input', ({ sessionId, data }: { sessionId: string; data: Buffer }) => {
    emitAck(socket, 'terminal:output', { sessionId, seq: outputSeq++, data: Buffer.concat([Buffer.from('echo: '), Buffer.from(data)]) }).catch(() => undefined);
  });
  if (!(await hello(socket, 600_000, peer.name)).ok) throw new Error('hello failed');
  return machine;
}

export async function enrollMachine(url: string, name: string): Promise<MachinePeer> {
  return connectMachine(url, await enrollPeer(url, await joinToken(url), name));
}

/** A dashboard's /ui socket as the admin. */
export async function uiSocket(url: string): Promise<Socket> {
  const socket = io(`${url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: ADMIN_TOKEN } });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}
