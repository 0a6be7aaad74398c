import { FarolApiError } from '@farol/client';
import type { Agent } from '@farol/protocol';
import { useMemo } from 'react';
import { usePageTitle } from '../app/page-title.js';
import { describeError } from '../app/query-client.js';
import { Link } from '../app/router.js';
import { machineFromAgent } from '../features/fleet/fleet-store.js';
import { healthOf } from '../features/fleet/fleet-view.js';
import { ContainersPanel } from '../features/containers/components/containers-panel.js';
import { MachineCommandActions } from '../features/jobs/components/machine-command-actions.js';
import { useFleetSnapshot } from '../features/fleet/hooks/use-fleet.js';
import { ScreenshotButton } from '../features/screenshot/components/screenshot-button.js';
import { AgentUpdateButton } from '../features/updates/components/agent-update-button.js';
import { TerminalButton } from '../features/terminal/components/terminal-button.js';
import { HistoryCharts } from '../features/machine/components/history-charts.js';
import { LiveCharts } from '../features/machine/components/live-charts.js';
import { MachineHeader } from '../features/machine/components/machine-header.js';
import { FilesystemsPanel, GpusPanel, InterfacesPanel, ProcessesPanel } from '../features/machine/components/sample-tables.js';
import { SystemPanel } from '../features/machine/components/system-panel.js';
import { useAgent, useFollowAgentUpdates, useLiveSamples } from '../features/machine/hooks/use-machine.js';
import { useI18n } from '../i18n/i18n.js';
import { buttonClasses } from '../ui/button.js';
import { EmptyState, ErrorNote, Spinner } from '../ui/card.js';
import { useNow } from '../ui/clock.js';
import { ServerIcon } from '../ui/icons.js';

/** A machine: status, facts, live charts, history and its last sample's details. */
export function MachinePage({ name }: { name: string }) {
  const { t } = useI18n();
  const agentQuery = useAgent(name);
  usePageTitle(name);

  if (agentQuery.error instanceof FarolApiError && agentQuery.error.code === 'not_found') {
    return (
      <EmptyState
        icon={<ServerIcon className="size-6" />}
        title={<span role="heading" aria-level={1}>{t('machine.notFoundTitle')}</span>}
        action={
          <Link to="/" className={buttonClasses('primary')}>
            {t('machine.back')}
          </Link>
        }
      >
        {t('machine.notFoundBody', { name })}
      </EmptyState>
    );
  }
  if (!agentQuery.data) {
    if (agentQuery.error) return <ErrorNote onRetry={() => void agentQuery.refetch()} retryLabel={t('common.retry')}>{t('machine.loadError', { detail: describeError(agentQuery.error) })}</ErrorNote>;
    return (
      <div className="flex justify-center py-24 text-slate-400">
        <Spinner className="size-6" />
      </div>
    );
  }
  return <MachineView agent={agentQuery.data} />;
}

function MachineView({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  const snapshot = useFleetSnapshot();
  const now = useNow(5_000);
  // The fleet store hears status changes the moment they happen; the REST copy may be older.
  const known = snapshot.machines.get(agent.id);
  const machine = useMemo(() => known ?? machineFromAgent(agent), [known, agent]);
  const health = healthOf(machine, now);
  const live = useLiveSamples(agent.id, machine.status === 'online');
  useFollowAgentUpdates(agent);
  const sample = live.samples.at(-1) ?? agent.latest;
  const current = useMemo(() => ({ ...agent, status: machine.status, lastSeen: machine.lastSeen }), [agent, machine.status, machine.lastSeen]);

  return (
    <div className="flex flex-col gap-6" data-testid="machine-page" data-agent-id={agent.id}>
      <MachineHeader agent={current} health={health} />
      {/* The machine's actions: each feature adds its buttons here (containers, terminal, screenshot). */}
      <div className="flex flex-wrap items-center gap-2" data-testid="machine-actions">
        <MachineCommandActions agent={current} />
        <ScreenshotButton agent={current} />
        <TerminalButton agent={current} />
        <AgentUpdateButton agent={current} />
      </div>
      {!sample && <p className="text-sm text-slate-500 dark:text-slate-400">{t('machine.noSample')}</p>}
      <LiveCharts samples={live.samples} state={live.state} />
      <div className="grid gap-6 lg:grid-cols-5">
        <div className="flex min-w-0 flex-col gap-6 lg:col-span-3">
          <ProcessesPanel sample={sample} />
          <FilesystemsPanel sample={sample} />
        </div>
        <div className="flex min-w-0 flex-col gap-6 lg:col-span-2">
          <SystemPanel agent={agent} sample={sample} />
          <InterfacesPanel sample={sample} ips={agent.system?.ips ?? []} />
        </div>
      </div>
      <ContainersPanel agent={current} />
      {sample && sample.gpus.length > 0 && <GpusPanel sample={sample} />}
      <HistoryCharts agentId={agent.id} />
    </div>
  );
}
