import type { agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { ChecksService } from './checks.service.js';
import type { AgentCaller } from '../agents/agent-caller.js';

type CheckEvents = Pick<typeof agentToHubEvents, 'check:results'>;

/**
 * The /agent event of service checks, for one connection: results are stored under the agent
 * proven at connect, and only for checks this hub assigned to it (issue #19).
 */
export function checksAgentHandlers(checks: ChecksService): EventHandlersOf<CheckEvents, AgentCaller> {
  return {
    'check:results': async ({ results }, agent) => {
      agent.heard();
      return checks.ingest({ id: agent.id, name: agent.name }, results);
    },
  };
}
