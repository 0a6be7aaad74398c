import { createPushClient } from '@farol/client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useSignedIn } from '../../../app/session.js';
import { useI18n } from '../../../i18n/i18n.js';
import type { MessageKey } from '../../../i18n/messages.js';
import { Button } from '../../../ui/button.js';
import { useToast } from '../../../ui/toast.js';
import { readPushState, turnPushOff, turnPushOn, type PushState } from '../push-state.js';

const PUSH_KEY = ['push-state'] as const;

const STATE_TEXT: Record<PushState, MessageKey> = {
  on: 'push.on',
  off: 'push.off',
  denied: 'push.denied',
  unsupported: 'push.unsupported',
};

/** Settings → Preferences: this browser's opt-in to alert notifications (issue #20). */
export function PushToggle() {
  const { t } = useI18n();
  const notify = useToast();
  const { clientOptions } = useSignedIn();
  const client = useMemo(() => createPushClient(clientOptions), [clientOptions]);
  const queryClient = useQueryClient();
  const state = useQuery({ queryKey: PUSH_KEY, queryFn: () => readPushState(client), staleTime: Infinity, retry: false });
  const change = useMutation({
    mutationFn: (on: boolean) => (on ? turnPushOn(client) : turnPushOff(client)),
    onSuccess: (next) => {
      queryClient.setQueryData(PUSH_KEY, next);
      if (next === 'on' || next === 'off') notify(t(next === 'on' ? 'push.turnedOn' : 'push.turnedOff'));
    },
    onError: (error) => notify(describeError(error), { tone: 'error' }),
  });
  const current = state.data;
  return (
    <div className="flex flex-col items-start gap-2 sm:items-end" data-testid="push-toggle" data-state={current ?? 'loading'}>
      <span className="text-sm text-slate-600 dark:text-slate-300">{current ? t(STATE_TEXT[current]) : '…'}</span>
      <span className="max-w-xs text-xs text-slate-500 sm:text-right dark:text-slate-400">{t('push.hint')}</span>
      {(current === 'on' || current === 'off') && (
        <Button size="sm" variant={current === 'on' ? 'secondary' : 'primary'} disabled={change.isPending} onClick={() => change.mutate(current === 'off')}>
          {t(current === 'on' ? 'push.turnOff' : 'push.turnOn')}
        </Button>
      )}
      {state.isError && <span className="text-sm text-rose-600 dark:text-rose-400">{describeError(state.error)}</span>}
    </div>
  );
}
