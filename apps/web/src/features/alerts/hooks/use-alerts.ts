import { createAlertsClient, createChannelsClient, onUiEvent, type AlertsClient, type ChannelsClient, type ListAlertsQuery } from '@farol/client';
import type { AlertRuleInput, AlertRulePatch, ChannelCreateInput, ChannelPatch, SilenceCreate } from '@farol/protocol';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo } from 'react';
import { useRealtime } from '../../../app/realtime.js';
import { useSignedIn } from '../../../app/session.js';

export const ALERTS_KEY = ['alerts'] as const;
export const RULES_KEY = ['alert-rules'] as const;
export const SILENCES_KEY = ['silences'] as const;

/** The alerts part of the hub's API, with the signed-in token. */
export function useAlertsClient(): AlertsClient {
  const { clientOptions } = useSignedIn();
  return useMemo(() => createAlertsClient(clientOptions), [clientOptions]);
}

/** Alerts (`active` by default, or history), reloaded whenever the hub says one changed. */
export function useAlerts(query: Omit<ListAlertsQuery, 'cursor'>) {
  const client = useAlertsClient();
  const { socket } = useRealtime();
  const queryClient = useQueryClient();
  useEffect(
    () =>
      onUiEvent(
        socket,
        'alert:changed',
        () => void queryClient.invalidateQueries({ queryKey: ALERTS_KEY }),
        (event, error) => console.warn(`farol: ignored an invalid ${event} event from the hub`, error),
      ),
    [socket, queryClient],
  );
  return useInfiniteQuery({
    queryKey: [...ALERTS_KEY, query],
    queryFn: ({ pageParam }) => client.listAlerts({ ...query, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
}

export function useAcknowledgeAlert() {
  const client = useAlertsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, note }: { id: string; note?: string | undefined }) => client.acknowledgeAlert(id, note),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ALERTS_KEY }),
  });
}

export function useRules() {
  const client = useAlertsClient();
  return useQuery({ queryKey: RULES_KEY, queryFn: () => client.listRules() });
}

export function useSaveRule() {
  const client = useAlertsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: { id: string; patch: AlertRulePatch } | { input: AlertRuleInput }) =>
      'input' in request ? client.createRule(request.input) : client.updateRule(request.id, request.patch),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: RULES_KEY }),
  });
}

export function useDeleteRule() {
  const client = useAlertsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => client.deleteRule(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: RULES_KEY }),
  });
}

export function useSilences(includeExpired: boolean) {
  const client = useAlertsClient();
  return useQuery({ queryKey: [...SILENCES_KEY, includeExpired], queryFn: () => client.listSilences(includeExpired), refetchInterval: 30_000 });
}

export function useCreateSilence() {
  const client = useAlertsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: SilenceCreate) => client.createSilence(input),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: SILENCES_KEY });
      void queryClient.invalidateQueries({ queryKey: ALERTS_KEY });
    },
  });
}

export function useRemoveSilence() {
  const client = useAlertsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => client.removeSilence(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: SILENCES_KEY }),
  });
}

export const CHANNELS_KEY = ['channels'] as const;

/** The notification channels part of the hub's API, with the signed-in token. */
export function useChannelsClient(): ChannelsClient {
  const { clientOptions } = useSignedIn();
  return useMemo(() => createChannelsClient(clientOptions), [clientOptions]);
}

export function useChannels() {
  const client = useChannelsClient();
  return useQuery({ queryKey: CHANNELS_KEY, queryFn: async () => (await client.listChannels()).channels });
}

export function useCreateChannel() {
  const client = useChannelsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: ChannelCreateInput) => client.createChannel(input),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: CHANNELS_KEY }),
  });
}

export function useUpdateChannel() {
  const client = useChannelsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: ChannelPatch }) => client.updateChannel(id, patch),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: CHANNELS_KEY }),
  });
}

export function useDeleteChannel() {
  const client = useChannelsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => client.deleteChannel(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: CHANNELS_KEY }),
  });
}

/** "Send test": the provider's own answer, straight away. */
export function useTestChannel() {
  const client = useChannelsClient();
  return useMutation({ mutationFn: (id: string) => client.testChannel(id) });
}
