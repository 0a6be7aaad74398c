import { usePageTitle } from '../app/page-title.js';
import { ALERT_SECTIONS, type AlertSection } from '../app/alert-paths.js';
import { Link } from '../app/router.js';
import { AlertList } from '../features/alerts/components/alert-list.js';
import { ChannelsPanel } from '../features/alerts/components/channels-panel.js';
import { NoChannelWarning } from '../features/alerts/components/no-channel-warning.js';
import { RulesPanel } from '../features/alerts/components/rules-panel.js';
import { SilencesPanel } from '../features/alerts/components/silences-panel.js';
import { OutboxPanel, WebhooksPanel } from '../features/alerts/components/webhooks-panel.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/messages.js';
import { cn } from '../ui/cn.js';

const SECTION_PATH: Record<AlertSection, string> = { alerts: '/alerts', rules: '/alerts/rules', silences: '/alerts/silences', channels: '/alerts/channels' };
const SECTION_LABEL: Record<AlertSection, MessageKey> = {
  alerts: 'alerts.section.alerts',
  rules: 'alerts.section.rules',
  silences: 'alerts.section.silences',
  channels: 'alerts.section.channels',
};

/** Alerts: what is firing and what fired, the rules, silences, and where notices go. */
export function AlertsPage({ section }: { section: AlertSection }) {
  const { t } = useI18n();
  usePageTitle(`${t(SECTION_LABEL[section])} · ${t('alerts.title')}`);
  return (
    <div className="flex flex-col gap-6">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{t('alerts.title')}</h1>
        <p className="mt-1 text-sm text-slate-500 dark:text-slate-400">{t('alerts.intro')}</p>
      </div>
      <nav aria-label={t('alerts.sections')} className="flex gap-1 overflow-x-auto border-b border-slate-200 dark:border-slate-800">
        {ALERT_SECTIONS.map((value) => (
          <Link
            key={value}
            to={SECTION_PATH[value]}
            aria-current={value === section ? 'page' : undefined}
            className={cn(
              '-mb-px border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap transition-colors',
              value === section
                ? 'border-indigo-500 text-indigo-600 dark:text-indigo-400'
                : 'border-transparent text-slate-500 hover:border-slate-300 hover:text-slate-800 dark:text-slate-400 dark:hover:text-slate-200',
            )}
          >
            {t(SECTION_LABEL[value])}
          </Link>
        ))}
      </nav>
      {/* The Channels section shows its own warning, whose button opens the new-channel dialog. */}
      {section !== 'channels' && <NoChannelWarning />}
      {section === 'alerts' && <AlertList />}
      {section === 'rules' && <RulesPanel />}
      {section === 'silences' && <SilencesPanel />}
      {section === 'channels' && (
        <>
          <ChannelsPanel />
          <WebhooksPanel />
          <OutboxPanel />
        </>
      )}
    </div>
  );
}
