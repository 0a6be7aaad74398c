import { createContainersClient, type ContainersClient } from '@farol/client';
import type { Command, Job, JobTarget } from '@farol/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useSignedIn } from '../../../app/session.js';

export const containersQueryKey = (agentId: string) => ['containers', agentId] as const;

function useContainersClient(): ContainersClient {
  const { clientOptions } = useSignedIn();
  return useMemo(() => createContainersClient(clientOptions), [clientOptions]);
}

/**
 * A machine's containers from its latest heartbeat, refreshed about as often as heartbeats
 * come (live samples do not carry containers, so this is the one source).
 */
export function useContainers(agentId: string, intervalMs: number) {
  const client = useContainersClient();
  return useQuery({
    queryKey: containersQueryKey(agentId),
    queryFn: () => client.listContainers(agentId),
    refetchInterval: Math.max(5_000, intervalMs),
  });
}

/**
 * The automatic container updates (issue #18), newest first: the machine page shows each
 * container's last one. A hub without them (older) answers 404: treated as none.
 */
export function useContainerRollouts() {
  const client = useContainersClient();
  return useQuery({
    queryKey: ['container-rollouts'],
    queryFn: () => client.listRollouts(),
    refetchInterval: 15_000,
  });
}

/** What a Docker command ended as, for the operator. */
export type ContainerCommandOutcome = { ok: true; target: JobTarget } | { ok: false; target: JobTarget };

/**
 * Runs one Docker command on the machine through the jobs API and waits for its result; the
 * containers are reloaded afterwards so the table shows what Docker now reports.
 */
export function useContainerCommand(agentId: string) {
  const { client } = useSignedIn();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (command: Command): Promise<ContainerCommandOutcome> => {
      const job: Job = await client.runCommand(agentId, { command });
      const target = job.targets[0]!;
      return { ok: target.state === 'succeeded', target };
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: containersQueryKey(agentId) }),
  });
}
