import { memo } from 'react';
import { Link, machinePath } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { RelativeTime } from '../../../ui/clock.js';
import { cn } from '../../../ui/cn.js';
import { formatPercent, usageLevel } from '../../../ui/format.js';
import { Sparkline } from '../../../ui/sparkline.js';
import { LabelChip, StatusDot, USAGE_TEXT, UsageBar } from '../../../ui/status.js';
import type { FleetMachine } from '../fleet-store.js';
import type { Health } from '../fleet-view.js';
import { useSeedWhenVisible } from '../hooks/use-fleet.js';

const MAX_LABELS = 3;

export function systemLine(machine: FleetMachine): string {
  return [machine.distro ?? machine.os, machine.arch].filter(Boolean).join(' · ');
}

export function Usage({ label, percent, dim }: { label: string; percent: number | null; dim: boolean }) {
  const { locale } = useI18n();
  return (
    <div className="grid grid-cols-[3.5rem_1fr_3rem] items-center gap-2 text-xs">
      <span className="text-slate-500 dark:text-slate-400">{label}</span>
      <UsageBar percent={percent} label={label} className={cn(dim && 'opacity-50')} />
      <span className={cn('text-right font-medium tabular-nums', dim ? USAGE_TEXT.unknown : USAGE_TEXT[usageLevel(percent)])}>{formatPercent(percent, locale)}</span>
    </div>
  );
}

/** Up to `max` label chips and a "+n", on one line (windowed lists need rows of one height). */
export function Labels({ labels, max = MAX_LABELS }: { labels: Record<string, string>; max?: number }) {
  const { t } = useI18n();
  const entries = Object.entries(labels);
  if (entries.length === 0) return null;
  return (
    <div className="flex min-w-0 gap-1 overflow-hidden">
      {entries.slice(0, max).map(([key, value]) => (
        <LabelChip key={key} labelKey={key} value={value} />
      ))}
      {entries.length > max && (
        <span className="rounded-md px-1 py-0.5 text-[11px] text-slate-500 dark:text-slate-400" title={entries.slice(max).map(([k, v]) => `${k}=${v}`).join(', ')}>
          {t('fleet.moreLabels', { n: entries.length - max })}
        </span>
      )}
    </div>
  );
}

/**
 * One machine in the fleet grid. Memoized: a live update re-renders only the cards whose
 * machine object changed (the store keeps the others' identity).
 */
export const MachineCard = memo(function MachineCard({ machine, health }: { machine: FleetMachine; health: Health }) {
  const { t } = useI18n();
  const seedRef = useSeedWhenVisible(machine.id);
  const dim = health === 'offline' || health === 'never';
  const system = systemLine(machine);
  return (
    <Link
      to={machinePath(machine.name)}
      data-testid="machine-card"
      data-agent-name={machine.name}
      data-health={health}
      className={cn(
        'group flex flex-col gap-3 rounded-xl border bg-white p-4 shadow-sm transition-[border-color,box-shadow]',
        'border-slate-200 hover:border-indigo-300 hover:shadow-md focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500',
        'dark:border-slate-800 dark:bg-slate-900 dark:hover:border-indigo-500/50',
        // A live update relayouts and repaints this card only.
        '[contain:content]',
      )}
    >
      <div className="flex items-start gap-2.5">
        <StatusDot health={health} label={t(`status.${health}`)} className="mt-1.5" />
        <div className="min-w-0 flex-1">
          <h3 className="truncate text-[15px] font-semibold text-slate-900 group-hover:text-indigo-700 dark:text-slate-100 dark:group-hover:text-indigo-300">{machine.name}</h3>
          <p className="truncate text-xs text-slate-500 dark:text-slate-400">
            {machine.hostname !== machine.name ? machine.hostname : null}
            {machine.hostname !== machine.name && system ? ' · ' : null}
            {system}
          </p>
        </div>
        <RelativeTime at={machine.lastSeen} className={cn('shrink-0 pt-0.5 text-xs tabular-nums', health === 'late' ? 'text-amber-600 dark:text-amber-400' : 'text-slate-400 dark:text-slate-500')} />
      </div>
      <div className="h-5">
        <Labels labels={machine.labels} />
      </div>
      <div className="flex flex-col gap-1.5">
        <Usage label={t('metric.cpu')} percent={machine.cpu} dim={dim} />
        <Usage label={t('metric.memory')} percent={machine.memory} dim={dim} />
        <Usage label={t('metric.disk')} percent={machine.disk} dim={dim} />
      </div>
      <div ref={seedRef} className={cn('-mx-1 -mb-1', dim && 'opacity-50')}>
        <Sparkline values={machine.cpuHistory.map((point) => point.value)} label={t('fleet.cpuTrend', { n: machine.cpuHistory.length })} />
      </div>
    </Link>
  );
});
