import { useI18n } from '../../../i18n/i18n.js';
import { Panel } from '../../../ui/card.js';
import { cn } from '../../../ui/cn.js';
import { formatDateTime } from '../../../ui/format.js';
import { useContainerRollouts } from '../hooks/use-containers.js';

const STATE_TEXT = {
  running: 'text-amber-700 dark:text-amber-400',
  succeeded: 'text-emerald-700 dark:text-emerald-400',
  failed: 'text-red-700 dark:text-red-400',
} as const;

/**
 * The fleet's recent automatic container updates (issue #18): container, digest, outcome and
 * each machine's step. Hidden while there are none.
 */
export function ContainerUpdatesPanel() {
  const { t, locale } = useI18n();
  const rollouts = useContainerRollouts();
  const recent = (rollouts.data ?? []).slice(0, 5);
  if (recent.length === 0) return null;
  return (
    <Panel title={t('containers.updatesTitle')} data-testid="container-updates">
      <ul className="divide-y divide-slate-100 text-sm dark:divide-slate-800">
        {recent.map((rollout) => (
          <li key={rollout.id} className="flex flex-wrap items-baseline gap-x-3 gap-y-1 py-2" data-testid="container-rollout">
            <span className="font-mono text-[13px] text-slate-900 dark:text-slate-100">{rollout.container}</span>
            <span className="font-mono text-xs text-slate-500 dark:text-slate-400" title={rollout.digest}>
              {rollout.digest.replace(/^sha256:/, '').slice(0, 12)}
            </span>
            <span className={cn('text-xs font-medium', STATE_TEXT[rollout.state])}>{t(`containers.rollout_${rollout.state}`)}</span>
            <span className="text-xs text-slate-600 dark:text-slate-300">
              {rollout.targets.map((target) => `${target.agentName}: ${t(`containers.update_${target.state}`)}`).join(' · ')}
            </span>
            <span className="ml-auto text-xs text-slate-500 dark:text-slate-400">{formatDateTime(rollout.finishedAt ?? rollout.createdAt, locale)}</span>
          </li>
        ))}
      </ul>
    </Panel>
  );
}
