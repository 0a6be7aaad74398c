import type { AgentServerToClientEvents } from '@farol/protocol';
import { HubUnreachableError, type HubRelay } from '../../infra/hub-relay.js';
import type { Logger } from '../../infra/logger.js';
import type { AgentSession } from './presence.service.js';

/** What became of a message to an agent. */
export type Delivery = 'delivered' | 'not_connected' | 'failed';

type AgentEvent = keyof AgentServerToClientEvents;
type PayloadOf<E extends AgentEvent> = Parameters<AgentServerToClientEvents[E]>[0];

/**
 * Reaching an agent wherever it is connected (issue #14). Every message the hub sends to an
 * agent — commands and cancels, terminal traffic, live mode — goes through this port instead of
 * the presence service's local session, so a request that arrives on one hub reaches an agent
 * connected to another. `not_connected`: no hub holds the agent (it is offline; what it owes
 * waits in the database for its next hello). `failed`: it is held somewhere but the message
 * could not be handed over (the caller logs; durable work is sent again at the next hello).
 *
 * Messages to one agent keep their order: the local path is a socket emit; the relayed path
 * publishes on one Redis connection to one channel, which Redis delivers in order.
 */
export interface AgentChannel {
  send<E extends AgentEvent>(agentId: string, event: E, payload: PayloadOf<E>): Promise<Delivery>;
  /** Whether some hub holds the agent's connection now. */
  isConnected(agentId: string): boolean;
  /** The id of the agent's connection, on whatever hub holds it; null when it is offline. */
  connectionOf(agentId: string): string | null;
}

interface LocalSessions {
  sessionOf(agentId: string): AgentSession | undefined;
  connectionOf(agentId: string): string | null;
}

function sendHere(presence: LocalSessions, logger: Logger, agentId: string, event: AgentEvent, payload: unknown): Delivery {
  const session = presence.sessionOf(agentId);
  if (!session) return 'not_connected';
  try {
    (session.send as (event: AgentEvent, payload: unknown) => void)(event, payload);
    return 'delivered';
  } catch (error) {
    logger.error({ err: error, agentId, event }, 'could not send to an agent');
    return 'failed';
  }
}

/** One hub: the agent is connected here or nowhere. */
export function createLocalAgentChannel({ presence, logger }: { presence: LocalSessions; logger: Logger }): AgentChannel {
  return {
    send: async (agentId, event, payload) => sendHere(presence, logger, agentId, event, payload),
    isConnected: (agentId) => presence.sessionOf(agentId) !== undefined,
    connectionOf: (agentId) => presence.sessionOf(agentId)?.sessionId ?? null,
  };
}

/**
 * Several hubs: here when the agent is connected here, else to the hub the presence directory
 * names, which hands the message to its socket and says whether it could.
 */
export function createRelayedAgentChannel({
  presence,
  relay,
  logger,
  timeoutMs = 5_000,
}: {
  presence: LocalSessions & { holderOf(agentId: string): string | null; isOnline(agentId: string): boolean };
  relay: HubRelay;
  logger: Logger;
  timeoutMs?: number;
}): AgentChannel {
  relay.handle('agent.send', (payload) => {
    const { agentId, event, message } = payload as { agentId: string; event: AgentEvent; message: unknown };
    return sendHere(presence, logger, agentId, event, message);
  });
  return {
    async send(agentId, event, payload) {
      if (presence.sessionOf(agentId)) return sendHere(presence, logger, agentId, event, payload);
      const holder = presence.holderOf(agentId);
      if (holder === null || holder === relay.hubId) return 'not_connected';
      try {
        return await relay.call<Delivery>(holder, 'agent.send', { agentId, event, message: payload }, timeoutMs);
      } catch (error) {
        if (error instanceof HubUnreachableError) return 'not_connected';
        logger.error({ err: error, agentId, event, hub: holder }, 'could not send to an agent through its hub');
        return 'failed';
      }
    },
    isConnected: (agentId) => presence.isOnline(agentId),
    connectionOf: (agentId) => presence.connectionOf(agentId),
  };
}
