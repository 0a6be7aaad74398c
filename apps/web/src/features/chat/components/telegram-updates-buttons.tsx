import { createChatClient } from '@farol/client';
import type { TelegramUpdatesMode } from '@farol/protocol';
import { useMutation } from '@tanstack/react-query';
import { useMemo } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useSignedIn } from '../../../app/session.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { useToast } from '../../../ui/toast.js';

/**
 * Alerts → Channels, on a Telegram channel (issue #20): let its alert buttons reach the hub, by
 * Telegram's webhook (a hub Telegram can reach over HTTPS) or by the hub polling Telegram.
 */
export function TelegramUpdatesButtons({ channelId, channelName }: { channelId: string; channelName: string }) {
  const { t } = useI18n();
  const notify = useToast();
  const { clientOptions } = useSignedIn();
  const client = useMemo(() => createChatClient(clientOptions), [clientOptions]);
  const set = useMutation({
    mutationFn: (mode: TelegramUpdatesMode) => client.setTelegramUpdates(channelId, mode),
    onSuccess: (result) => notify(t(result.mode === 'webhook' ? 'chat.telegram.webhookSet' : 'chat.telegram.pollingSet', { name: channelName })),
    onError: (error) => notify(t('chat.telegram.failed'), { tone: 'error', description: describeError(error) }),
  });
  return (
    <>
      <Button size="sm" disabled={set.isPending} onClick={() => set.mutate('webhook')} title={t('chat.telegram.webhookHint')} data-testid="telegram-webhook">
        {t('chat.telegram.webhook')}
      </Button>
      <Button size="sm" disabled={set.isPending} onClick={() => set.mutate('polling')} title={t('chat.telegram.pollingHint')} data-testid="telegram-polling">
        {t('chat.telegram.polling')}
      </Button>
    </>
  );
}
