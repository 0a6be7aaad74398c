import type { HeartbeatSample } from '@farol/protocol';
import { useMemo, type ReactNode } from 'react';
import { useI18n } from '../../../i18n/i18n.js';
import { Panel } from '../../../ui/card.js';
import { cn } from '../../../ui/cn.js';
import { formatPercent, formatRate } from '../../../ui/format.js';
import { TimeChart, type ChartSeries } from '../../../ui/time-chart.js';
import type { LiveState } from '../hooks/use-machine.js';
import { LIVE_CAPACITY, toLiveSeries } from '../live-buffer.js';
import { CHART_COLORS, useChartFormats, withAlpha } from './chart-formats.js';

function ChartCard({ title, value, children }: { title: string; value: string; children: ReactNode }) {
  return (
    <div className="min-w-0 rounded-lg border border-slate-100 p-3 dark:border-slate-800">
      <div className="mb-1 flex items-baseline justify-between gap-2">
        <h3 className="text-xs font-medium text-slate-500 dark:text-slate-400">{title}</h3>
        <span className="text-sm font-semibold text-slate-900 tabular-nums dark:text-slate-100">{value}</span>
      </div>
      {children}
    </div>
  );
}

/** CPU, memory, network and disk I/O at one-second resolution while the page is open. */
export function LiveCharts({ samples, state }: { samples: readonly HeartbeatSample[]; state: LiveState }) {
  const { t, locale } = useI18n();
  const formats = useChartFormats();
  const series = useMemo(() => toLiveSeries(samples), [samples]);
  const latest = samples.at(-1);

  const cpuSeries = useMemo<ChartSeries[]>(() => [{ label: t('chart.cpu'), color: CHART_COLORS.cpu, fill: withAlpha(CHART_COLORS.cpu, 0.12) }], [t]);
  const memorySeries = useMemo<ChartSeries[]>(() => [{ label: t('chart.memory'), color: CHART_COLORS.memory, fill: withAlpha(CHART_COLORS.memory, 0.12) }], [t]);
  const networkSeries = useMemo<ChartSeries[]>(() => [{ label: t('chart.rx'), color: CHART_COLORS.rx }, { label: t('chart.tx'), color: CHART_COLORS.tx }], [t]);
  const diskSeries = useMemo<ChartSeries[]>(() => [{ label: t('chart.read'), color: CHART_COLORS.read }, { label: t('chart.write'), color: CHART_COLORS.write }], [t]);

  const cpuData = useMemo(() => [series.x, series.cpu], [series]);
  const memoryData = useMemo(() => [series.x, series.memory], [series]);
  const networkData = useMemo(() => [series.x, series.rx, series.tx], [series]);
  const diskData = useMemo(() => [series.x, series.read, series.write], [series]);

  const notice = { paused: t('live.paused'), offline: t('live.offline'), waiting: t('live.waiting'), live: null }[state];
  const rate = (value: number | null | undefined) => formatRate(value, locale);

  return (
    <Panel
      data-testid="live-charts"
      data-live-state={state}
      data-live-points={samples.length}
      title={
        <span className="flex items-center gap-2">
          {t('live.title')}
          {/* A red dot that breathes while samples arrive; gray otherwise. */}
          <span aria-hidden="true" className={cn('relative inline-flex size-2 rounded-full', state === 'live' ? 'bg-red-500' : 'bg-slate-300 dark:bg-slate-600')}>
            {state === 'live' && <span className="absolute inset-0 animate-ping rounded-full bg-red-400 opacity-60 motion-reduce:hidden" />}
          </span>
        </span>
      }
      description={t('live.subtitle', { minutes: LIVE_CAPACITY / 60 })}
    >
      {notice && <p className="mb-3 text-sm text-slate-500 dark:text-slate-400">{notice}</p>}
      <div className="grid gap-3 md:grid-cols-2">
        <ChartCard title={t('chart.cpu')} value={formatPercent(latest?.cpu.total, locale)}>
          <span data-testid="live-cpu-value" className="sr-only">
            {formatPercent(latest?.cpu.total, locale)}
          </span>
          <TimeChart testId="live-cpu-chart" data={cpuData} series={cpuSeries} formatValue={formats.percent} yMax={100} height={150} ariaLabel={t('chart.cpu')} />
        </ChartCard>
        <ChartCard title={t('chart.memory')} value={formatPercent(latest?.memory?.percent, locale)}>
          <TimeChart data={memoryData} series={memorySeries} formatValue={formats.percent} yMax={100} height={150} ariaLabel={t('chart.memory')} />
        </ChartCard>
        <ChartCard title={t('chart.network')} value={`↓ ${rate(latest?.network?.rxBps)} ↑ ${rate(latest?.network?.txBps)}`}>
          <TimeChart data={networkData} series={networkSeries} formatValue={formats.rate} axisTicks={formats.rateAxis} height={150} ariaLabel={t('chart.network')} />
        </ChartCard>
        <ChartCard title={t('chart.diskIo')} value={`${t('chart.readShort')} ${rate(latest?.diskIo?.readBps)} ${t('chart.writeShort')} ${rate(latest?.diskIo?.writeBps)}`}>
          <TimeChart data={diskData} series={diskSeries} formatValue={formats.rate} axisTicks={formats.rateAxis} height={150} ariaLabel={t('chart.diskIo')} />
        </ChartCard>
      </div>
    </Panel>
  );
}
