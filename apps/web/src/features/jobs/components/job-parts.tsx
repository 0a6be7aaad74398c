import { describeCommand, type Command, type JobState, type JobTargets, type TargetState } from '@farol/protocol';
import type { MessageKey } from '../../../i18n/messages.js';
import { useI18n } from '../../../i18n/i18n.js';
import { useFleetSnapshot } from '../../fleet/hooks/use-fleet.js';
import { cn } from '../../../ui/cn.js';
import { formatDuration, formatNumber } from '../../../ui/format.js';

type Tone = 'neutral' | 'active' | 'good' | 'bad' | 'warn';

const TONE_PILL: Record<Tone, string> = {
  neutral: 'bg-slate-100 text-slate-600 ring-slate-500/20 dark:bg-slate-500/10 dark:text-slate-300 dark:ring-slate-400/20',
  active: 'bg-indigo-50 text-indigo-700 ring-indigo-600/20 dark:bg-indigo-500/10 dark:text-indigo-300 dark:ring-indigo-400/20',
  good: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-500/10 dark:text-emerald-300 dark:ring-emerald-400/20',
  bad: 'bg-red-50 text-red-700 ring-red-600/20 dark:bg-red-500/10 dark:text-red-300 dark:ring-red-400/20',
  warn: 'bg-amber-50 text-amber-800 ring-amber-600/20 dark:bg-amber-500/10 dark:text-amber-300 dark:ring-amber-400/20',
};

export const TARGET_TONE: Record<TargetState, Tone> = {
  queued: 'neutral',
  sent: 'active',
  running: 'active',
  succeeded: 'good',
  failed: 'bad',
  timed_out: 'bad',
  refused: 'bad',
  cancelled: 'warn',
  expired: 'warn',
};

export const TARGET_STATE_KEY: Record<TargetState, MessageKey> = {
  queued: 'jobs.state.queued',
  sent: 'jobs.state.sent',
  running: 'jobs.state.running',
  succeeded: 'jobs.state.succeeded',
  failed: 'jobs.state.failed',
  timed_out: 'jobs.state.timed_out',
  refused: 'jobs.state.refused',
  cancelled: 'jobs.state.cancelled',
  expired: 'jobs.state.expired',
};

export function Pill({ tone, children, className }: { tone: Tone; children: React.ReactNode; className?: string }) {
  return <span className={cn('inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset', TONE_PILL[tone], className)}>{children}</span>;
}

export function TargetStatePill({ state }: { state: TargetState }) {
  const { t } = useI18n();
  const tone = TARGET_TONE[state];
  return (
    <Pill tone={tone}>
      {(state === 'running' || state === 'sent') && <span aria-hidden="true" className="size-1.5 animate-pulse rounded-full bg-current motion-reduce:animate-none" />}
      {t(TARGET_STATE_KEY[state])}
    </Pill>
  );
}

/** A job's overall outcome: running, or done with every target succeeded, or done with problems. */
export function JobStatePill({ state, failed, cancelled }: { state: JobState; failed: number; cancelled: boolean }) {
  const { t } = useI18n();
  if (state === 'running') return <Pill tone="active">{cancelled ? t('jobs.outcome.cancelling') : t('jobs.outcome.running')}</Pill>;
  if (cancelled) return <Pill tone="warn">{t('jobs.outcome.cancelled')}</Pill>;
  return failed > 0 ? <Pill tone="bad">{t('jobs.outcome.problems', { n: failed })}</Pill> : <Pill tone="good">{t('jobs.outcome.succeeded')}</Pill>;
}

/** The command as one line of text (never markup). */
export function CommandText({ command, className }: { command: Command; className?: string }) {
  return <code className={cn('font-mono text-[13px] break-all text-slate-900 dark:text-slate-100', className)}>{describeCommand(command)}</code>;
}

/** "web-1, web-2", "role=gpu" or "every machine"; machines named by id are shown by name when known. */
export function useDescribeTargets(): (targets: JobTargets) => string {
  const { t } = useI18n();
  const { machines } = useFleetSnapshot();
  return (targets) => {
    if ('all' in targets) return t('jobs.targets.everyMachine');
    if ('selector' in targets) return targets.selector;
    return targets.agents.map((ref) => machines.get(ref)?.name ?? ref).join(', ');
  };
}

/** 340 ms, 2.4 s, 3 min. */
export function formatElapsed(ms: number | null, locale: string): string {
  if (ms === null) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${formatNumber(ms / 1_000, locale, 1)} s`;
  return formatDuration(ms / 1_000);
}

/** Targets that ended badly: failed, timed out, refused, expired. */
export function problemCount(counts: Partial<Record<TargetState, number>>): number {
  return (counts.failed ?? 0) + (counts.timed_out ?? 0) + (counts.refused ?? 0) + (counts.expired ?? 0);
}
