import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme, type ResolvedTheme } from '../app/theme.js';
import { useI18n } from '../i18n/i18n.js';
import { cn } from './cn.js';
import type { AxisTicks } from './format.js';

export interface ChartSeries {
  label: string;
  color: string;
  /** Fill under the line (a CSS colour with alpha). */
  fill?: string;
  /** Draw no line: the series only bounds a band (min/max). */
  bandEdge?: boolean;
  /** Join the line across missing points (series sampled at their own times, e.g. check locations). */
  spanGaps?: boolean;
}

export interface TimeChartProps {
  /** x in seconds, then one column per series, all the same length. */
  data: readonly (readonly (number | null)[])[];
  series: readonly ChartSeries[];
  /** Pairs of series indexes (1-based, as uPlot counts) whose area between is filled. */
  bands?: readonly { upper: number; lower: number; color: string; label: string }[];
  formatValue(value: number): string;
  /**
   * The y axis's top, ticks and labels for data reaching `max` (byte rates: round values in one
   * unit, issue #21); without it, uPlot's own splits labelled with formatValue.
   */
  axisTicks?: (max: number) => AxisTicks;
  /** Fixed y range (percent charts use 0..100); otherwise from zero to the data's max. */
  yMax?: number;
  height?: number;
  ariaLabel: string;
  className?: string;
  testId?: string;
}

const PALETTE: Record<ResolvedTheme, { axis: string; grid: string }> = {
  light: { axis: '#64748b', grid: 'rgba(148, 163, 184, 0.25)' },
  dark: { axis: '#94a3b8', grid: 'rgba(71, 85, 105, 0.35)' },
};

const DAY_SECONDS = 86_400;

function timeAxisValues(locale: string) {
  // 24-hour clock on axes in every language: shorter, and what operators read in logs.
  const time = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const timeWithSeconds = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const day = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short' });
  const month = new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric' });
  return (_chart: uPlot, splits: number[], _axis: number, _space: number, increment: number): string[] =>
    splits.map((seconds) => {
      const at = seconds * 1000;
      if (increment < 60) return timeWithSeconds.format(at);
      if (increment < DAY_SECONDS) return time.format(at);
      if (increment < 28 * DAY_SECONDS) return day.format(at);
      return month.format(at);
    });
}

/**
 * A hover tooltip: the time and each series' value at the cursor. Built with DOM calls and
 * textContent (no HTML strings) and positioned through the CSSOM, so the CSP holds.
 */
function tooltipPlugin(formatTime: (seconds: number) => string, formatValue: (value: number) => string, series: readonly ChartSeries[]): uPlot.Plugin {
  let tip: HTMLDivElement | null = null;
  const hide = () => {
    if (tip) tip.hidden = true;
  };
  return {
    hooks: {
      init: (chart) => {
        tip = document.createElement('div');
        tip.className = 'pointer-events-none absolute top-0 left-0 z-10 min-w-28 rounded-lg bg-slate-900/95 px-2.5 py-1.5 text-[11px] leading-4 text-white shadow-lg dark:bg-slate-800/95 dark:ring-1 dark:ring-slate-700';
        tip.hidden = true;
        chart.over.appendChild(tip);
        chart.over.addEventListener('mouseleave', hide);
      },
      setCursor: (chart) => {
        const index = chart.cursor.idx;
        const left = chart.cursor.left ?? -1;
        const x = index == null ? undefined : chart.data[0][index];
        if (!tip || index == null || x == null || left < 0) return hide();
        const rows: HTMLElement[] = [];
        const head = document.createElement('div');
        head.className = 'mb-0.5 text-slate-300';
        head.textContent = formatTime(x);
        rows.push(head);
        series.forEach((spec, position) => {
          const value = chart.data[position + 1]?.[index];
          const row = document.createElement('div');
          row.className = 'flex items-center gap-1.5 whitespace-nowrap';
          const dot = document.createElement('span');
          dot.className = 'inline-block size-2 rounded-full';
          dot.style.backgroundColor = spec.color;
          if (spec.bandEdge) dot.style.opacity = '0.4';
          const label = document.createElement('span');
          label.className = 'text-slate-300';
          label.textContent = spec.label;
          const number = document.createElement('span');
          number.className = 'ml-auto pl-3 font-medium tabular-nums';
          number.textContent = value == null ? '—' : formatValue(value);
          row.append(dot, label, number);
          rows.push(row);
        });
        tip.replaceChildren(...rows);
        tip.hidden = false;
        const width = tip.offsetWidth;
        const placeLeft = left + 14 + width > chart.over.clientWidth;
        tip.style.transform = `translate(${placeLeft ? left - width - 14 : left + 14}px, 4px)`;
      },
    },
  };
}

