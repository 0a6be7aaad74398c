import type { CheckResult, CheckStatus } from '@farol/protocol';
import { useMemo, useState } from 'react';
import { usePageTitle } from '../app/page-title.js';
import { describeError } from '../app/query-client.js';
import { Link, navigate } from '../app/router.js';
import { useMe } from '../features/accounts/hooks/use-accounts.js';
import { certDaysLeft, describeProbe, describeRunOn } from '../features/checks/check-form.js';
import { CheckDialog } from '../features/checks/components/check-dialog.js';
import { checkPath, StatusPill, Uptime } from '../features/checks/components/check-parts.js';
import { useCheck, useCheckHistory, useCheckSeries, useDeleteCheck, useRunCheck } from '../features/checks/hooks/use-checks.js';
import { Pill } from '../features/jobs/components/job-parts.js';
import { useI18n } from '../i18n/i18n.js';
import { Button } from '../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../ui/card.js';
import { ConfirmDialog } from '../ui/dialog.js';
import { Segmented } from '../ui/field.js';
import { formatDateTime } from '../ui/format.js';
import { ChevronLeftIcon, PencilIcon, TrashIcon } from '../ui/icons.js';
import { TimeChart, type ChartSeries } from '../ui/time-chart.js';
import { useToast } from '../ui/toast.js';
import { useNow } from '../ui/clock.js';
import { cn } from '../ui/cn.js';

const DAY_MS = 86_400_000;
const RANGES = { '1h': 3_600_000, '24h': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS } as const;
type Range = keyof typeof RANGES;
const COLORS = ['#6366f1', '#10b981', '#f59e0b', '#ef4444', '#0ea5e9', '#a855f7', '#14b8a6', '#f97316'];
const TIMELINE_SLOTS = 90;
const MESSAGES_SHOWN = 25;
const SEGMENT: Record<CheckStatus, string> = { ok: 'bg-emerald-500', warning: 'bg-amber-500', critical: 'bg-red-500', unknown: 'bg-slate-400' };

