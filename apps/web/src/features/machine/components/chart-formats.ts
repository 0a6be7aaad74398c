import { useMemo } from 'react';
import { useI18n } from '../../../i18n/i18n.js';
import { byteAxisTicks, formatNumber, formatPercent, formatRate } from '../../../ui/format.js';

/** Chart colours: one per series role, the same in both themes (they read on both backgrounds). */
export const CHART_COLORS = {
  cpu: '#6366f1',
  memory: '#0ea5e9',
  disk: '#a855f7',
  rx: '#10b981',
  tx: '#f59e0b',
  read: '#06b6d4',
  write: '#ec4899',
  load: '#64748b',
  temperature: '#ef4444',
  gpu: '#84cc16',
} as const;

/** Fills and bands: the line colour at low opacity. */
export const withAlpha = (hex: string, alpha: number): string => {
  const value = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
};

/** Value formatters for chart axes and legends, stable for a locale. */
export function useChartFormats() {
  const { locale } = useI18n();
  return useMemo(
    () => ({
      percent: (value: number) => formatPercent(value, locale),
      rate: (value: number) => formatRate(value, locale),
      /** Round byte-rate ticks in one unit (issue #21). */
      rateAxis: (max: number) => byteAxisTicks(max, locale, '/s'),
      number: (value: number) => formatNumber(value, locale, 2),
      celsius: (value: number) => `${formatNumber(value, locale, 0)} °C`,
    }),
    [locale],
  );
}
