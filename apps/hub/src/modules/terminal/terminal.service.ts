import { createReadStream, existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  type AgentServerToClientEvents,
  FarolError,
  TERMINAL_AUDIENCE,
  TERMINAL_JWS_TYPE,
  TERMINAL_OPEN_TTL_SECONDS,
  type ErrorCode,
  type TerminalClosed,
  type TerminalCloseReason,
  type TerminalExit,
  type TerminalInput,
  type TerminalOpenAck,
  type TerminalOpenClaims,
  type TerminalOpened,
  type TerminalOpenRequest,
  type TerminalOutput,
  type TerminalRefusal,
  type TerminalResize,
  type TerminalSession,
  type TerminalSessionList,
  type TerminalSessionListQuery,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { HubSigner } from '../../infra/jws.js';
import type { Logger } from '../../infra/logger.js';
import type { MachineLookup } from '../agents/machines.js';
import { HubUnreachableError, type HubRelay } from '../../infra/hub-relay.js';
import type { AgentChannel } from '../agents/agent-channel.js';
import type { AuditService } from '../audit/audit.service.js';
import { startAsciicast, type AsciicastRecorder } from './asciicast-recorder.js';
import type { TerminalRepository } from './terminal.repository.js';

/** How long the agent has to start the shell and answer. */
const OPEN_TIMEOUT_MS = 15_000;
/** How long a session's owner record lives (several hubs); refreshed by nothing: sessions end well before. */
const OWNER_TTL_MS = 24 * 3_600_000;
/** A forwarded output chunk is acked once the operator on the owning hub has it: as long as a slow terminal may take. */
const OUTPUT_ACK_WAIT_MS = 60_000;

/** Who opened a session, as the gateway knows them. */
export interface TerminalOperator {
  /** Stable id (the per-operator cap counts by it). */
  id: string;
  /** What the audit log records as the actor. */
  name: string;
}

/** The operator's end of a session (a /ui socket), transport-neutral. */
export interface OperatorChannel {
  /** One connection: the sessions it opened end when it closes. */
  id: string;
  /** Sends a chunk; `delivered` runs once the operator acknowledged it (or gave up on it). */
  output(payload: TerminalOutput, delivered: () => void): void;
  closed(payload: TerminalClosed): void;
}

export interface TerminalSettings {
  maxPerAgent: number;
  maxPerOperator: number;
  idleTimeoutMs: number;
  /** Where recordings go; null records nothing. */
  recordingsDir: string | null;
}

interface LiveSession {
  id: string;
  agentId: string;
  agentName: string;
  /** The agent connection the session was opened on: a replaced connection's close must not end it. */
  agentConnection: string;
  operator: TerminalOperator;
  channel: OperatorChannel;
  cols: number;
  rows: number;
  openedAt: number;
  state: 'opening' | 'open';
  bytesIn: number;
  bytesOut: number;
  idleTimer: NodeJS.Timeout | undefined;
  opening: { resolve: (opened: TerminalOpened) => void; reject: (error: Error) => void } | null;
  /**
   * Output that arrived before the operator had the open acknowledgement; sent right after it,
   * so a client never sees output for a session it does not know yet. Null once flushed.
   */
  early: Array<() => void> | null;
  /** Output chunks waiting for the operator's acknowledgement: released if the session ends first. */
  undelivered: Set<() => void>;
  recorder: AsciicastRecorder | null;
  recordingFile: string | null;
  ended: boolean;
}

const REFUSAL_CODES: Record<TerminalRefusal, ErrorCode> = {
  policy: 'command_refused',
  limit: 'session_limit',
  unavailable: 'terminal_unavailable',
  failed: 'terminal_unavailable',
  invalid: 'forbidden',
};

/**
 * Interactive terminals between an operator's /ui socket and an agent. The hub signs each
 * opening (EdDSA, 30 s expiry, fresh jti), enforces the caps per machine and per operator and
 * the idle timeout, relays bytes both ways without holding more than the agent's output window
 * (the agent's output is acknowledged only once the operator acknowledged it), records the
 * start and the end in the audit log, and optionally the output as an asciicast file.
 */
export function createTerminalService({
  sessions,
  agents,
  agentChannel,
  relay,
  audit,
  signer,
  clock,
  logger,
  settings,
}: {
  sessions: TerminalRepository;
  agents: Pick<MachineLookup, 'findByIdOrName'>;
  /** Reaches the agent wherever it is connected (issue #14). */
  agentChannel: AgentChannel;
  /**
   * Several hubs (issue #14): a session lives on the hub of its operator's connection; what the
   * agent sends about it, on whatever hub holds the agent, is forwarded there.
   */
  relay: HubRelay;
  audit: AuditService;
  signer: HubSigner;
  clock: Clock;
  logger: Logger;
  settings: TerminalSettings;
}) {
  const live = new Map<string, LiveSession>();

  /** A message to the session's agent; one that cannot be handed over is logged (the agent ends its shells on disconnect). */
  function toAgent<E extends 'terminal:close' | 'terminal:input' | 'terminal:resize'>(agentId: string, event: E, payload: Parameters<AgentServerToClientEvents[E]>[0]): void {
    void agentChannel.send(agentId, event, payload).then((delivery) => {
      if (delivery !== 'delivered') logger.warn({ agentId, event, delivery }, 'a terminal message did not reach its agent');
    });
  }

  /** Owners of sessions held by other hubs, as last looked up. */
  const ownerBySession = new Map<string, string | null>();

  /**
   * Several hubs: what an agent connected here says about a session another live hub holds
   * goes to that hub, whose answer (for output: once its operator has it) is the agent's ack.
   * False: the session is this hub's or nobody's (then `not_found` as before).
   */
  async function forwardToOwner(method: 'agentOpened' | 'agentOutput' | 'agentExit', agentId: string, sessionId: string, payload: unknown): Promise<boolean> {
    if (!relay.shared || live.has(sessionId)) return false;
    let owner = ownerBySession.get(sessionId);
    if (owner === undefined) {
      owner = await relay.remoteOwnerOf('terminal', sessionId);
      if (ownerBySession.size >= 1_000) ownerBySession.delete(ownerBySession.keys().next().value!);
      ownerBySession.set(sessionId, owner);
    }
    if (owner === null) return false;
    try {
      await relay.call(owner, `terminal.${method}`, { agentId, payload }, method === 'agentOutput' ? OUTPUT_ACK_WAIT_MS : undefined);
      return true;
    } catch (error) {
      if (!(error instanceof HubUnreachableError)) throw error;
      ownerBySession.set(sessionId, null);
      return false;
    }
  }

  /** The id of the agent's connection, wherever it is ('' when unknown). */
  const connectionOf = (agentId: string): string => agentChannel.connectionOf(agentId) ?? '';

  const count = (predicate: (session: LiveSession) => boolean): number => [...live.values()].filter(predicate).length;

  function ownedBy(channel: Pick<OperatorChannel, 'id'>, sessionId: string): LiveSession {
    const session = live.get(sessionId);
    if (!session || session.channel.id !== channel.id || session.state !== 'open') throw new FarolError('not_found', `no open terminal session ${sessionId} on this connection`);
    return session;
  }

  function ofAgent(agentId: string, sessionId: string): LiveSession {
    const session = live.get(sessionId);
    if (!session || session.agentId !== agentId) throw new FarolError('not_found', `no terminal session ${sessionId} for this agent`);
    return session;
  }

  function armIdle(session: LiveSession): void {
    clearTimeout(session.idleTimer);
    session.idleTimer = setTimeout(
      () => void end(session, 'idle_timeout', { message: `closed after ${Math.round(settings.idleTimeoutMs / 1000)} s without input` }),
      settings.idleTimeoutMs,
    );
    session.idleTimer.unref();
  }

  /**
   * Moves a finished recording from this hub's spool file into the database (issue #14: every
   * hub serves it), then deletes the file. If the database refuses, the file stays and this hub
   * still serves it; the next start tries again.
   */
  async function keepRecording(sessionId: string, fileName: string): Promise<void> {
    if (settings.recordingsDir === null) return;
    const file = path.join(settings.recordingsDir, path.basename(fileName));
    if (!existsSync(file)) return;
    await sessions.storeRecording(sessionId, await readFile(file));
    await rm(file, { force: true });
  }

  /**
   * Ends a session once: tells the agent (unless it told us), closes the recording, stores the end
   * with its audit entry, then tells the operator (unless they left). Never throws.
   */
  async function end(
    session: LiveSession,
    reason: TerminalCloseReason,
    exit: Partial<Pick<TerminalExit, 'exitCode' | 'signal' | 'message'>> = {},
    fromAgent = false,
  ): Promise<void> {
    if (session.ended) return;
    session.ended = true;
    live.delete(session.id);
    clearTimeout(session.idleTimer);
    for (const release of session.undelivered) release();
    session.undelivered.clear();
    if (!fromAgent) toAgent(session.agentId, 'terminal:close', { sessionId: session.id });
    const closed: TerminalClosed = { sessionId: session.id, reason, exitCode: exit.exitCode ?? null, signal: exit.signal ?? null, message: exit.message ?? null };
    if (session.opening) {
      session.opening.reject(new FarolError('terminal_unavailable', exit.message ?? `the terminal ended before it opened (${reason})`));
      session.opening = null;
    }
    const closedAt = clock.now();
    try {
      await session.recorder?.close(closedAt);
      if (session.recordingFile !== null) await keepRecording(session.id, session.recordingFile);
    } catch (error) {
      logger.error({ err: error, sessionId: session.id }, 'could not finish a terminal recording');
    }
    // The operator hears of the end once it is stored: a CLI that exits on it, or a script that
    // then reads the session list or the audit log, finds the session closed with its exit code.
    if (session.state === 'open') await storeEnd(session, closed, closedAt);
    if (reason !== 'operator_disconnected') session.channel.closed(closed);
  }

  /** Stores a session's end with its audit entry. Never throws: a failure is logged. */
  async function storeEnd(session: LiveSession, closed: TerminalClosed, closedAt: number): Promise<void> {
    const { reason } = closed;
    try {
      await audit.transaction(async (repos, log) => {
        await repos.terminalSessions.finish(session.id, {
          closedAt,
          reason,
          exitCode: closed.exitCode,
          bytesIn: session.bytesIn,
          bytesOut: session.bytesOut,
          cols: session.cols,
          rows: session.rows,
        });
        log({
          actor: session.operator.name,
          action: 'terminal.close',
          agentId: session.agentId,
          details: {
            sessionId: session.id,
            agentName: session.agentName,
            reason,
            exitCode: closed.exitCode,
            durationMs: closedAt - session.openedAt,
            bytesIn: session.bytesIn,
            bytesOut: session.bytesOut,
            recorded: session.recordingFile !== null,
          },
          at: closedAt,
        });
      });
    } catch (error) {
      logger.error({ err: error, sessionId: session.id, agentId: session.agentId }, 'could not store the end of a terminal session');
    }
    logger.info({ sessionId: session.id, agentId: session.agentId, actor: session.operator.name, reason, bytesIn: session.bytesIn, bytesOut: session.bytesOut }, 'terminal session ended');
  }

  async function refusedOpen(session: LiveSession, agentId: string, code: ErrorCode, message: string): Promise<never> {
    try {
      await audit.record({ actor: session.operator.name, action: 'terminal.open', agentId, details: { sessionId: session.id, agentName: session.agentName, outcome: 'refused', code, reason: message } });
    } catch (error) {
      logger.error({ err: error, sessionId: session.id }, 'could not audit a refused terminal');
    }
    throw new FarolError(code, message);
  }

  const service = {
    /** `terminal:open` from an operator: resolves once the agent's shell runs. */
    async open(operator: TerminalOperator, channel: OperatorChannel, request: TerminalOpenRequest): Promise<TerminalOpenAck> {
      const agent = await agents.findByIdOrName(request.agentId);
      if (!agent) throw new FarolError('not_found', `no machine named ${request.agentId}`);
      if (!agentChannel.isConnected(agent.id)) throw new FarolError('agent_offline', `${agent.name} is offline: a terminal needs the machine connected`);
      const onAgent = count((s) => s.agentId === agent.id);
      if (onAgent >= settings.maxPerAgent) {
        throw new FarolError('session_limit', `${agent.name} already has ${onAgent} terminal sessions open, the hub's cap (FAROL_TERMINAL_MAX_PER_AGENT=${settings.maxPerAgent})`);
      }
      const mine = count((s) => s.operator.id === operator.id);
      if (mine >= settings.maxPerOperator) {
        throw new FarolError('session_limit', `you already have ${mine} terminal sessions open, the hub's cap per operator (FAROL_TERMINAL_MAX_PER_OPERATOR=${settings.maxPerOperator}); close one first`);
      }
      const now = clock.now();
      const session: LiveSession = {
        id: randomId('term'),
        agentId: agent.id,
        agentName: agent.name,
        agentConnection: connectionOf(agent.id),
        operator,
        channel,
        cols: request.cols,
        rows: request.rows,
        openedAt: now,
        state: 'opening',
        bytesIn: 0,
        bytesOut: 0,
        idleTimer: undefined,
        opening: null,
        early: [],
        undelivered: new Set(),
        recorder: null,
        recordingFile: null,
        ended: false,
      };
      // Counted against the caps from now on, so concurrent openings cannot overshoot them.
      live.set(session.id, session);
      const answered = new Promise<TerminalOpened>((resolve, reject) => (session.opening = { resolve, reject }));
      const timer = setTimeout(() => session.opening?.reject(new FarolError('terminal_unavailable', `${agent.name} did not answer within ${OPEN_TIMEOUT_MS / 1000} s (an agent older than terminals never does)`)), OPEN_TIMEOUT_MS);
      let opened: TerminalOpened;
      try {
        const iat = Math.floor(now / 1000);
        const claims: TerminalOpenClaims = {
          iss: 'farol-hub',
          aud: TERMINAL_AUDIENCE,
          sub: agent.id,
          jti: randomId('tjti', 24),
          iat,
          exp: iat + TERMINAL_OPEN_TTL_SECONDS,
          sessionId: session.id,
          actor: operator.name,
          cols: request.cols,
          rows: request.rows,
        };
        const token = await signer.sign(claims, TERMINAL_JWS_TYPE);
        // Before the opening goes out: the agent's answer may come through another hub.
        await relay.claim('terminal', session.id, OWNER_TTL_MS);
        const delivery = await agentChannel.send(agent.id, 'terminal:open', { token });
        if (delivery !== 'delivered') throw new FarolError(delivery === 'not_connected' ? 'agent_offline' : 'terminal_unavailable', `${agent.name} could not be reached (${delivery})`);
        opened = await answered;
      } catch (error) {
        live.delete(session.id);
        session.ended = true;
        // The agent may still open it (a slow answer): it must not keep a shell nobody holds.
        toAgent(agent.id, 'terminal:close', { sessionId: session.id });
        if (error instanceof FarolError) return refusedOpen(session, agent.id, error.code, error.message);
        throw error;
      } finally {
        clearTimeout(timer);
        session.opening = null;
      }
      if (opened.status === 'refused') {
        live.delete(session.id);
        session.ended = true;
        return refusedOpen(session, agent.id, REFUSAL_CODES[opened.refusal], opened.message);
      }
      if (session.ended) throw new FarolError('terminal_unavailable', 'the terminal ended while it opened');
      session.state = 'open';
      if (settings.recordingsDir !== null) {
        session.recordingFile = `${session.id}.cast`;
        session.recorder = startAsciicast(
          settings.recordingsDir,
          session.recordingFile,
          { cols: session.cols, rows: session.rows, startedAt: now, title: `${agent.name} (${opened.shell}) by ${operator.name}` },
          logger,
        );
      }
      try {
        await audit.transaction(async (repos, log) => {
          await repos.terminalSessions.insert({
            id: session.id,
            agentId: agent.id,
            agentName: agent.name,
            actor: operator.name,
            cols: session.cols,
            rows: session.rows,
            openedAt: now,
            recordingFile: session.recordingFile,
          });
          log({
            actor: operator.name,
            action: 'terminal.open',
            agentId: agent.id,
            details: { sessionId: session.id, agentName: agent.name, outcome: 'opened', shell: opened.shell, cols: session.cols, rows: session.rows, recorded: session.recordingFile !== null },
            at: now,
          });
        });
      } catch (error) {
        // No audit entry, no terminal: the session is closed before anyone can type into it.
        session.state = 'opening';
        await end(session, 'error', { message: 'the hub could not record the session' });
        throw error;
      }
      armIdle(session);
      // After the ack, which the gateway sends when this returns (a microtask, before setImmediate).
      setImmediate(() => {
        const early = session.early ?? [];
        session.early = null;
        for (const send of early) send();
      });
      logger.info({ sessionId: session.id, agentId: agent.id, actor: operator.name }, 'terminal session opened');
      return { sessionId: session.id, agentId: agent.id, agentName: agent.name, shell: opened.shell, idleTimeoutMs: settings.idleTimeoutMs };
    },

    input(channel: OperatorChannel, { sessionId, data }: TerminalInput): void {
      const session = ownedBy(channel, sessionId);
      session.bytesIn += data.byteLength;
      armIdle(session);
      if (!agentChannel.isConnected(session.agentId)) throw new FarolError('agent_offline', `${session.agentName} is offline`);
      toAgent(session.agentId, 'terminal:input', { sessionId, data });
    },

    resize(channel: OperatorChannel, { sessionId, cols, rows }: TerminalResize): void {
      const session = ownedBy(channel, sessionId);
      session.cols = cols;
      session.rows = rows;
      session.recorder?.resize(cols, rows, clock.now());
      toAgent(session.agentId, 'terminal:resize', { sessionId, cols, rows });
    },

    async close(channel: OperatorChannel, sessionId: string): Promise<void> {
      await end(ownedBy(channel, sessionId), 'closed');
    },

    /** The machine of an open session this connection holds (`not_found` otherwise). */
    agentOf(channelId: string, sessionId: string): string {
      return ownedBy({ id: channelId }, sessionId).agentId;
    },

    /** The machines this connection holds sessions on (open or opening). */
    agentsOf(channelId: string): string[] {
      return [...new Set([...live.values()].filter((s) => s.channel.id === channelId).map((s) => s.agentId))];
    },

    /**
     * Issue #11: ends at once every session a connection holds on a machine that left its
     * operator's scope (the operator is told why; the audit entry records the close).
     */
    async revokeOn(channelId: string, agentId: string, message: string): Promise<number> {
      const doomed = [...live.values()].filter((s) => s.channel.id === channelId && s.agentId === agentId);
      await Promise.all(doomed.map((s) => end(s, 'closed', { message })));
      return doomed.length;
    },

    /** The operator's connection closed: its sessions end. */
    async operatorGone(channelId: string): Promise<void> {
      await Promise.all([...live.values()].filter((s) => s.channel.id === channelId).map((s) => end(s, 'operator_disconnected')));
    },

    /** `terminal:opened` from an agent. */
    async agentOpened(agentId: string, opened: TerminalOpened): Promise<void> {
      if (await forwardToOwner('agentOpened', agentId, opened.sessionId, opened)) return;
      const session = ofAgent(agentId, opened.sessionId);
      if (!session.opening) throw new FarolError('conflict', `terminal session ${opened.sessionId} was already answered`);
      session.opening.resolve(opened);
    },

    /** `terminal:output` from an agent: resolves once the operator has it (the agent's flow control). */
    async agentOutput(agentId: string, output: TerminalOutput): Promise<void> {
      if (await forwardToOwner('agentOutput', agentId, output.sessionId, output)) return;
      const session = ofAgent(agentId, output.sessionId);
      session.bytesOut += output.data.byteLength;
      session.recorder?.output(output.data, clock.now());
      return new Promise<void>((resolve) => {
        const release = (): void => {
          session.undelivered.delete(release);
          resolve();
        };
        session.undelivered.add(release);
        if (session.early) session.early.push(() => !session.ended && session.channel.output(output, release));
        else session.channel.output(output, release);
      });
    },

    /** `terminal:exit` from an agent. */
    async agentExit(agentId: string, exit: TerminalExit): Promise<void> {
      if (await forwardToOwner('agentExit', agentId, exit.sessionId, exit)) return;
      const session = ofAgent(agentId, exit.sessionId);
      await end(session, exit.reason, { exitCode: exit.exitCode, signal: exit.signal, message: exit.message ?? undefined }, true);
    },

    /** An agent connection closed: the sessions opened on it end (the agent kills their shells too). */
    /**
     * An agent is offline everywhere (several hubs, issue #14: its connection was on another
     * hub, whose disconnect this hub only learns from the bus): its sessions here end.
     */
    /** Machines with a terminal open, whichever hub holds the session (rebalancing leaves them where they are). */
    async agentsWithOpenSessions(): Promise<Set<string>> {
      return sessions.openAgentIds();
    },

    async agentOffline(agentId: string): Promise<void> {
      await Promise.all([...live.values()].filter((s) => s.agentId === agentId).map((s) => end(s, 'agent_disconnected', { message: `${s.agentName} disconnected` }, true)));
    },

    async agentGone(agentId: string, connectionId: string): Promise<void> {
      await Promise.all(
        [...live.values()].filter((s) => s.agentId === agentId && s.agentConnection === connectionId).map((s) => end(s, 'agent_disconnected', { message: `${s.agentName} disconnected` }, true)),
      );
    },

    async list(query: TerminalSessionListQuery): Promise<TerminalSessionList> {
      let agentId: string | undefined;
      if (query.agent !== undefined) {
        const agent = await agents.findByIdOrName(query.agent);
        if (!agent) throw new FarolError('not_found', `no machine named ${query.agent}`);
        agentId = agent.id;
      }
      const rows = await sessions.list({ agentId, limit: query.limit ?? 50 });
      return { sessions: rows.map(({ recordingFile: _file, ...session }): TerminalSession => session) };
    },

    /**
     * The asciicast file of a recorded session, once it has ended. `authorize` (the caller's
     * scope) runs as soon as the session is known, before anything about its recording is said.
     */
    async recording(sessionId: string, authorize?: (agentId: string) => Promise<void>): Promise<{ session: TerminalSession; stream: Readable }> {
      const record = await sessions.findById(sessionId);
      if (!record) throw new FarolError('not_found', `no terminal session ${sessionId}`);
      await authorize?.(record.agentId);
      if (!record.recordingFile) throw new FarolError('not_found', `terminal session ${sessionId} was not recorded`);
      const { recordingFile: fileName, ...session } = record;
      // Stored in the database once the session ended (any hub); the spool file of a session
      // still open, or one the database refused, only on the hub that recorded it.
      if (await sessions.hasRecording(sessionId)) return { session, stream: Readable.from(sessions.recordingChunks(sessionId)) };
      const file = settings.recordingsDir === null ? null : path.join(settings.recordingsDir, path.basename(fileName));
      if (file === null || !existsSync(file)) throw new FarolError('not_found', `the recording of ${sessionId} is no longer on the hub`);
      return { session, stream: createReadStream(file) };
    },

    /** Closes what a previous run left open in the database, and stores the recordings it left on disk. */
    async start(): Promise<void> {
      // Several hubs: sessions another live hub holds are not orphans.
      const orphans = await sessions.closeOrphans(clock.now(), relay.shared ? async (id) => (await relay.remoteOwnerOf('terminal', id)) === null : undefined);
      if (orphans > 0) logger.warn({ sessions: orphans }, 'terminal sessions left open by the previous run marked as ended');
      if (settings.recordingsDir === null || !existsSync(settings.recordingsDir)) return;
      for (const name of await readdir(settings.recordingsDir)) {
        const sessionId = /^(.+)\.cast$/.exec(name)?.[1];
        if (!sessionId || live.has(sessionId)) continue;
        const record = await sessions.findById(sessionId);
        if (!record || record.closedAt === null) continue;
        try {
          await keepRecording(sessionId, name);
        } catch (error) {
          logger.error({ err: error, sessionId }, 'could not store a terminal recording left by the previous run; it stays on disk');
        }
      }
    },

    /** Hub shutdown: every session ends. */
    async stop(): Promise<void> {
      await Promise.all([...live.values()].map((session) => end(session, 'hub_shutdown')));
    },

    openCount: (): number => live.size,
  };

  // What agents connected to other hubs send about this hub's sessions (forwardToOwner there).
  type Forwarded<T> = { agentId: string; payload: T };
  relay.handle('terminal.agentOpened', (request) => service.agentOpened((request as Forwarded<TerminalOpened>).agentId, (request as Forwarded<TerminalOpened>).payload));
  relay.handle('terminal.agentOutput', (request) => service.agentOutput((request as Forwarded<TerminalOutput>).agentId, (request as Forwarded<TerminalOutput>).payload));
  relay.handle('terminal.agentExit', (request) => service.agentExit((request as Forwarded<TerminalExit>).agentId, (request as Forwarded<TerminalExit>).payload));
  return service;
}
export type TerminalService = ReturnType<typeof createTerminalService>;
