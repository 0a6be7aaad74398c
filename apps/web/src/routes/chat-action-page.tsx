import { createChatClient } from '@farol/client';
import type { ChatActionKind } from '@farol/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { usePageTitle } from '../app/page-title.js';
import { describeError } from '../app/query-client.js';
import { Link, machinePath } from '../app/router.js';
import { useSignedIn } from '../app/session.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/messages.js';
import { Button } from '../ui/button.js';
import { Panel, Spinner } from '../ui/card.js';
import { useNow } from '../ui/clock.js';
import { formatDateTime } from '../ui/format.js';

const KIND_TITLE: Record<ChatActionKind, MessageKey> = { ack: 'chat.action.ack', silence: 'chat.action.silence', restart: 'chat.action.restart' };

/**
 * `/chat/act/:token` (issue #20): where a Slack or Discord action link lands. It says what the
 * action does; the signed-in user confirms, and the hub checks their permissions and scope.
 */
export function ChatActionPage({ token }: { token: string }) {
  const { t, locale } = useI18n();
  const { clientOptions } = useSignedIn();
  const client = useMemo(() => createChatClient(clientOptions), [clientOptions]);
  const queryClient = useQueryClient();
  usePageTitle(t('chat.action.title'));
  const view = useQuery({ queryKey: ['chat-action', token], queryFn: () => client.viewAction(token), retry: false });
  const perform = useMutation({
    mutationFn: () => client.performAction(token),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['chat-action', token] }),
  });
  const now = useNow(10_000);
  const action = view.data;
  const expired = action !== undefined && action.usedAt === null && action.expiresAt <= now;
  return (
    <div className="mx-auto flex max-w-xl flex-col gap-6" data-testid="chat-action">
      <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{t('chat.action.title')}</h1>
      {view.isPending && <Spinner className="size-6" />}
      {view.isError && <p className="text-sm text-rose-600 dark:text-rose-400">{describeError(view.error)}</p>}
      {action && (
        <Panel title={action.kind === 'restart' ? t('chat.action.restartNamed', { container: action.container ?? '—' }) : t(KIND_TITLE[action.kind])}>
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
            <dt className="text-slate-500 dark:text-slate-400">{t('chat.action.alert')}</dt>
            <dd className="text-slate-900 dark:text-slate-100">{action.ruleName}: {action.summary}</dd>
            <dt className="text-slate-500 dark:text-slate-400">{t('chat.action.machine')}</dt>
            <dd>{action.agentName ? <Link className="text-sky-700 hover:underline dark:text-sky-400" to={machinePath(action.agentName)}>{action.agentName}</Link> : t('chat.action.fleet')}</dd>
            <dt className="text-slate-500 dark:text-slate-400">{t('chat.action.state')}</dt>
            <dd className="text-slate-900 dark:text-slate-100">{t(`alerts.state.${action.alertState}`)}</dd>
          </dl>
          <div className="mt-4 flex flex-col items-start gap-2">
            {perform.isSuccess && <p className="text-sm text-emerald-700 dark:text-emerald-400" data-testid="chat-action-done">{perform.data.message}</p>}
            {perform.isError && <p className="text-sm text-rose-600 dark:text-rose-400">{describeError(perform.error)}</p>}
            {!perform.isSuccess && action.usedAt !== null && (
              <p className="text-sm text-slate-600 dark:text-slate-300">{t('chat.action.used', { who: action.usedBy ?? '—', at: formatDateTime(action.usedAt, locale) })}</p>
            )}
            {expired && <p className="text-sm text-slate-600 dark:text-slate-300">{t('chat.action.expired')}</p>}
            {action.usedAt === null && !expired && !perform.isSuccess && (
              <Button variant="primary" disabled={perform.isPending} onClick={() => perform.mutate()} data-testid="chat-action-confirm">
                {t('chat.action.confirm')}
              </Button>
            )}
          </div>
        </Panel>
      )}
    </div>
  );
}
