import type { Agent, Rollout, RolloutTarget } from '@farol/protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Spinner } from '../../../ui/card.js';
import { Modal } from '../../../ui/dialog.js';
import { AGENTS_QUERY_KEY } from '../../fleet/hooks/use-fleet.js';
import { Pill } from '../../jobs/components/job-parts.js';
import { useStepUp } from '../../step-up/step-up.js';
import { useAgentBuilds, useCanUpdateAgents, useUpdatesClient } from '../hooks/use-agent-updates.js';
import { offeredBuilds, type UpdatableMachine } from '../update-view.js';

const STEP_TONE: Record<RolloutTarget['state'], 'neutral' | 'active' | 'good' | 'bad' | 'warn'> = {
  pending: 'neutral',
  updating: 'active',
  succeeded: 'good',
  current: 'good',
  failed: 'bad',
  skipped: 'warn',
};

/** Each machine of a rollout: its wave, where it came from and its step. */
function RolloutSteps({ rollout }: { rollout: Rollout }) {
  const { t } = useI18n();
  return (
    <ul className="flex flex-col gap-1.5" data-testid="agent-update-steps">
      {[...rollout.targets]
        .sort((a, b) => a.wave - b.wave || a.agentName.localeCompare(b.agentName))
        .map((target) => (
          <li key={target.agentId} className="flex items-center justify-between gap-3" data-testid="agent-update-step" data-agent-name={target.agentName} data-state={target.state}>
            <span className="min-w-0 truncate">
              <span className="font-medium">{target.agentName}</span>{' '}
              <span className="text-xs text-slate-500 dark:text-slate-400">{t('agentUpdate.stepFrom', { wave: target.wave + 1, version: target.fromVersion ?? '?' })}</span>
            </span>
            <Pill tone={STEP_TONE[target.state]}>{t(`agentUpdate.step.${target.state}`)}</Pill>
          </li>
        ))}
    </ul>
  );
}

/**
 * Offers the builds the hub has, starts the rollout `farol agents update` starts (one machine,
 * then a percentage, then the rest; it stops at the first failure) and follows it (issue #15).
 * The hub asks for a recent second factor (step-up) and checks every machine is in scope.
 */
export function AgentUpdateDialog({ machines, onClose }: { machines: readonly UpdatableMachine[]; onClose(): void }) {
  const { t } = useI18n();
  const client = useUpdatesClient();
  const stepUp = useStepUp();
  const queryClient = useQueryClient();
  const builds = useAgentBuilds();
  const single = machines.length === 1 ? machines[0]! : null;
  const offered = offeredBuilds(builds.data ?? [], machines);
  const [version, setVersion] = useState<string | null>(null);
  const chosen = version ?? offered[0]?.version ?? null;
  const [rollout, setRollout] = useState<Rollout | null>(null);
  const start = useMutation({
    mutationFn: (wanted: string) => stepUp.run(() => client.updateAgents({ targets: { agents: machines.map((machine) => machine.id) }, version: wanted })),
    onSuccess: setRollout,
  });

  // Follows the rollout until it ends (each machine restarts and answers within about a minute).
  useEffect(() => {
    if (!rollout) return;
    if (rollout.state !== 'running') {
      // The machines now report their new version: the fleet and machine pages read it again.
      void queryClient.invalidateQueries({ queryKey: AGENTS_QUERY_KEY });
      void queryClient.invalidateQueries({ queryKey: ['agent'] });
      return;
    }
    const timer = setTimeout(() => {
      client.getRollout(rollout.id).then(setRollout, () => setRollout({ ...rollout }));
    }, 1_000);
    return () => clearTimeout(timer);
  }, [client, queryClient, rollout]);
  const step = single ? rollout?.targets.find((target) => target.agentId === single.id) : undefined;

  let outcome: string | null = null;
  if (rollout?.state === 'running') outcome = t('agentUpdate.running', { version: rollout.version });
  else if (rollout?.state === 'succeeded') outcome = t('agentUpdate.done', { version: rollout.version });
  else if (rollout) outcome = t('agentUpdate.failed', { error: step?.error ?? rollout.error ?? '' });

  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={single ? t('agentUpdate.title', { name: single.name }) : t('agentUpdate.titleMany', { n: machines.length })}>
      <div className="flex flex-col gap-4 text-sm" data-testid="agent-update-dialog">
        {single ? (
          <p className="text-slate-600 dark:text-slate-300">{t('agentUpdate.current', { version: single.agentVersion ?? '?' })}</p>
        ) : (
          <p className="text-slate-600 dark:text-slate-300">{t('agentUpdate.waves', { names: machines.map((machine) => machine.name).join(', ') })}</p>
        )}
        {builds.isPending && <Spinner className="size-5" />}
        {builds.error && <ErrorNote>{describeError(builds.error)}</ErrorNote>}
        {builds.data && offered.length === 0 && <p data-testid="agent-update-none">{t('agentUpdate.none')}</p>}
        {offered.length > 0 && !rollout && (
          <label className="flex items-center gap-2">
            {t('agentUpdate.version')}
            <select
              className="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-700 dark:bg-slate-900"
              value={chosen ?? ''}
              onChange={(event) => setVersion(event.target.value)}
              data-testid="agent-update-version"
            >
              {offered.map((build) => (
                <option key={build.version} value={build.version}>
                  {build.own ? t('agentUpdate.own', { version: build.version }) : build.version}
                </option>
              ))}
            </select>
          </label>
        )}
        {start.error && <ErrorNote>{describeError(start.error)}</ErrorNote>}
        {rollout && outcome && (
          <p role="status" data-testid="agent-update-state" data-state={step?.state ?? rollout.state}>
            {outcome}
          </p>
        )}
        {rollout && !single && <RolloutSteps rollout={rollout} />}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>{rollout ? t('common.close') : t('common.cancel')}</Button>
          {!rollout && (
            <Button variant="primary" disabled={!chosen || start.isPending} onClick={() => chosen && start.mutate(chosen)} data-testid="agent-update-start">
              {t('agentUpdate.start')}
            </Button>
          )}
        </div>
      </div>
    </Modal>
  );
}

/** The "Update agent" button of a machine page; shown only to users who may update agents. */
export function AgentUpdateButton({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  const canUpdate = useCanUpdateAgents();
  const [open, setOpen] = useState(false);
  if (!canUpdate) return null;
  return (
    <>
      <Button size="sm" onClick={() => setOpen(true)} data-testid="agent-update-button">
        {t('agentUpdate.button')}
      </Button>
      {open && <AgentUpdateDialog machines={[{ id: agent.id, name: agent.name, agentVersion: agent.system?.agentVersion ?? null }]} onClose={() => setOpen(false)} />}
    </>
  );
}
