import type { JoinTokenCreateInput } from '@farol/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSignedIn } from '../../../app/session.js';

const JOIN_TOKENS_KEY = ['join-tokens'] as const;

export function useJoinTokens() {
  const { client } = useSignedIn();
  return useQuery({ queryKey: JOIN_TOKENS_KEY, queryFn: () => client.listJoinTokens(), refetchInterval: 30_000 });
}

export function useCreateJoinToken() {
  const { client } = useSignedIn();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: JoinTokenCreateInput) => client.createJoinToken(input),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: JOIN_TOKENS_KEY }),
  });
}

export function useRevokeJoinToken() {
  const { client } = useSignedIn();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => client.revokeJoinToken(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: JOIN_TOKENS_KEY }),
  });
}

export function useHubHealth() {
  const { client } = useSignedIn();
  return useQuery({ queryKey: ['health'], queryFn: () => client.health(), staleTime: 60_000 });
}
