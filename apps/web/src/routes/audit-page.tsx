import { usePageTitle } from '../app/page-title.js';
import { AuditLog } from '../features/audit/components/audit-log.js';
import { AuditVerify } from '../features/audit/components/audit-verify.js';
import { useMe } from '../features/accounts/hooks/use-accounts.js';
import { TerminalSessionsPanel } from '../features/terminal/components/terminal-sessions-panel.js';
import { useI18n } from '../i18n/i18n.js';

/** Who did what, where: the hash-chained audit log, filterable, with a chain check. */
export function AuditPage() {
  const { t } = useI18n();
  usePageTitle(t('audit.title'));
  const me = useMe();
  return (
    <div className="flex flex-col gap-6">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="max-w-2xl">
          <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{t('audit.title')}</h1>
          <p className="mt-1 text-sm text-slate-500 dark:text-slate-400">{t('audit.intro')}</p>
        </div>
        <AuditVerify />
      </div>
      <AuditLog />
      {me.data?.permissions.includes('audit:read') && <TerminalSessionsPanel />}
    </div>
  );
}
