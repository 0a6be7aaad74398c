import { useMemo, useState } from 'react';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import type { FleetMachine } from '../../fleet/fleet-store.js';
import { useAgentBuilds, useCanUpdateAgents } from '../hooks/use-agent-updates.js';
import { hubVersionOf, isOutdated } from '../update-view.js';
import { AgentUpdateDialog } from './agent-update-button.js';

/**
 * Above the fleet: how many of the machines shown run an older agent than the hub's, and (for
 * users who may) one button that updates them all in waves, like `farol agents update`.
 */
export function AgentUpdatesBar({ machines }: { machines: readonly FleetMachine[] }) {
  const { t, plural } = useI18n();
  const hubVersion = hubVersionOf(useAgentBuilds().data);
  const canUpdate = useCanUpdateAgents();
  const [open, setOpen] = useState(false);
  const outdated = useMemo(() => machines.filter((machine) => isOutdated(machine.agentVersion, hubVersion)), [machines, hubVersion]);
  // Kept while the dialog follows the rollout, though the machines stop being outdated.
  const [chosen, setChosen] = useState<FleetMachine[]>([]);
  if (outdated.length === 0 && !open) return null;
  return (
    <div className="flex flex-wrap items-center justify-between gap-3 rounded-xl border border-amber-200 bg-amber-50 px-4 py-2.5 text-sm text-amber-900 dark:border-amber-500/30 dark:bg-amber-500/10 dark:text-amber-200" data-testid="agent-updates-bar">
      <span data-testid="agent-updates-count" data-count={outdated.length}>
        {plural('agentUpdate.outdatedCount', outdated.length, { version: hubVersion ?? '' })}
      </span>
      {canUpdate && outdated.length > 0 && (
        <Button
          size="sm"
          onClick={() => {
            setChosen(outdated);
            setOpen(true);
          }}
          data-testid="agent-updates-all"
        >
          {t('agentUpdate.updateAll')}
        </Button>
      )}
      {open && <AgentUpdateDialog machines={chosen.map((machine) => ({ id: machine.id, name: machine.name, agentVersion: machine.agentVersion ?? null }))} onClose={() => setOpen(false)} />}
    </div>
  );
}
