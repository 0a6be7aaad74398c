import type { agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { JobsService } from './jobs.service.js';
import type { AgentCaller } from '../agents/agent-caller.js';

type CommandEvents = Pick<typeof agentToHubEvents, 'command:ack' | 'command:output' | 'command:result'>;

/**
 * The /agent events of remote commands, for one connection. `heard` checks the hello came
 * first and marks the agent alive; the agent is the one proven at connect, never a payload id.
 */
export function jobsAgentHandlers(jobs: JobsService): EventHandlersOf<CommandEvents, AgentCaller> {
  return {
    'command:ack': async (ack, agent) => {
      agent.heard();
      await jobs.acknowledge(agent.id, ack);
      return {};
    },
    'command:output': async (chunk, agent) => {
      agent.heard();
      await jobs.recordOutput(agent.id, chunk);
      return {};
    },
    'command:result': async (result, agent) => {
      agent.heard();
      return jobs.recordResult(agent.id, result);
    },
  };
}