/**
 * A time-series chart (uPlot on a canvas). The chart is built once per shape (series, theme,
 * language) and new data is handed to it with setData, so a live chart updating every second
 * costs one canvas redraw, not a React render of the chart.
 */
export function TimeChart({ data, series, bands = [], formatValue, axisTicks, yMax, height = 180, ariaLabel, className, testId }: TimeChartProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<uPlot | null>(null);
  const dataRef = useRef(data);
  const { resolved } = useTheme();
  const { locale } = useI18n();

  const options = useMemo<Omit<uPlot.Options, 'width'>>(() => {
    const palette = PALETTE[resolved];
    const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium', hourCycle: 'h23' });
    const axis = { stroke: palette.axis, grid: { stroke: palette.grid, width: 1 }, ticks: { stroke: palette.grid, width: 1, size: 4 }, font: '11px system-ui, sans-serif' };
    // The range callback computes the ticks for the data's max; splits and labels reuse them.
    const current = new Map<'ticks', AxisTicks>();
    const yAxis: uPlot.Axis = axisTicks
      ? {
          ...axis,
          size: 72,
          splits: () => current.get('ticks')?.ticks ?? [0],
          values: (_chart, splits) => {
            const ticks = current.get('ticks');
            return splits.map((value, index) => (ticks?.ticks[index] === value ? ticks.labels[index]! : formatValue(value)));
          },
        }
      : { ...axis, size: 64, values: (_chart, splits) => splits.map((value) => formatValue(value)) };
    return {
      height,
      padding: [10, 20, 0, 0],
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      legend: { show: false },
      plugins: [tooltipPlugin((seconds) => dateTime.format(seconds * 1000), formatValue, series)],
      scales: {
        x: { time: true },
        y: {
          range: (_chart, _min, max) => {
            if (yMax !== undefined) return [0, yMax];
            if (!axisTicks) return [0, max > 0 ? max * 1.1 : 1];
            const ticks = axisTicks(Number.isFinite(max) ? max : 0);
            current.set('ticks', ticks);
            return [0, ticks.top];
          },
        },
      },
      axes: [
        { ...axis, values: timeAxisValues(locale), space: 70, size: 28 },
        yAxis,
      ],
      series: [
        {},
        ...series.map<uPlot.Series>((s) => ({
          label: s.label,
          stroke: s.bandEdge ? 'transparent' : s.color,
          width: s.bandEdge ? 0 : 1.75,
          fill: s.fill,
          points: { show: false },
          spanGaps: s.spanGaps ?? false,
        })),
      ],
      bands: bands.map((band) => ({ series: [band.upper, band.lower], fill: band.color })),
    };
  }, [series, bands, formatValue, axisTicks, yMax, height, resolved, locale]);

  useEffect(() => {
    dataRef.current = data;
    chartRef.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    const chart = new uPlot({ ...options, width: Math.max(container.clientWidth, 200) }, dataRef.current as uPlot.AlignedData, container);
    chartRef.current = chart;
    const observer = new ResizeObserver(() => {
      const width = container.clientWidth;
      if (width > 0 && width !== chart.width) chart.setSize({ width, height: chart.height });
    });
    observer.observe(container);
    return () => {
      observer.disconnect();
      chart.destroy();
      chartRef.current = null;
    };
  }, [options]);

  const points = data[0]?.length ?? 0;
  const legend = series.filter((s) => !s.bandEdge);
  return (
    <div className={cn('w-full min-w-0', className)}>
      {(legend.length > 1 || bands.length > 0) && (
        <ul className="mb-1 flex flex-wrap gap-x-3 gap-y-0.5 text-[11px] text-slate-500 dark:text-slate-400">
          {legend.map((s) => (
            <li key={s.label} className="flex items-center gap-1.5">
              <LegendSwatch color={s.color} />
              {s.label}
            </li>
          ))}
          {bands.length > 0 && (
            <li className="flex items-center gap-1.5">
              <LegendSwatch color={bands[0]!.color} wide />
              {bands[0]!.label}
            </li>
          )}
        </ul>
      )}
      <div ref={containerRef} role="img" aria-label={ariaLabel} data-testid={testId} data-points={points} className="farol-chart relative w-full" />
    </div>
  );
}

/** A colour sample; the colour comes from data, so it is set through the CSSOM (CSP-safe). */
function LegendSwatch({ color, wide = false }: { color: string; wide?: boolean }) {
  return <span aria-hidden="true" className={cn('inline-block h-2 rounded-full', wide ? 'w-3.5' : 'w-2')} style={{ backgroundColor: color }} />;
}
