import type { agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { SecretsService } from './secrets.service.js';

type SecretEvents = Pick<typeof agentToHubEvents, 'secrets:fetch'>;

/**
 * The /agent event of secrets, for one connection: the agent is the one proven at connect,
 * never an id inside the payload, so one agent cannot ask on another's behalf.
 */
export function secretsAgentHandlers(secrets: SecretsService, agentId: string, heard: () => void): EventHandlersOf<SecretEvents> {
  return {
    'secrets:fetch': async (request) => {
      heard();
      return secrets.fetchForCommand(agentId, request);
    },
  };
}
