import type { NetworkMachine } from '@farol/protocol';
import { useMemo, useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { Segmented, Select } from '../../../ui/field.js';
import { TimeChart, type ChartSeries } from '../../../ui/time-chart.js';
import { withAlpha } from '../../machine/components/chart-formats.js';
import { useNetworkRtt } from '../hooks/use-network.js';
import { RTT_RANGES, toRttSeries, type RttRange } from '../rtt-series.js';
import { formatMs } from './network-parts.js';

const COLOR = '#6366f1';

/**
 * One machine's round trip to the hub over 1 h, 24 h or 7 d: the median per minute (per hour
 * for the week) with the min–max band. Picks a machine whose link got worse first.
 */
export function RttChartPanel({ machines }: { machines: readonly NetworkMachine[] }) {
  const { t, locale } = useI18n();
  const [chosen, setChosen] = useState<string | null>(null);
  const [range, setRange] = useState<RttRange>('1h');
  const agentId = machines.some((m) => m.agentId === chosen) ? chosen : ((machines.find((m) => m.worse) ?? machines[0])?.agentId ?? null);
  const history = useNetworkRtt(agentId, range);
  const response = history.data?.agentId === agentId ? history.data : undefined;

  const chart = useMemo(() => {
    if (!response) return null;
    const columns = toRttSeries(response);
    const series: ChartSeries[] = [
      { label: t('network.rtt.p50'), color: COLOR },
      { label: t('chart.max'), color: COLOR, bandEdge: true },
      { label: t('chart.min'), color: COLOR, bandEdge: true },
    ];
    return { data: [columns.x, columns.p50, columns.max, columns.min], series, bands: [{ upper: 2, lower: 3, color: withAlpha(COLOR, 0.18), label: t('chart.band') }] };
  }, [response, t]);
  const formatValue = useMemo(() => (value: number) => formatMs(value, locale), [locale]);

  return (
    <Panel
      data-testid="network-rtt-history"
      data-agent={agentId ?? ''}
      data-range={range}
      data-resolution={response?.resolution}
      data-points={response?.points.length}
      title={t('network.rtt.title')}
      description={response ? t(`network.rtt.resolution.${response.resolution}`) : '\u00a0'}
      actions={
        <div className="flex flex-wrap items-center gap-2">
          {history.isFetching && <Spinner className="size-3.5 text-slate-400" />}
          <Select aria-label={t('network.rtt.machine')} data-testid="network-rtt-history-machine" value={agentId ?? ''} onChange={(event) => setChosen(event.target.value)} className="w-44">
            {machines.map((m) => (
              <option key={m.agentId} value={m.agentId}>
                {m.name}
              </option>
            ))}
          </Select>
          <Segmented<RttRange> label={t('network.rtt.range')} value={range} onChange={setRange} size="sm" options={RTT_RANGES.map((value) => ({ value, label: t(`history.range.${value}`) }))} />
        </div>
      }
    >
      {history.error && !response && (
        <ErrorNote onRetry={() => void history.refetch()} retryLabel={t('common.retry')}>
          {describeError(history.error)}
        </ErrorNote>
      )}
      {!response && !history.error && (
        <div className="flex justify-center py-12 text-slate-400">
          <Spinner className="size-5" />
        </div>
      )}
      {response && response.points.length === 0 && <p className="py-10 text-center text-sm text-slate-500 dark:text-slate-400">{t('network.rtt.none')}</p>}
      {chart && response && response.points.length > 0 && (
        <TimeChart data={chart.data} series={chart.series} bands={chart.bands} formatValue={formatValue} height={200} ariaLabel={t('network.rtt.title')} testId="network-rtt-history-chart" />
      )}
    </Panel>
  );
}
