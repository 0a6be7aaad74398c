import type { Agent, HeartbeatSample } from '@farol/protocol';
import type { ReactNode } from 'react';
import { useI18n } from '../../../i18n/i18n.js';
import { Panel } from '../../../ui/card.js';
import { formatBytes, formatDateTime, formatDuration, formatNumber } from '../../../ui/format.js';

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[8.5rem_1fr] gap-3 py-2 text-sm first:pt-0 last:pb-0 sm:grid-cols-[10rem_1fr]">
      <dt className="text-slate-500 dark:text-slate-400">{term}</dt>
      <dd className="min-w-0 break-words text-slate-900 dark:text-slate-100">{children}</dd>
    </div>
  );
}

export function TailscaleBadge() {
  const { t } = useI18n();
  return <span className="rounded bg-sky-50 px-1.5 py-0.5 text-[10px] font-semibold tracking-wide text-sky-700 uppercase ring-1 ring-sky-600/20 ring-inset dark:bg-sky-500/10 dark:text-sky-300 dark:ring-sky-400/30">{t('system.tailscale')}</span>;
}

/** The machine's facts: OS, kernel, CPU, memory, addresses, agent, uptime. */
export function SystemPanel({ agent, sample }: { agent: Agent; sample: HeartbeatSample | null }) {
  const { t, plural, locale } = useI18n();
  const system = agent.system;
  if (!system) {
    return (
      <Panel title={t('system.title')}>
        <p className="text-sm text-slate-500 dark:text-slate-400">{t('system.unknown')}</p>
      </Panel>
    );
  }
  const load = sample?.cpu.load;
  return (
    <Panel title={t('system.title')} data-testid="system-panel">
      <dl className="divide-y divide-slate-100 dark:divide-slate-800">
        <Fact term={t('system.hostname')}>
          <span className="font-mono text-[13px]">{system.hostname}</span>
        </Fact>
        <Fact term={t('system.os')}>{[system.distro || system.os, system.release].filter(Boolean).join(' ')} <span className="text-slate-500 dark:text-slate-400">({system.os})</span></Fact>
        <Fact term={t('system.kernel')}>{system.kernel || '—'}</Fact>
        <Fact term={t('system.arch')}>{system.arch}</Fact>
        <Fact term={t('system.cpu')}>
          {system.cpuModel || t('common.unknown')} <span className="text-slate-500 dark:text-slate-400">· {plural('system.cores', system.cpuCores)}</span>
        </Fact>
        <Fact term={t('system.memory')}>{formatBytes(system.memoryTotal, locale)}</Fact>
        {sample?.memory && sample.memory.swapTotal > 0 && <Fact term={t('system.swap')}>{formatBytes(sample.memory.swapTotal, locale)}</Fact>}
        <Fact term={t('system.addresses')}>
          {system.ips.length === 0 ? (
            '—'
          ) : (
            <ul className="flex flex-col gap-1">
              {system.ips.map((ip) => (
                <li key={`${ip.interface}-${ip.address}`} className="flex flex-wrap items-center gap-x-2 gap-y-0.5">
                  <span className="font-mono text-[13px]">{ip.address}</span>
                  <span className="text-xs text-slate-500 dark:text-slate-400">{ip.interface}</span>
                  {ip.isTailscale && <TailscaleBadge />}
                </li>
              ))}
            </ul>
          )}
        </Fact>
        <Fact term={t('system.uptime')}>{formatDuration(sample?.uptimeSeconds)}</Fact>
        {load && (
          <Fact term={t('system.load')}>
            <span className="tabular-nums">{load.map((value) => formatNumber(value, locale, 2)).join(' · ')}</span>
          </Fact>
        )}
        {sample?.processCount != null && <Fact term={t('system.processes')}>{formatNumber(sample.processCount, locale, 0)}</Fact>}
        <Fact term={t('system.agentVersion')}>{system.agentVersion}</Fact>
        <Fact term={t('system.enrolled')}>{formatDateTime(agent.createdAt, locale)}</Fact>
        <Fact term={t('system.fingerprint')}>
          <span className="font-mono text-xs break-all text-slate-600 dark:text-slate-300">{agent.keyFingerprint}</span>
        </Fact>
      </dl>
    </Panel>
  );
}
