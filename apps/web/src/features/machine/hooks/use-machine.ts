import type { Agent, AgentPatch, HeartbeatSample } from '@farol/protocol';
import { onUiEvent } from '@farol/client';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useConnectionState, useRealtime } from '../../../app/realtime.js';
import { machinePath, navigate } from '../../../app/router.js';
import { useSignedIn } from '../../../app/session.js';
import { AGENTS_QUERY_KEY } from '../../fleet/hooks/use-fleet.js';
import { rangeQuery, RANGE_REFRESH_MS, type HistoryRange } from '../history.js';
import { appendLiveSample } from '../live-buffer.js';

export const agentQueryKey = (ref: string) => ['agent', ref] as const;

/** One machine by name (or id), refreshed now and then for its system facts and latest sample. */
export function useAgent(ref: string) {
  const { client } = useSignedIn();
  return useQuery({
    queryKey: agentQueryKey(ref),
    queryFn: () => client.getAgent(ref),
    refetchInterval: 30_000,
  });
}

/**
 * Follows changes made elsewhere (another tab, the CLI): a new name moves the page to the
 * machine's new address, new labels reload the machine, and a deletion reloads it too, which
 * shows "not found".
 */
export function useFollowAgentUpdates(agent: Agent): void {
  const { socket } = useRealtime();
  const queryClient = useQueryClient();
  useEffect(() => {
    const logInvalid = (event: string, error: Error) => console.warn(`farol: ignored an invalid ${event} event from the hub`, error);
    const reload = () => void queryClient.invalidateQueries({ queryKey: agentQueryKey(agent.name) });
    const unsubscribers = [
      onUiEvent(
        socket,
        'agent:updated',
        (event) => {
          if (event.agentId !== agent.id) return;
          if (event.name !== agent.name) navigate(machinePath(event.name), { replace: true });
          else reload();
        },
        logInvalid,
      ),
      onUiEvent(socket, 'agent:removed', (event) => event.agentId === agent.id && reload(), logInvalid),
    ];
    return () => unsubscribers.forEach((unsubscribe) => unsubscribe());
  }, [socket, queryClient, agent.id, agent.name]);
}

/** Rename or relabel; the fleet follows through the hub's agent:updated event. */
export function useUpdateAgent(agent: Agent) {
  const { client } = useSignedIn();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (patch: AgentPatch) => client.updateAgent(agent.id, patch),
    onSuccess: (updated) => {
      queryClient.setQueryData(agentQueryKey(updated.name), updated);
      void queryClient.invalidateQueries({ queryKey: AGENTS_QUERY_KEY });
    },
  });
}

export function useDeleteAgent(agent: Agent) {
  const { client } = useSignedIn();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => client.deleteAgent(agent.id),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: agentQueryKey(agent.name) });
      void queryClient.invalidateQueries({ queryKey: AGENTS_QUERY_KEY });
    },
  });
}

/** History for a range; the previous range stays on screen while the next one loads. */
export function useHistory(agentId: string, range: HistoryRange) {
  const { client } = useSignedIn();
  return useQuery({
    queryKey: ['metrics', agentId, range],
    queryFn: () => client.getMetrics(agentId, rangeQuery(range, Date.now())),
    placeholderData: keepPreviousData,
    refetchInterval: RANGE_REFRESH_MS[range],
    staleTime: 10_000,
  });
}

export type LiveState = 'paused' | 'offline' | 'waiting' | 'live';

/**
 * Live mode while the page is open: `agent:watch` on mount (and again after every reconnect,
 * since the hub forgets a closed socket's watches), `metrics:live` samples into a 5-minute
 * buffer, `agent:unwatch` on unmount.
 */
export function useLiveSamples(agentId: string, isOnline: boolean): { samples: readonly HeartbeatSample[]; state: LiveState } {
  const { socket } = useRealtime();
  const connection = useConnectionState();
  const [samples, setSamples] = useState<readonly HeartbeatSample[]>([]);

  useEffect(() => {
    let active = true;
    const watch = () => {
      socket
        .timeout(5_000)
        .emitWithAck('agent:watch', { agentId })
        .then((ack) => {
          if (active && !ack.ok) console.warn(`farol: the hub refused to watch ${agentId}: ${ack.error.code} ${ack.error.message}`);
        })
        .catch((error: unknown) => console.warn(`farol: no answer to agent:watch for ${agentId}`, error));
    };
    if (socket.connected) watch();
    socket.on('connect', watch);
    const unsubscribe = onUiEvent(
      socket,
      'metrics:live',
      (event) => {
        if (event.agentId === agentId) setSamples((current) => appendLiveSample(current, event.sample));
      },
      (event, error) => console.warn(`farol: ignored an invalid ${event} event`, error),
    );
    return () => {
      active = false;
      unsubscribe();
      socket.off('connect', watch);
      if (socket.connected) {
        socket.emit('agent:unwatch', { agentId }, (ack) => {
          if (!ack.ok) console.warn(`farol: agent:unwatch for ${agentId} failed: ${ack.error.code}`);
        });
      }
    };
  }, [socket, agentId]);

  const state: LiveState = connection !== 'connected' ? 'paused' : !isOnline ? 'offline' : samples.length === 0 ? 'waiting' : 'live';
  return { samples, state };
}
