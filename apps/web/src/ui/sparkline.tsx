import { memo } from 'react';
import { cn } from './cn.js';

const WIDTH = 120;
const HEIGHT = 32;

/** SVG path data for values on a 0..max scale: the line and the area under it. */
export function sparklinePaths(values: readonly number[], max = 100): { line: string; area: string } | null {
  if (values.length < 2) return null;
  const step = WIDTH / (values.length - 1);
  const y = (value: number) => (HEIGHT - 1 - (Math.min(max, Math.max(0, value)) / max) * (HEIGHT - 2)).toFixed(1);
  const points = values.map((value, index) => `${(index * step).toFixed(1)},${y(value)}`);
  const line = `M${points.join('L')}`;
  return { line, area: `${line}L${WIDTH},${HEIGHT}L0,${HEIGHT}Z` };
}

/** A small trend line (no axes) of percent values; plain SVG, so a thousand of them stay cheap. */
export const Sparkline = memo(function Sparkline({ values, label, className }: { values: readonly number[]; label: string; className?: string }) {
  const paths = sparklinePaths(values);
  return (
    <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={label} className={cn('h-8 w-full overflow-visible', className)}>
      <title>{label}</title>
      <line x1="0" x2={WIDTH} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} className="stroke-slate-200 dark:stroke-slate-800" strokeWidth="1" vectorEffect="non-scaling-stroke" />
      {paths && (
        <>
          <path d={paths.area} className="fill-indigo-500/10 dark:fill-indigo-400/15" />
          <path d={paths.line} fill="none" className="stroke-indigo-500 dark:stroke-indigo-400" strokeWidth="1.5" strokeLinejoin="round" vectorEffect="non-scaling-stroke" />
        </>
      )}
    </svg>
  );
});
