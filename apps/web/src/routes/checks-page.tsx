import type { Check } from '@farol/protocol';
import { useState } from 'react';
import { usePageTitle } from '../app/page-title.js';
import { describeError } from '../app/query-client.js';
import { Link } from '../app/router.js';
import { useMe } from '../features/accounts/hooks/use-accounts.js';
import { checkPath, StatusPill, Uptime } from '../features/checks/components/check-parts.js';
import { CheckDialog } from '../features/checks/components/check-dialog.js';
import { StatusPagesPanel } from '../features/checks/components/status-pages-panel.js';
import { certDaysLeft, describeProbe, describeRunOn, worstLatency } from '../features/checks/check-form.js';
import { useChecks } from '../features/checks/hooks/use-checks.js';
import { Pill } from '../features/jobs/components/job-parts.js';
import { useI18n } from '../i18n/i18n.js';
import { Button } from '../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../ui/card.js';
import { PlusIcon } from '../ui/icons.js';

/** Every check with its status per location, uptime, latency and certificate; status pages below. */
export function ChecksPage() {
  const { t } = useI18n();
  usePageTitle(t('checks.title'));
  const checks = useChecks();
  const me = useMe();
  const canManage = me.data?.permissions.includes('checks:manage') ?? false;
  const fleetWide = me.data ? me.data.scope === null : false;
  const [creating, setCreating] = useState(false);

  return (
    <div className="flex flex-col gap-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{t('checks.title')}</h1>
          <p className="mt-1 text-sm text-slate-500 dark:text-slate-400">{t('checks.intro')}</p>
        </div>
        {canManage && (
          <Button variant="primary" onClick={() => setCreating(true)}>
            <PlusIcon className="size-4" />
            {t('checks.new')}
          </Button>
        )}
      </div>
      <Panel title={t('checks.listTitle')} bodyClassName="p-0">
        {checks.isPending && (
          <div className="flex justify-center p-8">
            <Spinner />
          </div>
        )}
        {checks.error && <ErrorNote onRetry={() => void checks.refetch()}>{describeError(checks.error)}</ErrorNote>}
        {checks.data?.checks.length === 0 && <EmptyState title={t('checks.empty')}>{t('checks.emptyHint')}</EmptyState>}
        {checks.data && checks.data.checks.length > 0 && (
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="checks-table">
              <thead className="border-b border-slate-100 text-left text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
                <tr>
                  <th className="px-4 py-2 font-medium">{t('checks.col.check')}</th>
                  <th className="px-4 py-2 font-medium">{t('checks.col.status')}</th>
                  <th className="px-4 py-2 font-medium">{t('checks.col.locations')}</th>
                  <th className="px-4 py-2 text-right font-medium">{t('checks.col.uptime')}</th>
                  <th className="px-4 py-2 text-right font-medium">{t('checks.col.latency')}</th>
                  <th className="px-4 py-2 text-right font-medium">{t('checks.col.cert')}</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {checks.data.checks.map((check) => (
                  <CheckRow key={check.id} check={check} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
      {fleetWide && <StatusPagesPanel canManage={canManage} checks={checks.data?.checks ?? []} />}
      {creating && <CheckDialog check={null} onClose={() => setCreating(false)} />}
    </div>
  );
}

function CheckRow({ check }: { check: Check }) {
  const { t, locale } = useI18n();
  const latency = worstLatency(check);
  const cert = certDaysLeft(check);
  return (
    <tr data-testid="check-row" data-check={check.name} data-status={check.status ?? 'none'} className="align-top">
      <td className="max-w-[22rem] px-4 py-3">
        <div className="flex flex-wrap items-center gap-2">
          <Link to={checkPath(check.name)} className="font-medium text-indigo-700 hover:underline dark:text-indigo-300">
            {check.name}
          </Link>
          {!check.enabled && <Pill tone="warn">{t('checks.disabled')}</Pill>}
          {check.source === 'file' && (
            <span title={t('checks.fileReadOnly')} data-testid="check-file-badge">
              <Pill tone="neutral">{t('alerts.rules.source.file')}</Pill>
            </span>
          )}
        </div>
        <p className="mt-0.5 truncate font-mono text-xs text-slate-500 dark:text-slate-400">{describeProbe(check.probe)}</p>
        <p className="text-xs text-slate-500 dark:text-slate-400">{t('checks.runsOn', { where: describeRunOn(check.runOn) })}</p>
      </td>
      <td className="px-4 py-3">
        <StatusPill status={check.status} />
      </td>
      <td className="px-4 py-3">
        <ul className="flex flex-col gap-1">
          {check.locations.map((location) => (
            <li key={location.location} className="flex items-center gap-2 text-xs" data-testid="check-location" data-location={location.location} data-status={location.status}>
              <StatusPill status={location.status} compact />
              <span className="font-mono">{location.location}</span>
            </li>
          ))}
        </ul>
      </td>
      <td className="px-4 py-3 text-right">
        <Uptime uptime={check.uptime} />
      </td>
      <td className="px-4 py-3 text-right font-mono text-xs tabular-nums">{latency === null ? '—' : `${Math.round(latency).toLocaleString(locale)} ms`}</td>
      <td className="px-4 py-3 text-right text-xs tabular-nums" data-testid="check-cert">
        {cert === null ? '—' : <span className={cert < 14 ? 'font-medium text-amber-700 dark:text-amber-400' : ''}>{t('checks.daysLeft', { n: Math.floor(cert) })}</span>}
      </td>
    </tr>
  );
}
