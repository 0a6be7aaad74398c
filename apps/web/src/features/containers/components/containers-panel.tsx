import type { Agent, ContainerRollout, ContainerRolloutTarget, ContainerSample } from '@farol/protocol';
import { useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { cn } from '../../../ui/cn.js';
import { ConfirmDialog } from '../../../ui/dialog.js';
import { formatBytes, formatDateTime, formatPercent } from '../../../ui/format.js';
import { PowerIcon, RestartIcon, TerminalIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { useContainerCommand, useContainerRollouts, useContainers } from '../hooks/use-containers.js';
import { ContainerLogsDialog } from './container-logs-dialog.js';
import { DeployDialog } from './deploy-dialog.js';

const th = 'px-3 py-2 text-left text-xs font-medium whitespace-nowrap text-slate-500 first:pl-0 last:pr-0 dark:text-slate-400';
const td = 'px-3 py-2 first:pl-0 last:pr-0';

type Action = 'docker_restart' | 'docker_stop' | 'docker_start';

const STATE_TEXT: Record<ContainerSample['state'], string> = {
  running: 'text-emerald-700 dark:text-emerald-400',
  restarting: 'text-amber-700 dark:text-amber-400',
  paused: 'text-amber-700 dark:text-amber-400',
  created: 'text-slate-600 dark:text-slate-300',
  removing: 'text-slate-600 dark:text-slate-300',
  exited: 'text-slate-600 dark:text-slate-300',
  dead: 'text-red-700 dark:text-red-400',
  missing: 'text-red-700 dark:text-red-400',
};

const HEALTH_TEXT: Record<ContainerSample['health'], string> = {
  healthy: 'text-emerald-700 dark:text-emerald-400',
  starting: 'text-amber-700 dark:text-amber-400',
  unhealthy: 'text-red-700 dark:text-red-400',
  none: 'text-slate-400 dark:text-slate-500',
};

const shortDigest = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

/** The machine's step in the newest automatic update of this container, if any (issue #18). */
function lastUpdateOf(rollouts: readonly ContainerRollout[] | undefined, agentId: string, name: string): { at: number; state: ContainerRolloutTarget['state'] } | null {
  for (const rollout of rollouts ?? []) {
    if (rollout.container !== name) continue;
    const step = rollout.targets.find((target) => target.agentId === agentId);
    if (step) return { at: rollout.finishedAt ?? rollout.createdAt, state: step.state };
  }
  return null;
}

/** Digest, "update available" and the last automatic update, under the image. */
function UpdateInfo({ container, last }: { container: ContainerSample; last: { at: number; state: ContainerRolloutTarget['state'] } | null }) {
  const { t, locale } = useI18n();
  if (!container.digest && !container.availableDigest && !last) return null;
  return (
    <div className="flex flex-wrap items-center gap-x-2 text-xs text-slate-500 dark:text-slate-400" data-testid="container-update">
      {container.digest && <span className="font-mono" title={container.digest}>{shortDigest(container.digest)}</span>}
      {container.availableDigest && (
        <span className="rounded-full bg-amber-50 px-1.5 py-0.5 text-[10px] font-medium text-amber-800 ring-1 ring-amber-600/20 ring-inset dark:bg-amber-500/10 dark:text-amber-300" title={container.availableDigest}>
          {t('containers.updateAvailable', { digest: shortDigest(container.availableDigest) })}
        </span>
      )}
      {container.autoUpdate && <span>{container.autoUpdateWindow ? t('containers.autoUpdateWindow', { window: container.autoUpdateWindow }) : t('containers.autoUpdate')}</span>}
      {last && <span>{t('containers.lastUpdate', { outcome: t(`containers.update_${last.state}`), at: formatDateTime(last.at, locale) })}</span>}
    </div>
  );
}

/** Confirmation of a restart, stop or start; stays open with the reason when it fails. */
function ActionDialog({ agent, container, action, onClose }: { agent: Agent; container: ContainerSample; action: Action; onClose(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const command = useContainerCommand(agent.id);
  const verb = action === 'docker_restart' ? 'restart' : action === 'docker_stop' ? 'stop' : 'start';
  const failure = command.error
    ? describeError(command.error)
    : command.data && !command.data.ok
      ? command.data.target.error ?? command.data.target.state
      : null;
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={t(`containers.${verb}Title`, { name: container.name, machine: agent.name })}
      description={t(`containers.${verb}Body`, { name: container.name })}
      confirmLabel={t(`containers.${verb}`)}
      busy={command.isPending}
      error={failure ? <ErrorNote>{t('containers.failed', { detail: failure })}</ErrorNote> : undefined}
      onConfirm={() =>
        command.mutate(
          { kind: action, container: container.name },
          {
            onSuccess: (outcome) => {
              if (!outcome.ok) return;
              notify(t(`containers.${verb}Done`, { name: container.name }), { tone: 'success' });
              onClose();
            },
          },
        )
      }
    />
  );
}

/**
 * The machine's Docker containers: state, health, restarts, CPU, memory and the watch badge,
 * with restart / stop / start (confirmed) and the log in a dialog. Nothing is shown for an
 * agent that does not report Docker at all.
 */
export function ContainersPanel({ agent }: { agent: Agent }) {
  const { t, locale } = useI18n();
  const query = useContainers(agent.id, agent.heartbeatIntervalMs ?? 10_000);
  const rollouts = useContainerRollouts();
  const [action, setAction] = useState<{ container: ContainerSample; action: Action } | null>(null);
  const [logsOf, setLogsOf] = useState<ContainerSample | null>(null);
  const [deploying, setDeploying] = useState(false);
  const online = agent.status === 'online';

  if (query.error) {
    return (
      <Panel title={t('containers.title')} data-testid="containers">
        <ErrorNote onRetry={() => void query.refetch()} retryLabel={t('common.retry')}>
          {t('containers.loadError', { detail: describeError(query.error) })}
        </ErrorNote>
      </Panel>
    );
  }
  if (!query.data) {
    return (
      <Panel title={t('containers.title')} data-testid="containers">
        <Spinner className="size-5 text-slate-400" />
      </Panel>
    );
  }
  const { docker, containers } = query.data;
  if (docker === null) return null;
  const unavailable = docker.state !== 'available';
  return (
    <Panel
      title={t('containers.title')}
      description={unavailable ? t(docker.state === 'unavailable' ? 'containers.unavailable' : 'containers.engineError', { detail: docker.error ?? docker.endpoint }) : undefined}
      data-testid="containers"
      actions={
        <Button size="sm" variant="secondary" disabled={!online || unavailable} onClick={() => setDeploying(true)}>
          {t('containers.deploy')}
        </Button>
      }
    >
      {deploying && <DeployDialog agent={agent} onClose={() => setDeploying(false)} />}
      {containers.length === 0 ? (
        <p className="text-sm text-slate-500 dark:text-slate-400">{unavailable ? t('containers.noneWithoutDocker') : t('containers.none')}</p>
      ) : (
        <div className="-mx-4 overflow-x-auto px-4 sm:-mx-5 sm:px-5">
          <table className="w-full text-sm">
            <thead>
              <tr>
                <th scope="col" className={th}>{t('containers.name')}</th>
                <th scope="col" className={th}>{t('containers.state')}</th>
                <th scope="col" className={th}>{t('containers.health')}</th>
                <th scope="col" className={cn(th, 'text-right')}>{t('containers.restarts')}</th>
                <th scope="col" className={cn(th, 'text-right')}>{t('containers.cpu')}</th>
                <th scope="col" className={cn(th, 'hidden text-right sm:table-cell')}>{t('containers.memory')}</th>
                <th scope="col" className={cn(th, 'text-right')}>
                  <span className="sr-only">{t('containers.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {containers.map((container) => {
                const running = container.state === 'running' || container.state === 'restarting';
                const exists = container.state !== 'missing';
                return (
                  <tr key={`${container.id}-${container.name}`} data-testid="container-row" data-name={container.name}>
                    <td className={cn(td, 'max-w-56')}>
                      <div className="flex items-center gap-2">
                        <span className="truncate font-mono text-[13px] text-slate-900 dark:text-slate-100" title={container.image ? `${container.name} · ${container.image}` : container.name}>
                          {container.name}
                        </span>
                        {container.watched && (
                          <span className="rounded-full bg-indigo-50 px-1.5 py-0.5 text-[10px] font-medium text-indigo-700 ring-1 ring-indigo-600/20 ring-inset dark:bg-indigo-500/10 dark:text-indigo-300">
                            {t('containers.watched')}
                          </span>
                        )}
                      </div>
                      {container.image && <div className="truncate text-xs text-slate-500 dark:text-slate-400">{container.image}</div>}
                      <UpdateInfo container={container} last={lastUpdateOf(rollouts.data, agent.id, container.name)} />
                    </td>
                    <td className={cn(td, 'text-xs font-medium whitespace-nowrap', STATE_TEXT[container.state])} data-testid="container-state">
                      {t(`containers.state_${container.state}`)}
                      {container.state === 'exited' && container.exitCode !== null ? ` (${container.exitCode})` : ''}
                    </td>
                    <td className={cn(td, 'text-xs whitespace-nowrap', HEALTH_TEXT[container.health])}>{container.health === 'none' ? '—' : t(`containers.health_${container.health}`)}</td>
                    <td className={cn(td, 'text-right text-xs tabular-nums', container.restartCount > 0 ? 'text-amber-700 dark:text-amber-400' : 'text-slate-600 dark:text-slate-300')}>
                      {exists ? container.restartCount : '—'}
                    </td>
                    <td className={cn(td, 'text-right text-xs text-slate-600 tabular-nums dark:text-slate-300')}>{formatPercent(container.cpuPercent, locale)}</td>
                    <td className={cn(td, 'hidden text-right text-xs whitespace-nowrap text-slate-600 tabular-nums sm:table-cell dark:text-slate-300')}>
                      {container.memoryBytes === null ? '—' : formatBytes(container.memoryBytes, locale)}
                    </td>
                    <td className={cn(td, 'text-right')}>
                      {exists && (
                        <div className="flex justify-end gap-1">
                          <Button size="sm" variant="ghost" disabled={!online} onClick={() => setAction({ container, action: 'docker_restart' })} aria-label={t('containers.restartLabel', { name: container.name })}>
                            <RestartIcon className="size-3.5" />
                            <span className="hidden lg:inline">{t('containers.restart')}</span>
                          </Button>
                          {running ? (
                            <Button size="sm" variant="dangerGhost" disabled={!online} onClick={() => setAction({ container, action: 'docker_stop' })} aria-label={t('containers.stopLabel', { name: container.name })}>
                              <PowerIcon className="size-3.5" />
                              <span className="hidden lg:inline">{t('containers.stop')}</span>
                            </Button>
                          ) : (
                            <Button size="sm" variant="ghost" disabled={!online} onClick={() => setAction({ container, action: 'docker_start' })} aria-label={t('containers.startLabel', { name: container.name })}>
                              <PowerIcon className="size-3.5" />
                              <span className="hidden lg:inline">{t('containers.start')}</span>
                            </Button>
                          )}
                          <Button size="sm" variant="ghost" disabled={!online} onClick={() => setLogsOf(container)} aria-label={t('containers.logsLabel', { name: container.name })}>
                            <TerminalIcon className="size-3.5" />
                            <span className="hidden lg:inline">{t('containers.logs')}</span>
                          </Button>
                        </div>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {action && <ActionDialog agent={agent} container={action.container} action={action.action} onClose={() => setAction(null)} />}
      {logsOf && <ContainerLogsDialog agent={agent} container={logsOf} onClose={() => setLogsOf(null)} />}
    </Panel>
  );
}
