import type { ReactNode } from 'react';
import { Link } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { buttonClasses } from '../../../ui/button.js';
import { AlertIcon } from '../../../ui/icons.js';
import { silentReason } from '../alert-format.js';
import { useChannels } from '../hooks/use-alerts.js';

/** Where the warning's link leads: the Channels section, with the new-channel dialog open. */
export const ADD_CHANNEL_PATH = '/alerts/channels?new';

/**
 * Says so when no channel can deliver: the rules still fire, but only this page shows it.
 * `action` replaces the link (the Channels section opens its own dialog).
 */
export function NoChannelWarning({ action }: { action?: ReactNode }) {
  const { t } = useI18n();
  const channels = useChannels();
  const reason = silentReason(channels.data);
  if (reason === null) return null;
  return (
    <div
      role="status"
      data-testid="no-channel-warning"
      className="flex flex-wrap items-center gap-3 rounded-lg bg-amber-50 px-4 py-3 text-sm text-amber-900 ring-1 ring-amber-200 ring-inset dark:bg-amber-500/10 dark:text-amber-200 dark:ring-amber-500/30"
    >
      <AlertIcon className="size-4 shrink-0" />
      <span className="min-w-0 flex-1">{reason === 'none' ? t('alerts.noChannel.none') : t('alerts.noChannel.disabled')}</span>
      {action ?? (
        <Link to={ADD_CHANNEL_PATH} className={buttonClasses('secondary', 'sm')}>
          {t('alerts.noChannel.add')}
        </Link>
      )}
    </div>
  );
}
