import type { AgentServerToClientEvents, AgentStatusEvent } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { AgentRecord, AgentsRepository } from './agents.repository.js';

/** The live connection of an agent, as presence needs it (transport-neutral). */
export interface AgentSession {
  sessionId: string;
  disconnect(): void;
  /** Sends an event to the agent on this connection. */
  send<E extends keyof AgentServerToClientEvents>(event: E, payload: Parameters<AgentServerToClientEvents[E]>[0]): void;
}

interface LiveAgent {
  agent: Pick<AgentRecord, 'seq' | 'id' | 'name'>;
  session: AgentSession;
  intervalMs: number;
  lastHeard: number;
}

const DEFAULT_INTERVAL_MS = 10_000;

/**
 * Who is online. Online on connect; offline at once on disconnect, or after `missedHeartbeats`
 * intervals of silence when a connection hangs without closing. Every change is stored and
 * published on the bus as `agent.status`.
 */
export function createPresenceService({
  agents,
  bus,
  clock,
  logger,
  missedHeartbeats,
}: {
  agents: AgentsRepository;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  missedHeartbeats: number;
}) {
  const live = new Map<string, LiveAgent>();
  let sweeper: NodeJS.Timeout | undefined;
  let persister: NodeJS.Timeout | undefined;

  async function changeStatus(entry: LiveAgent, status: 'online' | 'offline', reason: AgentStatusEvent['reason']): Promise<void> {
    const at = clock.now();
    const lastSeen = status === 'online' ? at : entry.lastHeard;
    await agents.setStatus(entry.agent.seq, status, lastSeen);
    logger.info({ agentId: entry.agent.id, name: entry.agent.name, status, reason }, 'agent presence changed');
    bus.publish('agent.status', { agentId: entry.agent.id, name: entry.agent.name, status, lastSeen, at, reason });
  }

  async function goOffline(agentId: string, reason: AgentStatusEvent['reason']): Promise<void> {
    const entry = live.get(agentId);
    if (!entry) return;
    live.delete(agentId);
    await changeStatus(entry, 'offline', reason);
  }

  const service = {
    async connected(agent: Pick<AgentRecord, 'seq' | 'id' | 'name' | 'heartbeatIntervalMs'>, session: AgentSession): Promise<void> {
      const previous = live.get(agent.id);
      const entry: LiveAgent = {
        agent: { seq: agent.seq, id: agent.id, name: agent.name },
        session,
        intervalMs: agent.heartbeatIntervalMs ?? DEFAULT_INTERVAL_MS,
        lastHeard: clock.now(),
      };
      live.set(agent.id, entry);
      if (previous && previous.session.sessionId !== session.sessionId) {
        logger.info({ agentId: agent.id }, 'agent reconnected; closing its previous connection');
        previous.session.disconnect();
      }
      await changeStatus(entry, 'online', 'connected');
    },

    heard(agentId: string, intervalMs?: number): void {
      const entry = live.get(agentId);
      if (!entry) return;
      entry.lastHeard = clock.now();
      if (intervalMs !== undefined) entry.intervalMs = intervalMs;
    },

    async disconnected(agentId: string, sessionId: string): Promise<void> {
      const entry = live.get(agentId);
      // A replaced connection closing late must not mark the new one offline.
      if (!entry || entry.session.sessionId !== sessionId) return;
      await goOffline(agentId, 'disconnected');
    },

    /** Marks silent agents offline and drops their hung connections. */
    async sweep(): Promise<void> {
      const now = clock.now();
      for (const [agentId, entry] of [...live]) {
        if (now - entry.lastHeard > missedHeartbeats * entry.intervalMs) {
          logger.warn({ agentId, silentMs: now - entry.lastHeard }, 'agent missed heartbeats; marking offline');
          await goOffline(agentId, 'heartbeat_missed');
          entry.session.disconnect();
        }
      }
    },

    /** Forgets an agent that was removed, closing its connection. */
    kick(agentId: string): void {
      const entry = live.get(agentId);
      if (!entry) return;
      live.delete(agentId);
      entry.session.disconnect();
    },

    rename(agentId: string, name: string): void {
      const entry = live.get(agentId);
      if (entry) entry.agent.name = name;
    },

    /** The live connection of an agent, if it has one on this hub. */
    sessionOf(agentId: string): AgentSession | undefined {
      return live.get(agentId)?.session;
    },

    /** When a connected agent was last heard from; undefined when it is not connected here. */
    lastHeard(agentId: string): number | undefined {
      return live.get(agentId)?.lastHeard;
    },

    /**
     * Stores `last_seen` of connected agents. Heartbeats update it in memory only; it is written
     * on every status change and by this periodic pass, so a crash loses at most one period.
     */
    async persistLastSeen(): Promise<void> {
      await agents.touchLastSeen([...live.values()].map((entry) => ({ seq: entry.agent.seq, lastSeen: entry.lastHeard })));
    },

    isOnline(agentId: string): boolean {
      return live.has(agentId);
    },

    onlineCount(): number {
      return live.size;
    },

    start(sweepEveryMs = 1_000, persistEveryMs = 60_000): void {
      sweeper = setInterval(() => {
        service.sweep().catch((error: unknown) => logger.error({ err: error }, 'presence sweep failed'));
      }, sweepEveryMs);
      sweeper.unref();
      persister = setInterval(() => {
        service.persistLastSeen().catch((error: unknown) => logger.error({ err: error }, 'storing last_seen failed'));
      }, persistEveryMs);
      persister.unref();
    },

    /** Hub shutdown: every live agent becomes offline. */
    async stop(): Promise<void> {
      if (sweeper) clearInterval(sweeper);
      if (persister) clearInterval(persister);
      for (const agentId of [...live.keys()]) await goOffline(agentId, 'hub_shutdown');
    },
  };
  return service;
}
export type PresenceService = ReturnType<typeof createPresenceService>;
