import type { HistoryMetric, MetricsResponse } from '@farol/protocol';
import { useMemo, useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import type { MessageKey } from '../../../i18n/messages.js';
import { ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { Segmented } from '../../../ui/field.js';
import { TimeChart, type ChartSeries } from '../../../ui/time-chart.js';
import { hasValues, HISTORY_RANGES, toHistorySeries, type HistoryRange } from '../history.js';
import { useHistory } from '../hooks/use-machine.js';
import { CHART_COLORS, useChartFormats, withAlpha } from './chart-formats.js';

type Format = 'percent' | 'rate' | 'number' | 'celsius';

interface ChartSpec {
  title: MessageKey;
  /** One metric gets an avg line with a min–max band; two are drawn as two avg lines. */
  metrics: readonly { metric: HistoryMetric; label: MessageKey; color: string }[];
  format: Format;
  yMax?: number;
  /** Shown only when the range has values (many machines have no GPU or sensors). */
  optional?: boolean;
}

const CHARTS: readonly ChartSpec[] = [
  { title: 'chart.cpu', metrics: [{ metric: 'cpu', label: 'chart.avg', color: CHART_COLORS.cpu }], format: 'percent', yMax: 100 },
  { title: 'chart.memory', metrics: [{ metric: 'memory', label: 'chart.avg', color: CHART_COLORS.memory }], format: 'percent', yMax: 100 },
  { title: 'chart.diskUsage', metrics: [{ metric: 'disk', label: 'chart.avg', color: CHART_COLORS.disk }], format: 'percent', yMax: 100 },
  { title: 'chart.load', metrics: [{ metric: 'load1', label: 'chart.avg', color: CHART_COLORS.load }], format: 'number', optional: true },
  {
    title: 'chart.network',
    metrics: [
      { metric: 'netRx', label: 'chart.rx', color: CHART_COLORS.rx },
      { metric: 'netTx', label: 'chart.tx', color: CHART_COLORS.tx },
    ],
    format: 'rate',
  },
  {
    title: 'chart.diskIo',
    metrics: [
      { metric: 'diskRead', label: 'chart.read', color: CHART_COLORS.read },
      { metric: 'diskWrite', label: 'chart.write', color: CHART_COLORS.write },
    ],
    format: 'rate',
  },
  { title: 'chart.temperature', metrics: [{ metric: 'temperature', label: 'chart.avg', color: CHART_COLORS.temperature }], format: 'celsius', optional: true },
  { title: 'chart.gpu', metrics: [{ metric: 'gpu', label: 'chart.avg', color: CHART_COLORS.gpu }], format: 'percent', yMax: 100, optional: true },
];

function HistoryChart({ spec, response }: { spec: ChartSpec; response: MetricsResponse }) {
  const { t } = useI18n();
  const formats = useChartFormats();
  const single = spec.metrics.length === 1 ? spec.metrics[0] : undefined;
  const withBand = single !== undefined && response.resolution !== 'raw';

  const { data, series, bands } = useMemo(() => {
    if (single) {
      const columns = toHistorySeries(response, single.metric);
      const line: ChartSeries = { label: t(single.label), color: single.color, fill: withBand ? undefined : withAlpha(single.color, 0.1) };
      if (withBand && columns.max && columns.min) {
        return {
          data: [columns.x, columns.avg, columns.max, columns.min],
          series: [line, { label: t('chart.max'), color: single.color, bandEdge: true }, { label: t('chart.min'), color: single.color, bandEdge: true }],
          bands: [{ upper: 2, lower: 3, color: withAlpha(single.color, 0.18), label: t('chart.band') }],
        };
      }
      return { data: [columns.x, columns.avg], series: [line], bands: [] };
    }
    const columns = spec.metrics.map(({ metric }) => toHistorySeries(response, metric));
    return {
      data: [columns[0]?.x ?? [], ...columns.map((column) => column.avg)],
      series: spec.metrics.map<ChartSeries>(({ label, color }) => ({ label: t(label), color })),
      bands: [],
    };
  }, [response, single, spec.metrics, withBand, t]);

  return (
    <div className="min-w-0 rounded-lg border border-slate-100 p-3 dark:border-slate-800">
      <h3 className="mb-1 text-xs font-medium text-slate-500 dark:text-slate-400">{t(spec.title)}</h3>
      <TimeChart data={data} series={series} bands={bands} formatValue={formats[spec.format]} axisTicks={spec.format === 'rate' ? formats.rateAxis : undefined} yMax={spec.yMax} height={170} ariaLabel={t(spec.title)} testId={`history-${spec.metrics[0]?.metric}`} />
    </div>
  );
}

/** History with a range picker; the hub picks the tier (raw, 1-minute, 1-hour) for the range. */
export function HistoryCharts({ agentId }: { agentId: string }) {
  const { t } = useI18n();
  const [range, setRange] = useState<HistoryRange>('1h');
  const history = useHistory(agentId, range);
  const response = history.data;

  const charts = useMemo(() => (response ? CHARTS.filter((spec) => !spec.optional || spec.metrics.some(({ metric }) => hasValues(response, metric))) : []), [response]);

  return (
    <Panel
      data-testid="history"
      data-range={range}
      data-resolution={response?.resolution}
      data-points={response?.points.length}
      title={t('history.title')}
      description={response ? t(`history.resolution.${response.resolution}`) : '\u00a0'}
      actions={
        <div className="flex items-center gap-2">
          {history.isFetching && <Spinner className="size-3.5 text-slate-400" />}
          <Segmented<HistoryRange>
            label={t('history.rangeLabel')}
            value={range}
            onChange={setRange}
            size="sm"
            options={HISTORY_RANGES.map((value) => ({ value, label: t(`history.range.${value}`) }))}
          />
        </div>
      }
    >
      {history.error && !response && <ErrorNote onRetry={() => void history.refetch()} retryLabel={t('common.retry')}>{t('history.loadError', { detail: describeError(history.error) })}</ErrorNote>}
      {!response && !history.error && (
        <div className="flex justify-center py-16 text-slate-400">
          <Spinner className="size-5" />
        </div>
      )}
      {response && response.points.length === 0 && <p className="py-10 text-center text-sm text-slate-500 dark:text-slate-400">{t('chart.noData')}</p>}
      {response && response.points.length > 0 && (
        <div className="grid gap-3 md:grid-cols-2">
          {charts.map((spec) => (
            <HistoryChart key={spec.title} spec={spec} response={response} />
          ))}
        </div>
      )}
    </Panel>
  );
}
