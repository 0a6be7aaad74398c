import type { agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { NetworkService } from './network.service.js';
import type { AgentCaller } from '../agents/agent-caller.js';

type NetworkEvents = Pick<typeof agentToHubEvents, 'tailscale:report'>;

/**
 * The /agent event of the network view, for one connection (issue #19): a machine's tailscale
 * status, validated against its schema by the dispatcher (it is the machine's word, not the
 * hub's) and stored under the agent proven at connect.
 */
export function networkAgentHandlers(network: NetworkService): EventHandlersOf<NetworkEvents, AgentCaller> {
  return {
    'tailscale:report': async (report, agent) => {
      agent.heard();
      await network.ingestTailscale(agent.id, report);
      return {};
    },
  };
}
