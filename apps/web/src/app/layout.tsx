import type { ReactNode } from 'react';
import { LOCALE_NAMES, LOCALES, type Locale, type MessageKey } from '../i18n/messages.js';
import { useI18n } from '../i18n/i18n.js';
import { Button } from '../ui/button.js';
import { cn } from '../ui/cn.js';
import { BellIcon, GlobeIcon, JobsIcon, LighthouseIcon, LogOutIcon, MonitorIcon, MoonIcon, NetworkIcon, PulseIcon, ServerIcon, SettingsIcon, ShieldIcon, SunIcon, WifiOffIcon } from '../ui/icons.js';
import { Menu, MenuLabel, MenuRadioGroup } from '../ui/menu.js';
import { Tooltip } from '../ui/tooltip.js';
import { useConnectionState } from './realtime.js';
import { Link, usePathname } from './router.js';
import { useSession } from './session.js';
import { useTheme, type ThemeChoice } from './theme.js';

function NavLink({ to, icon, children, active, compact = false }: { to: string; icon: ReactNode; children: ReactNode; active: boolean; compact?: boolean }) {
  return (
    <Link
      to={to}
      aria-current={active ? 'page' : undefined}
      className={cn(
        'inline-flex items-center gap-2 rounded-lg font-medium transition-colors focus-visible:outline-2 focus-visible:outline-indigo-500',
        compact ? 'flex-1 flex-col justify-center gap-0.5 py-2 text-[11px]' : 'h-9 px-3 text-sm',
        active
          ? compact
            ? 'text-indigo-600 dark:text-indigo-400'
            : 'bg-slate-100 text-slate-900 dark:bg-slate-800 dark:text-white'
          : 'text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-400 dark:hover:bg-slate-800/70 dark:hover:text-white',
      )}
    >
      {icon}
      {children}
    </Link>
  );
}

export function LanguageMenu() {
  const { t, locale, setLocale } = useI18n();
  return (
    <Menu
      label={t('language.label')}
      trigger={
        <Button variant="ghost" size="icon" aria-label={t('language.label')}>
          <GlobeIcon className="size-[18px]" />
        </Button>
      }
    >
      <MenuLabel>{t('language.label')}</MenuLabel>
      <MenuRadioGroup<Locale> value={locale} onChange={setLocale} options={LOCALES.map((value) => ({ value, label: LOCALE_NAMES[value] }))} />
    </Menu>
  );
}

export function ThemeMenu() {
  const { t } = useI18n();
  const { choice, resolved, setChoice } = useTheme();
  return (
    <Menu
      label={t('theme.label')}
      trigger={
        <Button variant="ghost" size="icon" aria-label={t('theme.label')}>
          {resolved === 'dark' ? <MoonIcon className="size-[18px]" /> : <SunIcon className="size-[18px]" />}
        </Button>
      }
    >
      <MenuLabel>{t('theme.label')}</MenuLabel>
      <MenuRadioGroup<ThemeChoice>
        value={choice}
        onChange={setChoice}
        options={[
          { value: 'system', label: t('theme.system'), icon: <MonitorIcon /> },
          { value: 'light', label: t('theme.light'), icon: <SunIcon /> },
          { value: 'dark', label: t('theme.dark'), icon: <MoonIcon /> },
        ]}
      />
    </Menu>
  );
}

function ReconnectingBanner() {
  const { t } = useI18n();
  const state = useConnectionState();
  return (
    <div role="status" aria-live="polite">
      {state === 'reconnecting' && (
        <div data-testid="reconnecting-banner" className="border-b border-amber-200 bg-amber-50 text-amber-900 dark:border-amber-900/50 dark:bg-amber-950/60 dark:text-amber-100">
          <div className="mx-auto flex max-w-7xl items-center gap-2.5 px-4 py-2 text-sm sm:px-6 lg:px-8">
            <WifiOffIcon className="size-4 shrink-0" />
            <span className="font-medium">{t('realtime.reconnecting')}</span>
            <span className="hidden text-amber-800/80 sm:inline dark:text-amber-200/70">{t('realtime.reconnectingDetail')}</span>
            <span aria-hidden="true" className="ml-auto size-3.5 animate-spin rounded-full border-2 border-current border-r-transparent" />
          </div>
        </div>
      )}
    </div>
  );
}

