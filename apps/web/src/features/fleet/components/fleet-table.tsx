import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { Link, machinePath, navigate } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { RelativeTime } from '../../../ui/clock.js';
import { cn } from '../../../ui/cn.js';
import { formatPercent, usageLevel } from '../../../ui/format.js';
import { Sparkline } from '../../../ui/sparkline.js';
import { StatusDot, USAGE_TEXT, UsageBar } from '../../../ui/status.js';
import { useWindowRows } from '../../../ui/window-rows.js';
import { AgentVersionCell } from '../../updates/components/agent-version-cell.js';
import { AgentUpdateDialog } from '../../updates/components/agent-update-button.js';
import { useAgentBuilds, useCanUpdateAgents } from '../../updates/hooks/use-agent-updates.js';
import { hubVersionOf } from '../../updates/update-view.js';
import type { FleetMachine } from '../fleet-store.js';
import type { FleetRow, Health } from '../fleet-view.js';
import { useSeedWhenVisible } from '../hooks/use-fleet.js';
import { Labels, systemLine } from './machine-card.js';

function UsageCell({ percent, label, dim }: { percent: number | null; label: string; dim: boolean }) {
  const { locale } = useI18n();
  return (
    <td className="px-3 py-2.5">
      <div className="flex w-28 items-center gap-2">
        <UsageBar percent={percent} label={label} className={cn('flex-1', dim && 'opacity-50')} />
        <span className={cn('w-11 text-right text-xs font-medium tabular-nums', dim ? USAGE_TEXT.unknown : USAGE_TEXT[usageLevel(percent)])}>{formatPercent(percent, locale)}</span>
      </div>
    </td>
  );
}

/** How many of the machine's containers have an update available (issue #18). */
function UpdatesCell({ count }: { count: number | null | undefined }) {
  const { t } = useI18n();
  if (count === null || count === undefined) return <td className="px-3 py-2.5 text-xs text-slate-400 dark:text-slate-500">—</td>;
  return (
    <td className="px-3 py-2.5">
      {count > 0 ? (
        <span
          data-testid="updates-available"
          title={t('fleet.updatesAvailable', { n: count })}
          className="inline-flex min-w-6 justify-center rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-800 tabular-nums dark:bg-amber-900/40 dark:text-amber-200"
        >
          {count}
        </span>
      ) : (
        <span data-testid="updates-available" title={t('fleet.updatesNone')} className="text-xs text-slate-400 tabular-nums dark:text-slate-500">
          0
        </span>
      )}
    </td>
  );
}

const MachineRow = memo(function MachineRow({
  machine,
  health,
  hubVersion,
  onUpdate,
}: {
  machine: FleetMachine;
  health: Health;
  hubVersion: string | null;
  /** Absent for users who may not update agents. */
  onUpdate?: (machine: FleetMachine) => void;
}) {
  const { t } = useI18n();
  const seedRef = useSeedWhenVisible(machine.id);
  const dim = health === 'offline' || health === 'never';
  return (
    // The name is the link for keyboards and screen readers; the row click is a shortcut for mice.
    <tr
      data-testid="machine-row"
      data-agent-name={machine.name}
      onClick={(event) => {
        if (!(event.target as HTMLElement).closest('a, button')) navigate(machinePath(machine.name));
      }}
      className="cursor-pointer border-t border-slate-100 hover:bg-slate-50 dark:border-slate-800 dark:hover:bg-slate-800/40"
    >
      <td className="max-w-64 px-3 py-2.5 whitespace-nowrap">
        <div className="flex items-center gap-2.5">
          <StatusDot health={health} label={t(`status.${health}`)} />
          <div className="min-w-0">
            <Link to={machinePath(machine.name)} className="block truncate font-medium text-slate-900 hover:text-indigo-700 dark:text-slate-100 dark:hover:text-indigo-300">
              {machine.name}
            </Link>
            {machine.hostname !== machine.name && <div className="truncate text-xs text-slate-500 dark:text-slate-400">{machine.hostname}</div>}
          </div>
        </div>
      </td>
      <td className="max-w-56 px-3 py-2.5">
        <Labels labels={machine.labels} max={2} />
      </td>
      <td className="max-w-48 truncate px-3 py-2.5 text-xs text-slate-600 dark:text-slate-400">{systemLine(machine)}</td>
      <AgentVersionCell machine={machine} hubVersion={hubVersion} onUpdate={onUpdate} />
      <UsageCell percent={machine.cpu} label={t('metric.cpu')} dim={dim} />
      <UsageCell percent={machine.memory} label={t('metric.memory')} dim={dim} />
      <UsageCell percent={machine.disk} label={t('metric.disk')} dim={dim} />
      <UpdatesCell count={machine.updatesAvailable} />
      <td className="px-3 py-2.5">
        <div ref={seedRef} className={cn('w-28', dim && 'opacity-50')}>
          <Sparkline values={machine.cpuHistory.map((point) => point.value)} label={t('fleet.cpuTrend', { n: machine.cpuHistory.length })} className="h-6" />
        </div>
      </td>
      <td className="px-3 py-2.5 text-right text-xs whitespace-nowrap text-slate-500 tabular-nums dark:text-slate-400">
        <RelativeTime at={machine.lastSeen} />
      </td>
    </tr>
  );
});