/** One check: status and uptime per location, latency chart, status timeline, newest messages. */
export function CheckPage({ name }: { name: string }) {
  const { t, locale } = useI18n();
  usePageTitle(name);
  const [range, setRange] = useState<Range>('24h');
  // The minute's start: the query key (and the chart) moves on once a minute, not on every render.
  const minute = useNow(60_000);
  const check = useCheck(name);
  // The newest runs (timeline, messages) from the last day; the chart from the tier that fits its range.
  const history = useCheckHistory(name, minute - DAY_MS);
  const series = useCheckSeries(name, minute - RANGES[range]);
  const me = useMe();
  const canManage = (me.data?.permissions.includes('checks:manage') ?? false) && check.data?.source !== 'file';
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const remove = useDeleteCheck();
  const run = useRunCheck();
  const notify = useToast();

  const byLocation = useMemo(() => {
    const map = new Map<string, CheckResult[]>();
    for (const result of [...(history.data?.results ?? [])].reverse()) {
      const list = map.get(result.location) ?? [];
      list.push(result);
      map.set(result.location, list);
    }
    return map;
  }, [history.data]);

  const chart = useMemo(() => {
    const points = series.data?.points ?? [];
    const locations = [...new Set(points.map((p) => p.location))].sort();
    const times = [...new Set(points.map((p) => p.ts))].sort((a, b) => a - b);
    const index = new Map(times.map((ts, i) => [ts, i]));
    const column = new Map(locations.map((location, i) => [location, i]));
    const columns = locations.map(() => times.map((): number | null => null));
    for (const point of points) columns[column.get(point.location)!]![index.get(point.ts)!] = point.latencyAvg;
    const lines: ChartSeries[] = locations.map((location, i) => ({ label: location, color: COLORS[i % COLORS.length]!, spanGaps: true }));
    return { data: [times.map((ts) => ts / 1000), ...columns], series: lines };
  }, [series.data]);

  if (check.error) {
    return (
      <EmptyState title={t('checks.notFound', { name })} action={<Link to="/checks">{t('checks.back')}</Link>}>
        {describeError(check.error)}
      </EmptyState>
    );
  }
  if (!check.data) {
    return (
      <div className="flex justify-center p-8">
        <Spinner />
      </div>
    );
  }
  const current = check.data;
  const cert = certDaysLeft(current);
  const uptimeOf = new Map((history.data?.locations ?? []).map((l) => [l.location, l.uptime]));

  return (
    <div className="flex flex-col gap-6" data-testid="check-page" data-check={current.name}>
      <div>
        <Link to="/checks" className="inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800 dark:text-slate-400 dark:hover:text-slate-200">
          <ChevronLeftIcon className="size-4" />
          {t('checks.title')}
        </Link>
        <div className="mt-2 flex flex-wrap items-center justify-between gap-4">
          <div className="min-w-0">
            <div className="flex flex-wrap items-center gap-2">
              <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{current.name}</h1>
              <span data-testid="check-status" data-status={current.status ?? 'none'}>
                <StatusPill status={current.status} />
              </span>
              {current.source === 'file' && (
                <span title={t('checks.fileReadOnly')} data-testid="check-file-badge">
                  <Pill tone="neutral">{t('alerts.rules.source.file')}</Pill>
                </span>
              )}
              {!current.enabled && <Pill tone="warn">{t('checks.disabled')}</Pill>}
            </div>
            <p className="mt-1 font-mono text-xs text-slate-500 dark:text-slate-400">{describeProbe(current.probe)}</p>
            <p className="text-xs text-slate-500 dark:text-slate-400">
              {t('checks.runsOn', { where: describeRunOn(current.runOn) })}
              {cert !== null && ` · ${t('checks.certLeft', { n: Math.floor(cert) })}`}
            </p>
            {current.description && <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">{current.description}</p>}
          </div>
          {(me.data?.permissions.includes('checks:manage') ?? false) && (
            <div className="flex flex-wrap gap-2">
              <Button
                disabled={run.isPending}
                onClick={() =>
                  run.mutate(current.id, {
                    onSuccess: () => {
                      notify(t('checks.ranNow', { name: current.name }));
                      void history.refetch();
                      void series.refetch();
                    },
                  })
                }
              >
                {t('checks.runNow')}
              </Button>
              {canManage && (
                <>
                  <Button onClick={() => setEditing(true)}>
                    <PencilIcon className="size-4" />
                    {t('checks.edit')}
                  </Button>
                  <Button variant="dangerGhost" onClick={() => setDeleting(true)}>
                    <TrashIcon className="size-4" />
                    {t('checks.delete')}
                  </Button>
                </>
              )}
            </div>
          )}
        </div>
      </div>

      <Panel title={t('checks.perLocation')}>
        <div className="mb-3 flex items-center gap-3 text-xs text-slate-500 dark:text-slate-400">
          {t('checks.overall')} <Uptime uptime={current.uptime} />
        </div>
        {current.locations.length === 0 && <p className="text-sm text-slate-500 dark:text-slate-400">{t('checks.noResults')}</p>}
        <ul className="flex flex-col gap-4">
          {current.locations.map((location) => {
            const results = (byLocation.get(location.location) ?? []).slice(-TIMELINE_SLOTS);
            return (
              <li key={location.location} data-testid="location-row" data-location={location.location} data-status={location.status}>
                <div className="flex flex-wrap items-center gap-x-4 gap-y-1">
                  <span className="font-mono text-sm font-medium">{location.location}</span>
                  <StatusPill status={location.status} />
                  <span className="text-xs text-slate-500 dark:text-slate-400">{location.latencyMs === null ? '—' : `${Math.round(location.latencyMs)} ms`}</span>
                  <span className="min-w-0 flex-1 truncate text-xs text-slate-600 dark:text-slate-300" title={location.message}>
                    {location.message}
                  </span>
                  {uptimeOf.get(location.location) && <Uptime uptime={uptimeOf.get(location.location)!} />}
                </div>
                <div className="mt-2 flex h-5 gap-px" role="img" aria-label={t('checks.timeline', { location: location.location })} data-testid="status-timeline">
                  {results.map((result) => (
                    <span key={`${result.ts}`} className={cn('max-w-3 min-w-[3px] flex-1 rounded-sm', SEGMENT[result.status])} title={`${formatDateTime(result.ts, locale)} · ${result.status} · ${result.message}`} />
                  ))}
                </div>
              </li>
            );
          })}
        </ul>
      </Panel>

      <Panel
        title={t('checks.latency')}
        actions={<Segmented value={range} onChange={(value) => setRange(value)} options={(Object.keys(RANGES) as Range[]).map((value) => ({ value, label: value }))} label={t('checks.range')} size="sm" />}
      >
        {series.error && <ErrorNote>{describeError(series.error)}</ErrorNote>}
        {/* One point has no time span to draw: the chart waits for the second result. */}
        {chart.data[0]!.length > 1 ? (
          <TimeChart testId="check-latency-chart" data={chart.data} series={chart.series} formatValue={(value) => `${Math.round(value)} ms`} ariaLabel={t('checks.latency')} height={200} />
        ) : (
          <p className="text-sm text-slate-500 dark:text-slate-400">{t('checks.noResults')}</p>
        )}
      </Panel>

      <Panel title={t('checks.messages')} bodyClassName="p-0">
        <div className="overflow-x-auto">
          <table className="w-full text-sm" data-testid="check-messages">
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {(history.data?.results ?? []).slice(0, MESSAGES_SHOWN).map((result) => (
                <tr key={`${result.location}-${result.ts}`} data-status={result.status}>
                  <td className="px-4 py-2 text-xs whitespace-nowrap text-slate-500 dark:text-slate-400">{formatDateTime(result.ts, locale)}</td>
                  <td className="px-4 py-2 font-mono text-xs">{result.location}</td>
                  <td className="px-4 py-2">
                    <StatusPill status={result.status} compact />
                  </td>
                  <td className="px-4 py-2 text-xs break-all">{result.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Panel>

      {editing && <CheckDialog check={current} onClose={() => setEditing(false)} onSaved={(saved) => saved.name !== current.name && navigate(checkPath(saved.name), { replace: true })} />}
      <ConfirmDialog
        open={deleting}
        onOpenChange={setDeleting}
        title={t('checks.deleteTitle', { name: current.name })}
        description={t('checks.deleteBody')}
        confirmLabel={t('checks.delete')}
        busy={remove.isPending}
        error={remove.error ? <ErrorNote>{describeError(remove.error)}</ErrorNote> : undefined}
        onConfirm={() =>
          remove.mutate(current.id, {
            onSuccess: () => {
              notify(t('checks.deleted', { name: current.name }));
              navigate('/checks');
            },
          })
        }
      />
    </div>
  );
}
