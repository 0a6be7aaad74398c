import { useMemo } from 'react';
import { usePageTitle } from '../app/page-title.js';
import { describeError } from '../app/query-client.js';
import { useMe } from '../features/accounts/hooks/use-accounts.js';
import { GroupCard, LinkRow, MachineRow } from '../features/network/components/network-parts.js';
import { PingPanel } from '../features/network/components/ping-form.js';
import { RttChartPanel } from '../features/network/components/rtt-chart.js';
import { useNetworkTopology } from '../features/network/hooks/use-network.js';
import { useI18n } from '../i18n/i18n.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../ui/card.js';

/**
 * The network between the machines (issue #19): networks (tailnet, LAN subnet, public address)
 * with their machines, each machine's round trip to the hub, the tailnet links (direct or
 * through a relay), and the machines whose link got worse.
 */
export function NetworkPage() {
  const { t } = useI18n();
  usePageTitle(t('network.title'));
  const topology = useNetworkTopology();
  const machines = useMemo(() => new Map((topology.data?.machines ?? []).map((m) => [m.agentId, m])), [topology.data]);
  const worse = topology.data?.machines.filter((m) => m.worse) ?? [];
  // The hub checks it again (and both machines' scope); without it the form is not offered.
  const canPing = useMe().data?.permissions.includes('commands:exec') ?? false;

  return (
    <div className="flex flex-col gap-6">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{t('network.title')}</h1>
        <p className="mt-1 text-sm text-slate-500 dark:text-slate-400">{t('network.intro')}</p>
      </div>
      {topology.isPending && (
        <div className="flex justify-center p-8">
          <Spinner />
        </div>
      )}
      {topology.error && <ErrorNote onRetry={() => void topology.refetch()}>{describeError(topology.error)}</ErrorNote>}
      {topology.data && (
        <>
          {worse.length > 0 && (
            <div role="status" data-testid="network-worse-banner" className="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800 dark:border-red-900/60 dark:bg-red-950/40 dark:text-red-200">
              {t('network.worseBanner', { names: worse.map((m) => m.name).join(', ') })}
            </div>
          )}
          <Panel title={t('network.groupsTitle')} description={t('network.groupsHint')}>
            {topology.data.groups.length === 0 ? (
              <EmptyState title={t('network.noGroups')} />
            ) : (
              <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
                {topology.data.groups.map((group) => (
                  <GroupCard key={`${group.kind}:${group.key}`} group={group} machines={machines} />
                ))}
              </ul>
            )}
          </Panel>
          <Panel title={t('network.machinesTitle')} bodyClassName="p-0">
            {topology.data.machines.length === 0 ? (
              <EmptyState title={t('network.noMachines')} />
            ) : (
              <div className="overflow-x-auto">
                <table className="w-full text-sm" data-testid="network-machines">
                  <thead className="border-b border-slate-100 text-left text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
                    <tr>
                      <th className="px-4 py-2 font-medium">{t('network.col.machine')}</th>
                      <th className="px-4 py-2 font-medium">{t('network.col.status')}</th>
                      <th className="px-4 py-2 text-right font-medium">{t('network.col.hubRtt')}</th>
                      <th className="px-4 py-2 text-right font-medium">{t('network.col.p50Recent')}</th>
                      <th className="px-4 py-2 text-right font-medium">{t('network.col.p50Baseline')}</th>
                      <th className="px-4 py-2 font-medium">{t('network.col.links')}</th>
                      <th className="px-4 py-2 font-medium">{t('network.col.state')}</th>
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                    {topology.data.machines.map((machine) => (
                      <MachineRow key={machine.agentId} machine={machine} />
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Panel>
          {topology.data.machines.length > 0 && <RttChartPanel machines={topology.data.machines} />}
          {canPing && topology.data.machines.length >= 2 && <PingPanel machines={topology.data.machines} />}
          {topology.data.links.length > 0 && (
            <Panel title={t('network.linksTitle')} description={t('network.linksHint')} bodyClassName="p-0">
              <div className="overflow-x-auto">
                <table className="w-full text-sm" data-testid="network-links">
                  <thead className="border-b border-slate-100 text-left text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
                    <tr>
                      <th className="px-4 py-2 font-medium">{t('network.col.from')}</th>
                      <th className="px-4 py-2 font-medium">{t('network.col.to')}</th>
                      <th className="px-4 py-2 font-medium">{t('network.col.path')}</th>
                      <th className="px-4 py-2 font-medium">{t('network.col.via')}</th>
                      <th className="px-4 py-2 text-right font-medium">{t('network.col.latency')}</th>
                      <th className="px-4 py-2 font-medium" />
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                    {topology.data.links.map((link) => (
                      <LinkRow key={`${link.from}:${link.peerIps[0] ?? link.peerName}`} link={link} machines={machines} />
                    ))}
                  </tbody>
                </table>
              </div>
            </Panel>
          )}
        </>
      )}
    </div>
  );
}
