import type { ReactNode } from 'react';
import type { Health } from '../features/fleet/fleet-view.js';
import { cn } from './cn.js';
import { usageLevel, type UsageLevel } from './format.js';

export const HEALTH_DOT: Record<Health, string> = {
  online: 'bg-emerald-500',
  late: 'bg-amber-500',
  offline: 'bg-red-500',
  never: 'bg-slate-400 dark:bg-slate-500',
};

export const HEALTH_TEXT: Record<Health, string> = {
  online: 'text-emerald-700 dark:text-emerald-400',
  late: 'text-amber-700 dark:text-amber-400',
  offline: 'text-red-700 dark:text-red-400',
  never: 'text-slate-500 dark:text-slate-400',
};

export const HEALTH_PILL: Record<Health, string> = {
  online: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-500/10 dark:text-emerald-300 dark:ring-emerald-400/20',
  late: 'bg-amber-50 text-amber-800 ring-amber-600/20 dark:bg-amber-500/10 dark:text-amber-300 dark:ring-amber-400/20',
  offline: 'bg-red-50 text-red-700 ring-red-600/20 dark:bg-red-500/10 dark:text-red-300 dark:ring-red-400/20',
  never: 'bg-slate-100 text-slate-600 ring-slate-500/20 dark:bg-slate-500/10 dark:text-slate-300 dark:ring-slate-400/20',
};

/**
 * A status dot; `label` is for screen readers (the colour alone says nothing to them). `pulse`
 * animates an online dot: only for a single machine, since a thousand running animations on
 * the fleet page would keep the browser painting all the time.
 */
export function StatusDot({ health, label, className, pulse = false }: { health: Health; label: string; className?: string; pulse?: boolean }) {
  return (
    <span className={cn('relative inline-flex size-2.5 shrink-0', className)} role="img" aria-label={label} title={label}>
      {pulse && health === 'online' && <span className="absolute inset-0 animate-ping rounded-full bg-emerald-400 opacity-40 motion-reduce:hidden" />}
      <span className={cn('relative inline-flex size-2.5 rounded-full', HEALTH_DOT[health])} />
    </span>
  );
}

export function StatusPill({ health, label }: { health: Health; label: string }) {
  return (
    <span className={cn('inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset', HEALTH_PILL[health])}>
      <span className={cn('size-1.5 rounded-full', HEALTH_DOT[health])} />
      {label}
    </span>
  );
}

const BAR_FILL: Record<UsageLevel, string> = {
  ok: 'bg-emerald-500',
  warn: 'bg-amber-500',
  critical: 'bg-red-500',
  unknown: 'bg-slate-300 dark:bg-slate-600',
};

/** A horizontal usage bar, green/amber/red by level; its length is set through the CSSOM (CSP-safe). */
export function UsageBar({ percent, label, className }: { percent: number | null; label: string; className?: string }) {
  const level = usageLevel(percent);
  const clamped = percent === null ? 0 : Math.min(100, Math.max(0, percent));
  return (
    <div
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent === null ? undefined : Math.round(clamped)}
      className={cn('h-1.5 w-full overflow-hidden rounded-full bg-slate-100 dark:bg-slate-800', className)}
    >
      {/* Scaled, not resized: a transform animates on the compositor without layout or paint. */}
      <div className={cn('h-full w-full origin-left rounded-full transition-transform duration-500 motion-reduce:transition-none', BAR_FILL[level])} style={{ transform: `scaleX(${clamped / 100})` }} />
    </div>
  );
}

/** Text coloured by the same thresholds as the bars. */
export const USAGE_TEXT: Record<UsageLevel, string> = {
  ok: 'text-slate-700 dark:text-slate-200',
  warn: 'text-amber-700 dark:text-amber-400',
  critical: 'text-red-700 dark:text-red-400',
  unknown: 'text-slate-400 dark:text-slate-500',
};

/** A label chip: key in a muted tone, value in full. */
export function LabelChip({ labelKey, value, children }: { labelKey: string; value: string; children?: ReactNode }) {
  return (
    <span className="inline-flex max-w-full items-center gap-0.5 rounded-md bg-slate-100 px-1.5 py-0.5 font-mono text-[11px] leading-4 text-slate-700 ring-1 ring-inset ring-slate-200 dark:bg-slate-800 dark:text-slate-300 dark:ring-slate-700">
      <span className="truncate text-slate-500 dark:text-slate-400">{labelKey}=</span>
      <span className="truncate">{value}</span>
      {children}
    </span>
  );
}
