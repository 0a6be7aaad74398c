import { createAccountsClient, type AccountsClient } from '@farol/client';
import type { ApiTokenCreateInput, UserCreate, UserUpdate } from '@farol/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useSignedIn } from '../../../app/session.js';
import { useStepUp } from '../../step-up/step-up.js';

const ME_KEY = ['accounts', 'me'] as const;
const TOKENS_KEY = ['accounts', 'tokens'] as const;
const USERS_KEY = ['accounts', 'users'] as const;
const ROLES_KEY = ['accounts', 'roles'] as const;

function useAccountsClient(): AccountsClient {
  const { clientOptions } = useSignedIn();
  return useMemo(() => createAccountsClient(clientOptions), [clientOptions]);
}

/** Who is signed in, with the permissions that decide which panels show. */
export function useMe() {
  const { client } = useSignedIn();
  return useQuery({ queryKey: ME_KEY, queryFn: () => client.me(), staleTime: 30_000 });
}

export function useApiTokens() {
  const accounts = useAccountsClient();
  return useQuery({ queryKey: TOKENS_KEY, queryFn: () => accounts.listTokens() });
}

export function useCreateApiToken() {
  const accounts = useAccountsClient();
  const queryClient = useQueryClient();
  // With two-factor sign-in on, a new token needs a fresh second factor (issue #11).
  const stepUp = useStepUp();
  return useMutation({
    mutationFn: (input: ApiTokenCreateInput) => stepUp.run(() => accounts.createToken(input)),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: TOKENS_KEY }),
  });
}

export function useRevokeApiToken() {
  const accounts = useAccountsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => accounts.revokeToken(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: TOKENS_KEY }),
  });
}

export function useUsers(enabled: boolean) {
  const accounts = useAccountsClient();
  return useQuery({ queryKey: USERS_KEY, queryFn: () => accounts.listUsers(), enabled });
}

export function useRoles(enabled: boolean) {
  const accounts = useAccountsClient();
  return useQuery({ queryKey: ROLES_KEY, queryFn: () => accounts.listRoles(), enabled, staleTime: 60_000 });
}

export function useCreateUser() {
  const accounts = useAccountsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: UserCreate) => accounts.createUser(input),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
}

export function useUpdateUser() {
  const accounts = useAccountsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, changes }: { id: string; changes: UserUpdate }) => accounts.updateUser(id, changes),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
}

/** Two-factor sign-in: enrol (secret + otpauth URI), confirm (recovery codes), step up, turn off. */
export function useTwoFactor() {
  const accounts = useAccountsClient();
  const queryClient = useQueryClient();
  const refreshMe = () => void queryClient.invalidateQueries({ queryKey: ME_KEY });
  return {
    enrol: useMutation({ mutationFn: () => accounts.enrolTotp() }),
    confirm: useMutation({ mutationFn: (otp: string) => accounts.confirmTotp(otp), onSuccess: refreshMe }),
    stepUp: useMutation({ mutationFn: (otp: string) => accounts.stepUp(otp), onSuccess: refreshMe }),
    disable: useMutation({ mutationFn: (otp: string) => accounts.disableTotp(otp), onSuccess: refreshMe }),
  };
}

export function useChangePassword() {
  const accounts = useAccountsClient();
  return useMutation({ mutationFn: ({ current, next }: { current: string; next: string }) => accounts.changePassword(current, next) });
}
