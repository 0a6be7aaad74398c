import { createChecksClient, type ChecksClient } from '@farol/client';
import type { CheckInput, StatusPageInput } from '@farol/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useSignedIn } from '../../../app/session.js';

export const CHECKS_KEY = ['checks'] as const;
export const STATUS_PAGES_KEY = ['status-pages'] as const;
/** Results arrive every interval (10 s at least): the pages poll at that pace. */
const REFRESH_MS = 10_000;

/** The checks part of the hub's API, with the signed-in token. */
export function useChecksClient(): ChecksClient {
  const { clientOptions } = useSignedIn();
  return useMemo(() => createChecksClient(clientOptions), [clientOptions]);
}

/** Checks the operator may see (the hub leaves out those outside a scoped role). */
export function useChecks() {
  const client = useChecksClient();
  return useQuery({ queryKey: CHECKS_KEY, queryFn: () => client.listChecks(), refetchInterval: REFRESH_MS });
}

export function useCheck(ref: string) {
  const client = useChecksClient();
  return useQuery({ queryKey: [...CHECKS_KEY, 'one', ref], queryFn: () => client.getCheck(ref), refetchInterval: REFRESH_MS });
}

/** Results since `since` (newest first) and uptime per location. */
export function useCheckHistory(ref: string, since: number) {
  const client = useChecksClient();
  return useQuery({ queryKey: [...CHECKS_KEY, 'history', ref, since], queryFn: () => client.checkResults(ref, { since, limit: 5000 }), refetchInterval: REFRESH_MS });
}

/** Runs and latency per location since `since`: raw up to 3 h, 1-minute rollups up to 2 days, hourly beyond (the hub picks). */
export function useCheckSeries(ref: string, since: number) {
  const client = useChecksClient();
  return useQuery({ queryKey: [...CHECKS_KEY, 'series', ref, since], queryFn: () => client.checkSeries(ref, { since }), refetchInterval: REFRESH_MS });
}

export function useSaveCheck() {
  const client = useChecksClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: { ref: string | null; input: CheckInput }) => (request.ref ? client.replaceCheck(request.ref, request.input) : client.createCheck(request.input)),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: CHECKS_KEY }),
  });
}

export function useDeleteCheck() {
  const client = useChecksClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (ref: string) => client.deleteCheck(ref),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: CHECKS_KEY }),
  });
}

export function useRunCheck() {
  const client = useChecksClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (ref: string) => client.runCheck(ref),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: CHECKS_KEY }),
  });
}

export function useStatusPages(enabled: boolean) {
  const client = useChecksClient();
  return useQuery({ queryKey: STATUS_PAGES_KEY, queryFn: () => client.listStatusPages(), enabled });
}

export function useSaveStatusPage() {
  const client = useChecksClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: { slug: string | null; input: StatusPageInput }) => (request.slug ? client.replaceStatusPage(request.slug, request.input) : client.createStatusPage(request.input)),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: STATUS_PAGES_KEY }),
  });
}

export function useDeleteStatusPage() {
  const client = useChecksClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (slug: string) => client.deleteStatusPage(slug),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: STATUS_PAGES_KEY }),
  });
}
