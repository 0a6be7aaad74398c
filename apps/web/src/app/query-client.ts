import { FarolApiError } from '@farol/client';
import { QueryClient } from '@tanstack/react-query';

/**
 * REST caching: data stays fresh for a few seconds (live events keep the fleet current), and
 * only failures that may pass on their own (network, 5xx) are retried.
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: false,
        retry: (failureCount, error) => failureCount < 3 && isTransient(error),
      },
      mutations: { retry: false },
    },
  });
}

export function isTransient(error: unknown): boolean {
  return !(error instanceof FarolApiError) || error.isNetworkFailure || error.status >= 500;
}

/** The few words a person needs from an error: the hub's detail, or why it could not be reached. */
export function describeError(error: unknown): string {
  if (error instanceof FarolApiError) return error.detail ?? error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
