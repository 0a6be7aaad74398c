import { createNetworkClient, type NetworkClient } from '@farol/client';
import type { NetworkPingRequest } from '@farol/protocol';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useSignedIn } from '../../../app/session.js';
import { RTT_RANGE_HOURS, RTT_REFRESH_MS, type RttRange } from '../rtt-series.js';

export const NETWORK_KEY = ['network'] as const;
/** Round trips are measured every 25 s: the page polls at about that pace. */
const REFRESH_MS = 15_000;

/** The network part of the hub's API, with the signed-in token. */
export function useNetworkClient(): NetworkClient {
  const { clientOptions } = useSignedIn();
  return useMemo(() => createNetworkClient(clientOptions), [clientOptions]);
}

/** Networks, machines and tailnet links the operator may see (the hub leaves out the rest). */
export function useNetworkTopology() {
  const client = useNetworkClient();
  return useQuery({ queryKey: [...NETWORK_KEY, 'topology'], queryFn: () => client.networkTopology(), refetchInterval: REFRESH_MS });
}

/** One machine's hub round trips over a range (per minute up to 24 h, per hour for the week). */
export function useNetworkRtt(agentId: string | null, range: RttRange) {
  const client = useNetworkClient();
  return useQuery({
    queryKey: [...NETWORK_KEY, 'rtt', agentId, range],
    queryFn: () => client.networkRtt(agentId!, RTT_RANGE_HOURS[range]),
    enabled: agentId !== null,
    refetchInterval: RTT_REFRESH_MS[range],
    placeholderData: (previous) => (previous?.agentId === agentId ? previous : undefined),
  });
}

/** `POST /api/network/ping`: runs ping on one machine to the other and waits for the figures. */
export function useNetworkPing() {
  const client = useNetworkClient();
  return useMutation({ mutationFn: (request: NetworkPingRequest) => client.networkPing(request) });
}
