import {
  NetworkPingResultSchema,
  NetworkRttHistorySchema,
  NetworkStatusSchema,
  NetworkTopologySchema,
  type NetworkPingRequest,
  type NetworkPingResult,
  type NetworkRttHistory,
  type NetworkStatus,
  type NetworkTopology,
} from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/** The network view of a hub (issue #19). Throws FarolApiError on failure. */
export interface NetworkClient {
  networkStatus(): Promise<NetworkStatus>;
  networkTopology(): Promise<NetworkTopology>;
  networkRtt(agentRef: string, hours?: number): Promise<NetworkRttHistory>;
  networkPing(request: NetworkPingRequest): Promise<NetworkPingResult>;
}

export function createNetworkClient(options: FarolClientOptions): NetworkClient {
  const { request } = createTransport(options);
  return {
    networkStatus: () => request({ method: 'GET', path: '/api/network/status', schema: NetworkStatusSchema }),
    networkTopology: () => request({ method: 'GET', path: '/api/network/topology', schema: NetworkTopologySchema }),
    networkRtt: (agentRef, hours) => request({ method: 'GET', path: `/api/network/rtt/${segment(agentRef)}`, query: { hours }, schema: NetworkRttHistorySchema }),
    networkPing: (body) => request({ method: 'POST', path: '/api/network/ping', body, schema: NetworkPingResultSchema }),
  };
}
