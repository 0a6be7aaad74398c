import * as Tabs from '@radix-ui/react-tabs';
import type { HeartbeatSample, IpAddress, ProcessSample } from '@farol/protocol';
import { useI18n } from '../../../i18n/i18n.js';
import { Panel } from '../../../ui/card.js';
import { cn } from '../../../ui/cn.js';
import { formatBytes, formatNumber, formatPercent, formatRate, usageLevel } from '../../../ui/format.js';
import { USAGE_TEXT, UsageBar } from '../../../ui/status.js';
import { TailscaleBadge } from './system-panel.js';

const th = 'px-3 py-2 text-left text-xs font-medium whitespace-nowrap text-slate-500 first:pl-0 last:pr-0 dark:text-slate-400';
const td = 'px-3 py-2 first:pl-0 last:pr-0';

function Empty({ children }: { children: string }) {
  return <p className="text-sm text-slate-500 dark:text-slate-400">{children}</p>;
}

export function FilesystemsPanel({ sample }: { sample: HeartbeatSample | null }) {
  const { t, locale } = useI18n();
  const filesystems = sample?.filesystems ?? [];
  return (
    <Panel title={t('fs.title')} data-testid="filesystems">
      {filesystems.length === 0 ? (
        <Empty>{t('fs.none')}</Empty>
      ) : (
        <div className="-mx-4 overflow-x-auto px-4 sm:-mx-5 sm:px-5">
          <table className="w-full text-sm">
            <thead>
              <tr>
                <th scope="col" className={th}>{t('fs.mount')}</th>
                <th scope="col" className={cn(th, 'hidden md:table-cell')}>{t('fs.device')}</th>
                <th scope="col" className={cn(th, 'hidden sm:table-cell')}>{t('fs.type')}</th>
                <th scope="col" className={cn(th, 'text-right')}>{t('fs.used')}</th>
                <th scope="col" className={cn(th, 'w-1/3')}>
                  <span className="sr-only">%</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {filesystems.map((fs) => (
                <tr key={`${fs.mount}-${fs.device}`}>
                  <td className={cn(td, 'max-w-48 truncate font-mono text-[13px] text-slate-900 dark:text-slate-100')} title={fs.mount}>{fs.mount}</td>
                  <td className={cn(td, 'hidden max-w-48 truncate text-xs text-slate-500 md:table-cell dark:text-slate-400')} title={fs.device}>{fs.device}</td>
                  <td className={cn(td, 'hidden text-xs text-slate-500 sm:table-cell dark:text-slate-400')}>{fs.type}</td>
                  <td className={cn(td, 'text-right text-xs whitespace-nowrap text-slate-600 tabular-nums dark:text-slate-300')}>
                    {formatBytes(fs.used, locale)} / {formatBytes(fs.size, locale)}
                  </td>
                  <td className={td}>
                    <div className="flex items-center gap-2">
                      <UsageBar percent={fs.percent} label={fs.mount} className="flex-1" />
                      <span className={cn('w-12 text-right text-xs font-medium tabular-nums', USAGE_TEXT[usageLevel(fs.percent)])}>{formatPercent(fs.percent, locale)}</span>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}

export function InterfacesPanel({ sample, ips }: { sample: HeartbeatSample | null; ips: readonly IpAddress[] }) {
  const { t, locale } = useI18n();
  const interfaces = sample?.network?.interfaces ?? [];
  return (
    <Panel title={t('net.title')} data-testid="interfaces">
      {interfaces.length === 0 ? (
        <Empty>{t('net.none')}</Empty>
      ) : (
        <div className="-mx-4 overflow-x-auto px-4 sm:-mx-5 sm:px-5">
          <table className="w-full text-sm">
            <thead>
              <tr>
                <th scope="col" className={th}>{t('net.interface')}</th>
                <th scope="col" className={cn(th, 'text-right')}>{t('net.rx')}</th>
                <th scope="col" className={cn(th, 'text-right')}>{t('net.tx')}</th>
                <th scope="col" className={cn(th, 'hidden sm:table-cell')}>{t('net.addresses')}</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {interfaces.map((nic) => {
                const addresses = ips.filter((ip) => ip.interface === nic.name);
                return (
                  <tr key={nic.name}>
                    <td className={cn(td, 'font-mono text-[13px] text-slate-900 dark:text-slate-100')}>
                      <span className="flex items-center gap-2">
                        {nic.name}
                        {addresses.some((ip) => ip.isTailscale) && <TailscaleBadge />}
                      </span>
                    </td>
                    <td className={cn(td, 'text-right text-xs whitespace-nowrap tabular-nums')}>{formatRate(nic.rxBps, locale)}</td>
                    <td className={cn(td, 'text-right text-xs whitespace-nowrap tabular-nums')}>{formatRate(nic.txBps, locale)}</td>
                    <td className={cn(td, 'hidden font-mono text-xs text-slate-500 sm:table-cell dark:text-slate-400')}>{addresses.map((ip) => ip.address).join(', ') || '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}

function ProcessTable({ processes }: { processes: readonly ProcessSample[] }) {
  const { t, locale } = useI18n();
  if (processes.length === 0) return <Empty>{t('proc.none')}</Empty>;
  return (
    <div className="-mx-4 overflow-x-auto px-4 sm:-mx-5 sm:px-5">
      <table className="w-full text-sm" data-testid="process-table">
        <thead>
          <tr>
            <th scope="col" className={th}>{t('proc.name')}</th>
            <th scope="col" className={cn(th, 'hidden sm:table-cell')}>{t('proc.pid')}</th>
            <th scope="col" className={cn(th, 'hidden md:table-cell')}>{t('proc.user')}</th>
            <th scope="col" className={cn(th, 'text-right')}>{t('proc.cpu')}</th>
            <th scope="col" className={cn(th, 'text-right')}>{t('proc.memory')}</th>
            <th scope="col" className={cn(th, 'hidden text-right sm:table-cell')}>{t('proc.rss')}</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
          {processes.map((process) => (
            <tr key={process.pid}>
              <td className={cn(td, 'max-w-[16rem] sm:max-w-md')}>
                <div className="truncate font-medium text-slate-900 dark:text-slate-100" data-testid="process-name">{process.name}</div>
                {process.command && (
                  <div className="truncate font-mono text-[11px] text-slate-500 dark:text-slate-400" title={process.command}>
                    {process.command}
                  </div>
                )}
              </td>
              <td className={cn(td, 'hidden text-xs text-slate-500 tabular-nums sm:table-cell dark:text-slate-400')}>{process.pid}</td>
              <td className={cn(td, 'hidden max-w-32 truncate text-xs text-slate-500 md:table-cell dark:text-slate-400')}>{process.user ?? '—'}</td>
              <td className={cn(td, 'text-right text-xs tabular-nums')}>{formatPercent(process.cpu, locale)}</td>
              <td className={cn(td, 'text-right text-xs tabular-nums')}>{formatPercent(process.memory, locale)}</td>
              <td className={cn(td, 'hidden text-right text-xs tabular-nums sm:table-cell')}>{formatBytes(process.rss, locale)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const tab = cn(
  'rounded-md px-2.5 py-1 text-xs font-medium text-slate-600 pointer-coarse:py-2 dark:text-slate-300',
  'data-[state=active]:bg-white data-[state=active]:text-slate-900 data-[state=active]:shadow-sm dark:data-[state=active]:bg-slate-950 dark:data-[state=active]:text-white',
  'focus-visible:outline-2 focus-visible:outline-indigo-500',
);

/** Top processes by CPU and by memory, as the agent's last sample reported them. */
export function ProcessesPanel({ sample }: { sample: HeartbeatSample | null }) {
  const { t, locale } = useI18n();
  return (
    <Tabs.Root defaultValue="cpu">
      <Panel
        title={t('proc.title')}
        description={sample?.processCount != null ? `${t('system.processes')}: ${formatNumber(sample.processCount, locale, 0)}` : undefined}
        actions={
          <Tabs.List aria-label={t('proc.title')} className="inline-flex rounded-lg bg-slate-100 p-0.5 dark:bg-slate-800">
            <Tabs.Trigger value="cpu" className={tab}>
              {t('proc.byCpu')}
            </Tabs.Trigger>
            <Tabs.Trigger value="memory" className={tab}>
              {t('proc.byMemory')}
            </Tabs.Trigger>
          </Tabs.List>
        }
      >
        <Tabs.Content value="cpu" className="outline-none">
          <ProcessTable processes={sample?.topCpu ?? []} />
        </Tabs.Content>
        <Tabs.Content value="memory" className="outline-none">
          <ProcessTable processes={sample?.topMemory ?? []} />
        </Tabs.Content>
      </Panel>
    </Tabs.Root>
  );
}

export function GpusPanel({ sample }: { sample: HeartbeatSample }) {
  const { t, locale } = useI18n();
  return (
    <Panel title={t('gpu.title')} data-testid="gpus">
      <div className="grid gap-3 sm:grid-cols-2">
        {sample.gpus.map((gpu) => {
          const memoryPercent = gpu.memoryUsed !== null && gpu.memoryTotal ? (gpu.memoryUsed / gpu.memoryTotal) * 100 : null;
          return (
            <div key={gpu.index} className="rounded-lg border border-slate-100 p-3 dark:border-slate-800">
              <div className="mb-3 truncate text-sm font-medium text-slate-900 dark:text-slate-100">
                <span className="text-slate-400">#{gpu.index}</span> {gpu.name}
              </div>
              <div className="flex flex-col gap-2 text-xs">
                <div className="grid grid-cols-[5.5rem_1fr_3rem] items-center gap-2">
                  <span className="text-slate-500 dark:text-slate-400">{t('gpu.utilization')}</span>
                  <UsageBar percent={gpu.utilization} label={t('gpu.utilization')} />
                  <span className="text-right tabular-nums">{formatPercent(gpu.utilization, locale)}</span>
                </div>
                <div className="grid grid-cols-[5.5rem_1fr_3rem] items-center gap-2">
                  <span className="text-slate-500 dark:text-slate-400">{t('gpu.memory')}</span>
                  <UsageBar percent={memoryPercent} label={t('gpu.memory')} />
                  <span className="text-right tabular-nums">{formatPercent(memoryPercent, locale)}</span>
                </div>
                <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1 text-slate-600 dark:text-slate-300">
                  <span>
                    {formatBytes(gpu.memoryUsed, locale)} / {formatBytes(gpu.memoryTotal, locale)}
                  </span>
                  <span>
                    {t('gpu.temperature')}: {gpu.temperature === null ? '—' : `${formatNumber(gpu.temperature, locale, 0)} °C`}
                  </span>
                  <span>
                    {t('gpu.power')}: {gpu.powerWatts === null ? '—' : `${formatNumber(gpu.powerWatts, locale, 0)} W`}
                  </span>
                </div>
              </div>
            </div>
          );
        })}
      </div>
    </Panel>
  );
}
