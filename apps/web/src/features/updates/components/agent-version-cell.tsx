import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import type { FleetMachine } from '../../fleet/fleet-store.js';
import { Pill } from '../../jobs/components/job-parts.js';
import { isOutdated } from '../update-view.js';

/** The fleet table's agent version, marked when the hub has a newer one, with its Update action. */
export function AgentVersionCell({ machine, hubVersion, onUpdate }: { machine: FleetMachine; hubVersion: string | null; onUpdate?: (machine: FleetMachine) => void }) {
  const { t } = useI18n();
  const outdated = isOutdated(machine.agentVersion, hubVersion);
  return (
    <td className="px-3 py-2.5 text-xs whitespace-nowrap text-slate-600 dark:text-slate-400" data-testid="agent-version" data-version={machine.agentVersion ?? ''} data-outdated={outdated}>
      <div className="flex items-center gap-2">
        <span className="tabular-nums">{machine.agentVersion ?? '–'}</span>
        {outdated && (
          <span title={t('agentUpdate.outdatedTitle', { version: hubVersion ?? '' })}>
            <Pill tone="warn">{t('agentUpdate.outdated')}</Pill>
          </span>
        )}
        {onUpdate && machine.agentVersion && (
          <Button size="sm" variant="accentGhost" onClick={() => onUpdate(machine)} aria-label={t('agentUpdate.rowAction', { name: machine.name })} data-testid="agent-update-row">
            {t('agentUpdate.start')}
          </Button>
        )}
      </div>
    </td>
  );
}
