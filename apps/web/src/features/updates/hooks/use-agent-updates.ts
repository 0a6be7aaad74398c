import { createUpdatesClient, type UpdatesClient } from '@farol/client';
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useSignedIn } from '../../../app/session.js';
import { useMe } from '../../accounts/hooks/use-accounts.js';

export const AGENT_BUILDS_QUERY_KEY = ['agent-builds'] as const;

export function useUpdatesClient(): UpdatesClient {
  const { clientOptions } = useSignedIn();
  return useMemo(() => createUpdatesClient(clientOptions), [clientOptions]);
}

/** The agent builds the hub can hand out (needs `nodes:read`, like the fleet itself). */
export function useAgentBuilds() {
  const client = useUpdatesClient();
  return useQuery({ queryKey: AGENT_BUILDS_QUERY_KEY, queryFn: () => client.listAgentBuilds(), staleTime: 60_000 });
}

/** Whether the signed-in user may start agent updates; the hub checks again (and the scope) on every request. */
export function useCanUpdateAgents(): boolean {
  return useMe().data?.permissions.includes('agents:update') ?? false;
}
