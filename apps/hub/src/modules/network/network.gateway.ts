import type { agentToHubEvents } from '@farol/protocol';
import type { EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { NetworkService } from './network.service.js';

type NetworkEvents = Pick<typeof agentToHubEvents, 'tailscale:report'>;

/**
 * The /agent event of the network view, for one connection (issue #19): a machine's tailscale
 * status, validated against its schema by the dispatcher (it is the machine's word, not the
 * hub's) and stored under the agent proven at connect.
 */
export function networkAgentHandlers(network: NetworkService, agentId: string, heard: () => void): EventHandlersOf<NetworkEvents> {
  return {
    'tailscale:report': async (report) => {
      heard();
      await network.ingestTailscale(agentId, report);
      return {};
    },
  };
}
