import { createChatClient } from '@farol/client';
import type { ChatLinkCode } from '@farol/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useSignedIn } from '../../../app/session.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { Panel } from '../../../ui/card.js';
import { CopyLine } from '../../../ui/copy-button.js';
import { formatDateTime } from '../../../ui/format.js';
import { useToast } from '../../../ui/toast.js';

const LINKS_KEY = ['chat-links'] as const;

/**
 * Settings → Chat accounts (issue #20): link a Telegram account with a one-time code sent to the
 * bot, so the buttons of alert messages act as this user; list and unlink.
 */
export function ChatLinksPanel() {
  const { t, locale } = useI18n();
  const notify = useToast();
  const { clientOptions } = useSignedIn();
  const client = useMemo(() => createChatClient(clientOptions), [clientOptions]);
  const queryClient = useQueryClient();
  const [code, setCode] = useState<ChatLinkCode | null>(null);
  const links = useQuery({ queryKey: LINKS_KEY, queryFn: () => client.listLinks() });
  const createCode = useMutation({
    mutationFn: () => client.createLinkCode(),
    onSuccess: setCode,
    onError: (error) => notify(describeError(error), { tone: 'error' }),
  });
  const unlink = useMutation({
    mutationFn: (id: string) => client.unlink(id),
    onSuccess: async () => {
      notify(t('chat.links.unlinked'));
      await queryClient.invalidateQueries({ queryKey: LINKS_KEY });
    },
    onError: (error) => notify(describeError(error), { tone: 'error' }),
  });
  return (
    <Panel
      title={t('chat.links.title')}
      description={t('chat.links.help')}
      actions={
        <Button size="sm" variant="primary" disabled={createCode.isPending} onClick={() => createCode.mutate()} data-testid="chat-link-telegram">
          {t('chat.links.linkTelegram')}
        </Button>
      }
      data-testid="chat-links"
    >
      <div className="flex flex-col gap-3 text-sm">
        {code && (
          <div className="flex flex-col gap-2 rounded-md bg-slate-50 p-3 dark:bg-slate-800/60" data-testid="chat-link-code">
            <span className="text-slate-700 dark:text-slate-200">{t('chat.links.sendCode', { until: formatDateTime(code.expiresAt, locale) })}</span>
            <CopyLine text={code.command} label={t('chat.links.command')} />
          </div>
        )}
        {links.isError && <span className="text-rose-600 dark:text-rose-400">{describeError(links.error)}</span>}
        {links.data && links.data.links.length === 0 && <span className="text-slate-500 dark:text-slate-400">{t('chat.links.none')}</span>}
        {links.data && links.data.links.length > 0 && (
          <ul className="divide-y divide-slate-100 dark:divide-slate-800">
            {links.data.links.map((link) => (
              <li key={link.id} className="flex items-center justify-between gap-3 py-2">
                <span className="text-slate-800 dark:text-slate-100">
                  {t('chat.links.account', { provider: t('alerts.channels.types.telegram'), name: link.externalName ?? link.externalId, id: link.externalId, at: formatDateTime(link.createdAt, locale) })}
                </span>
                <Button size="sm" variant="dangerGhost" disabled={unlink.isPending} onClick={() => unlink.mutate(link.id)}>
                  {t('chat.links.unlink')}
                </Button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Panel>
  );
}
