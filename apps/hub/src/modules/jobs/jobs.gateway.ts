import type { agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { JobsService } from './jobs.service.js';

type CommandEvents = Pick<typeof agentToHubEvents, 'command:ack' | 'command:output' | 'command:result'>;

/**
 * The /agent events of remote commands, for one connection. `heard` checks the hello came
 * first and marks the agent alive; the agent is the one proven at connect, never a payload id.
 */
export function jobsAgentHandlers(jobs: JobsService, agentId: string, heard: () => void): EventHandlersOf<CommandEvents> {
  return {
    'command:ack': async (ack) => {
      heard();
      await jobs.acknowledge(agentId, ack);
      return {};
    },
    'command:output': async (chunk) => {
      heard();
      await jobs.recordOutput(agentId, chunk);
      return {};
    },
    'command:result': async (result) => {
      heard();
      return jobs.recordResult(agentId, result);
    },
  };
}
