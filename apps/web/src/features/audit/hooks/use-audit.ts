import type { ListAuditQuery } from '@farol/client';
import { useInfiniteQuery, useMutation } from '@tanstack/react-query';
import { useSignedIn } from '../../../app/session.js';

export const AUDIT_QUERY_KEY = ['audit'] as const;
const PAGE_SIZE = 50;

/** Audit entries matching the filters, newest first, a page at a time. */
export function useAuditLog(filter: Omit<ListAuditQuery, 'limit' | 'cursor'>) {
  const { client } = useSignedIn();
  return useInfiniteQuery({
    queryKey: [...AUDIT_QUERY_KEY, filter],
    queryFn: ({ pageParam }) => client.listAudit({ ...filter, limit: PAGE_SIZE, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // The log only grows; a fresh look every 15 s is plenty.
    refetchInterval: 15_000,
  });
}

/** Walks the whole hash chain on the hub; asked for by the operator, never automatically. */
export function useVerifyAudit() {
  const { client } = useSignedIn();
  return useMutation({ mutationFn: () => client.verifyAudit() });
}