/** The pages in the navigation, in order; `matches` says which paths belong to each. */
const NAV_ITEMS: ReadonlyArray<{ to: string; label: MessageKey; icon: (className: string) => ReactNode; matches(pathname: string): boolean }> = [
  { to: '/', label: 'nav.fleet', icon: (className) => <ServerIcon className={className} />, matches: (path) => path === '/' || path.startsWith('/machines/') },
  { to: '/jobs', label: 'nav.jobs', icon: (className) => <JobsIcon className={className} />, matches: (path) => path === '/jobs' || path.startsWith('/jobs/') },
  { to: '/checks', label: 'nav.checks', icon: (className) => <PulseIcon className={className} />, matches: (path) => path === '/checks' || path.startsWith('/checks/') },
  { to: '/network', label: 'nav.network', icon: (className) => <NetworkIcon className={className} />, matches: (path) => path === '/network' },
  { to: '/alerts', label: 'nav.alerts', icon: (className) => <BellIcon className={className} />, matches: (path) => path === '/alerts' || path.startsWith('/alerts/') },
  { to: '/audit', label: 'nav.audit', icon: (className) => <ShieldIcon className={className} />, matches: (path) => path === '/audit' },
  { to: '/settings', label: 'nav.settings', icon: (className) => <SettingsIcon className={className} />, matches: (path) => path.startsWith('/settings') },
];

/** The signed-in frame: header with navigation and switches, the connection banner, the page. */
export function Layout({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const { signOut } = useSession();
  const pathname = usePathname();

  return (
    <div className="flex min-h-dvh flex-col">
      <a href="#main" className="sr-only z-50 rounded-md bg-white px-3 py-2 text-sm focus:not-sr-only focus:fixed focus:top-2 focus:left-2 dark:bg-slate-900">
        {t('app.skipToContent')}
      </a>
      <header className="sticky top-0 z-30 border-b border-slate-200/80 bg-white/85 backdrop-blur-md dark:border-slate-800/80 dark:bg-slate-950/85">
        <div className="mx-auto flex h-14 max-w-7xl items-center gap-3 px-4 sm:px-6 lg:px-8">
          <Link to="/" className="flex items-center gap-2.5 rounded-lg focus-visible:outline-2 focus-visible:outline-indigo-500">
            <LighthouseIcon className="size-7" />
            <span className="flex items-baseline gap-2">
              <span className="text-[15px] font-semibold tracking-tight text-slate-900 dark:text-white">{t('app.name')}</span>
              <span className="hidden text-sm text-slate-500 lg:inline dark:text-slate-400">{t('app.product')}</span>
            </span>
          </Link>
          <nav aria-label={t('nav.main')} className="ml-4 hidden items-center gap-1 md:flex">
            {NAV_ITEMS.map((item) => (
              <NavLink key={item.to} to={item.to} active={item.matches(pathname)} icon={item.icon('size-4')}>
                {t(item.label)}
              </NavLink>
            ))}
          </nav>
          <div className="ml-auto flex items-center gap-0.5">
            <LanguageMenu />
            <ThemeMenu />
            <Tooltip content={t('nav.signOut')}>
              <Button variant="ghost" size="icon" aria-label={t('nav.signOut')} onClick={() => signOut()}>
                <LogOutIcon className="size-[18px]" />
              </Button>
            </Tooltip>
          </div>
        </div>
        <ReconnectingBanner />
      </header>
      <main id="main" className="mx-auto w-full max-w-7xl flex-1 px-4 pt-5 pb-24 sm:px-6 sm:pt-8 md:pb-12 lg:px-8">
        {children}
      </main>
      {/* On phones and small tablets the navigation sits at the bottom, within reach of a thumb. */}
      <nav
        aria-label={t('nav.main')}
        className="fixed inset-x-0 bottom-0 z-30 flex border-t border-slate-200 bg-white/95 pb-[env(safe-area-inset-bottom)] backdrop-blur-md md:hidden dark:border-slate-800 dark:bg-slate-950/95"
      >
        {NAV_ITEMS.map((item) => (
          <NavLink key={item.to} to={item.to} active={item.matches(pathname)} icon={item.icon('size-5')} compact>
            {t(item.label)}
          </NavLink>
        ))}
      </nav>
    </div>
  );
}
