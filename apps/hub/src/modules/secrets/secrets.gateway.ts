import type { agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { SecretsService } from './secrets.service.js';
import type { AgentCaller } from '../agents/agent-caller.js';

type SecretEvents = Pick<typeof agentToHubEvents, 'secrets:fetch'>;

/**
 * The /agent event of secrets, for one connection: the agent is the one proven at connect,
 * never an id inside the payload, so one agent cannot ask on another's behalf.
 */
export function secretsAgentHandlers(secrets: SecretsService): EventHandlersOf<SecretEvents, AgentCaller> {
  return {
    'secrets:fetch': async (request, agent) => {
      agent.heard();
      return secrets.fetchForCommand(agent.id, request);
    },
  };
}
