import { FarolError, type agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { AutoUpdateService } from './auto-update.service.js';
import type { AgentCaller } from '../agents/agent-caller.js';

type ContainerEvents = Pick<typeof agentToHubEvents, 'registry:credentials'>;

/**
 * The /agent event of containers, for one connection: a registry login for the digest check
 * (ADR 0023), for the agent proven at connect, never one named in the payload.
 */
export function containersAgentHandlers(autoUpdate: AutoUpdateService | undefined): EventHandlersOf<ContainerEvents, AgentCaller> {
  return {
    'registry:credentials': async (request, agent) => {
      agent.heard();
      if (!autoUpdate) throw new FarolError('unavailable', 'this hub does not run container auto-update');
      return autoUpdate.registryCredentials(agent.id, request);
    },
  };
}
