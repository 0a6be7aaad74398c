import type { ReactNode } from 'react';
import { usePageTitle } from '../app/page-title.js';
import { useSession } from '../app/session.js';
import { useTheme, type ThemeChoice } from '../app/theme.js';
import { AccountsSettings } from '../features/accounts/components/accounts-settings.js';
import { ChatLinksPanel } from '../features/chat/components/chat-links-panel.js';
import { useMe } from '../features/accounts/hooks/use-accounts.js';
import { PushToggle } from '../features/push/components/push-toggle.js';
import { SecretsPanel } from '../features/secrets/components/secrets-panel.js';
import { JoinTokensPanel } from '../features/settings/components/join-tokens-panel.js';
import { useHubHealth } from '../features/settings/hooks/use-join-tokens.js';
import { useI18n } from '../i18n/i18n.js';
import { LOCALE_NAMES, LOCALES, type Locale } from '../i18n/messages.js';
import { Button } from '../ui/button.js';
import { Panel } from '../ui/card.js';
import { Segmented } from '../ui/field.js';
import { formatDuration } from '../ui/format.js';
import { LogOutIcon, MonitorIcon, MoonIcon, SunIcon } from '../ui/icons.js';

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="flex flex-col gap-2 py-3 first:pt-0 last:pb-0 sm:flex-row sm:items-center sm:justify-between">
      <span className="text-sm font-medium text-slate-700 dark:text-slate-200">{label}</span>
      <div>{children}</div>
    </div>
  );
}

export function SettingsPage() {
  const { t, locale, setLocale } = useI18n();
  const theme = useTheme();
  const { session, signOut } = useSession();
  const health = useHubHealth();
  const me = useMe();
  const canReadSecrets = me.data?.permissions.includes('secrets:read') ?? false;
  const canWriteSecrets = me.data?.permissions.includes('secrets:write') ?? false;
  usePageTitle(t('settings.title'));

  return (
    <div className="flex flex-col gap-6">
      <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{t('settings.title')}</h1>
      <JoinTokensPanel />
      <AccountsSettings />
      <ChatLinksPanel />
      {(canReadSecrets || canWriteSecrets) && <SecretsPanel canRead={canReadSecrets} canWrite={canWriteSecrets} />}
      <div className="grid gap-6 lg:grid-cols-2">
        <Panel title={t('prefs.title')}>
          <div className="divide-y divide-slate-100 dark:divide-slate-800">
            <Row label={t('prefs.theme')}>
              <Segmented<ThemeChoice>
                label={t('prefs.theme')}
                value={theme.choice}
                onChange={theme.setChoice}
                options={[
                  { value: 'system', label: <><MonitorIcon /> {t('theme.system')}</> },
                  { value: 'light', label: <><SunIcon /> {t('theme.light')}</> },
                  { value: 'dark', label: <><MoonIcon /> {t('theme.dark')}</> },
                ]}
              />
            </Row>
            <Row label={t('prefs.language')}>
              <Segmented<Locale> label={t('prefs.language')} value={locale} onChange={setLocale} options={LOCALES.map((value) => ({ value, label: LOCALE_NAMES[value] }))} />
            </Row>
            {me.data?.permissions.includes('nodes:read') && (
              <Row label={t('push.title')}>
                <PushToggle />
              </Row>
            )}
          </div>
        </Panel>
        <Panel title={t('about.title')}>
          <dl className="divide-y divide-slate-100 text-sm dark:divide-slate-800">
            <div className="flex justify-between gap-4 py-2 first:pt-0">
              <dt className="text-slate-500 dark:text-slate-400">{t('about.version')}</dt>
              <dd className="font-mono text-slate-900 dark:text-slate-100">{health.data?.version ?? '—'}</dd>
            </div>
            <div className="flex justify-between gap-4 py-2">
              <dt className="text-slate-500 dark:text-slate-400">{t('about.uptime')}</dt>
              <dd className="text-slate-900 dark:text-slate-100">{formatDuration(health.data?.uptimeSeconds)}</dd>
            </div>
            <div className="flex justify-between gap-4 py-2">
              <dt className="text-slate-500 dark:text-slate-400">{t('about.docs')}</dt>
              <dd>
                <a href="/api/docs/" className="text-indigo-600 underline-offset-2 hover:underline dark:text-indigo-400">
                  /api/docs
                </a>
              </dd>
            </div>
            <div className="flex flex-wrap items-center justify-between gap-3 py-2 last:pb-0">
              <dt className="text-slate-500 dark:text-slate-400">
                {t('about.session')}
                <span className="block text-xs">{session?.via === 'cookie' ? t('about.sessionCookie') : session?.remembered ? t('about.sessionRemembered') : t('about.sessionTab')}</span>
              </dt>
              <dd>
                <Button size="sm" onClick={() => signOut()}>
                  <LogOutIcon className="size-3.5" /> {t('nav.signOut')}
                </Button>
              </dd>
            </div>
          </dl>
        </Panel>
      </div>
    </div>
  );
}