const ROW_HEIGHT_ESTIMATE = 53;

/** The compact view for wide screens: one row per machine, windowed like the cards. */
export function FleetTable({ rows }: { rows: readonly FleetRow[] }) {
  const { t } = useI18n();
  const bodyRef = useRef<HTMLTableSectionElement>(null);
  const [rowHeight, setRowHeight] = useState(ROW_HEIGHT_ESTIMATE);
  const { start, end } = useWindowRows(bodyRef, rows.length, rowHeight, 10);
  const hubVersion = hubVersionOf(useAgentBuilds().data);
  const canUpdate = useCanUpdateAgents();
  // The dialog lives outside the rows: events from its portal would bubble to a row's click.
  const [updating, setUpdating] = useState<FleetMachine | null>(null);
  const openUpdate = useCallback((machine: FleetMachine) => setUpdating(machine), []);

  useEffect(() => {
    const body = bodyRef.current;
    if (!body) return;
    const observer = new ResizeObserver(() => {
      const first = body.querySelector<HTMLElement>('tr[data-testid=machine-row]');
      if (first && first.offsetHeight > 0) setRowHeight(first.offsetHeight);
    });
    observer.observe(body);
    return () => observer.disconnect();
  }, []);

  const th = 'px-3 py-2.5 text-left text-xs font-medium text-slate-500 dark:text-slate-400';
  return (
    <div className="overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <table className="w-full text-sm">
        <thead className="bg-slate-50/80 dark:bg-slate-900">
          <tr>
            <th scope="col" className={th}>{t('fleet.column.machine')}</th>
            <th scope="col" className={th}>{t('fleet.column.labels')}</th>
            <th scope="col" className={th}>{t('fleet.column.system')}</th>
            <th scope="col" className={th}>{t('fleet.column.agent')}</th>
            <th scope="col" className={th}>{t('metric.cpu')}</th>
            <th scope="col" className={th}>{t('metric.memory')}</th>
            <th scope="col" className={th}>{t('metric.disk')}</th>
            <th scope="col" className={th}>{t('fleet.column.updates')}</th>
            <th scope="col" className={th}>{t('fleet.column.cpuTrend')}</th>
            <th scope="col" className={cn(th, 'text-right')}>{t('fleet.lastSeen')}</th>
          </tr>
        </thead>
        <tbody ref={bodyRef}>
          {start > 0 && <tr aria-hidden="true" style={{ height: start * rowHeight }} />}
          {rows.slice(start, end).map((row) => (
            <MachineRow key={row.machine.id} machine={row.machine} health={row.health} hubVersion={hubVersion} onUpdate={canUpdate ? openUpdate : undefined} />
          ))}
          {end < rows.length && <tr aria-hidden="true" style={{ height: (rows.length - end) * rowHeight }} />}
        </tbody>
      </table>
      {updating && <AgentUpdateDialog machines={[{ id: updating.id, name: updating.name, agentVersion: updating.agentVersion ?? null }]} onClose={() => setUpdating(null)} />}
    </div>
  );
}
