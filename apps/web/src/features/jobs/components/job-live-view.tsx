import { isFinalTargetState, type Job, type TargetState } from '@farol/protocol';
import { useMemo, useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { Link, machinePath } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Spinner } from '../../../ui/card.js';
import { useNow } from '../../../ui/clock.js';
import { cn } from '../../../ui/cn.js';
import { Segmented } from '../../../ui/field.js';
import { formatDateTime } from '../../../ui/format.js';
import { ChevronDownIcon, XIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { useCancelJob, useLiveJob } from '../hooks/use-jobs.js';
import { durationOf, isCancellable, progressOf, type LiveJob, type LiveTarget } from '../job-live.js';
import { CommandText, formatElapsed, JobStatePill, problemCount, TargetStatePill, useDescribeTargets } from './job-parts.js';

/** Past this many targets, outputs start folded and the list shows a page at a time. */
const UNFOLDED_TARGETS = 8;
const TARGETS_PER_PAGE = 50;

type TargetFilter = 'all' | 'problems' | 'unfinished';
const PROBLEM_STATES: readonly TargetState[] = ['failed', 'timed_out', 'refused', 'expired'];

/** One machine's stdout and stderr, as text: whatever the command printed is never markup. */
function TargetOutput({ target }: { target: LiveTarget }) {
  const { t } = useI18n();
  const empty = target.stdout === '' && target.stderr === '';
  return (
    <div className="border-t border-slate-100 bg-slate-950 text-slate-100 dark:border-slate-800">
      {empty ? (
        <p className="px-4 py-3 font-mono text-xs text-slate-400">{isFinalTargetState(target.state) ? t('jobs.output.none') : t('jobs.output.waiting')}</p>
      ) : (
        <div className="max-h-96 overflow-auto px-4 py-3 font-mono text-xs leading-5">
          {target.stdout !== '' && (
            <pre data-testid="target-stdout" className="break-words whitespace-pre-wrap">
              {target.stdout}
            </pre>
          )}
          {target.stderr !== '' && (
            <pre data-testid="target-stderr" className="break-words whitespace-pre-wrap text-red-300">
              {target.stderr}
            </pre>
          )}
        </div>
      )}
      {(target.stdoutTruncated || target.stderrTruncated) && <p className="border-t border-slate-800 px-4 py-1.5 text-xs text-amber-300">{t('jobs.output.truncated')}</p>}
      {target.data && (
        <details className="border-t border-slate-800 px-4 py-2 text-xs">
          <summary className="cursor-pointer text-slate-300">{t('jobs.output.data')}</summary>
          <pre className="mt-2 max-h-72 overflow-auto font-mono break-words whitespace-pre-wrap text-slate-300">{JSON.stringify(target.data, null, 2)}</pre>
        </details>
      )}
    </div>
  );
}

function TargetRow({ target, now, initiallyOpen }: { target: LiveTarget; now: number; initiallyOpen: boolean }) {
  const { t, locale } = useI18n();
  const [open, setOpen] = useState(initiallyOpen);
  const final = isFinalTargetState(target.state);
  const outputId = `output-${target.commandId}`;
  return (
    <li
      data-testid="job-target"
      data-agent-name={target.agentName}
      data-state={target.state}
      data-exit-code={target.exitCode ?? ''}
      className="overflow-hidden rounded-lg border border-slate-200 dark:border-slate-800"
    >
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1.5 px-3 py-2.5 sm:px-4">
        <button
          type="button"
          onClick={() => setOpen(!open)}
          aria-expanded={open}
          aria-controls={outputId}
          aria-label={open ? t('jobs.output.hide', { name: target.agentName }) : t('jobs.output.show', { name: target.agentName })}
          className="-ml-1 rounded-md p-1 text-slate-400 hover:bg-slate-100 hover:text-slate-700 dark:hover:bg-slate-800 dark:hover:text-slate-200"
        >
          <ChevronDownIcon className={cn('size-4 transition-transform', !open && '-rotate-90')} />
        </button>
        <Link to={machinePath(target.agentName)} className="min-w-0 truncate font-medium text-slate-900 hover:underline dark:text-slate-100">
          {target.agentName}
        </Link>
        <TargetStatePill state={target.state} />
        <span className="ml-auto flex items-center gap-3 text-xs text-slate-500 tabular-nums dark:text-slate-400">
          {target.exitCode !== null && (
            <span data-testid="target-exit-code">
              {t('jobs.exitCode')} <span className={cn('font-mono font-medium', target.exitCode === 0 ? 'text-emerald-700 dark:text-emerald-400' : 'text-red-700 dark:text-red-400')}>{target.exitCode}</span>
            </span>
          )}
          {target.signal && <span className="font-mono">{target.signal}</span>}
          <span title={final ? t('jobs.duration') : t('jobs.elapsed')}>{formatElapsed(durationOf(target, now), locale)}</span>
        </span>
        {target.error && <p className="w-full text-xs text-red-700 dark:text-red-400">{target.error}</p>}
      </div>
      {open && (
        <div id={outputId}>
          <TargetOutput target={target} />
        </div>
      )}
    </li>
  );
}

function ProgressBar({ done, total }: { done: number; total: number }) {
  const { t } = useI18n();
  const fraction = total === 0 ? 1 : done / total;
  return (
    <div
      role="progressbar"
      aria-label={t('jobs.progressLabel')}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      className="h-1.5 w-full overflow-hidden rounded-full bg-slate-100 dark:bg-slate-800"
    >
      <div className="h-full w-full origin-left rounded-full bg-indigo-500 transition-transform duration-300" style={{ transform: `scaleX(${fraction})` }} />
    </div>
  );
}

/** The summary, progress and cancel button above the targets. */
function JobHeader({ live, headingLevel }: { live: LiveJob; headingLevel: 1 | 2 }) {
  const { t, locale } = useI18n();
  const notify = useToast();
  const describeTargets = useDescribeTargets();
  const cancel = useCancelJob(live.job.id);
  const { done, total } = progressOf(live);
  const job = live.job;
  const Heading = headingLevel === 1 ? 'h1' : 'h2';
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <Heading className={cn('font-semibold text-slate-900 dark:text-white', headingLevel === 1 ? 'text-xl' : 'text-base')}>
            <CommandText command={job.command} className={headingLevel === 1 ? 'text-lg' : 'text-sm'} />
          </Heading>
          <p className="mt-1 text-sm text-slate-500 dark:text-slate-400">
            {t('jobs.on')} <span className="font-medium text-slate-700 dark:text-slate-200">{describeTargets(job.targetsSpec)}</span> · {t('jobs.by', { actor: job.createdBy })} ·{' '}
            {formatDateTime(job.createdAt, locale)}
          </p>
        </div>
        <div className="flex items-center gap-2">
          <JobStatePill state={job.state} failed={problemCount(job.counts)} cancelled={job.cancelledAt !== null} />
          {isCancellable(job) && (
            <Button
              size="sm"
              variant="secondary"
              disabled={cancel.isPending}
              onClick={() =>
                cancel.mutate(undefined, {
                  onSuccess: () => notify(t('jobs.cancelled')),
                  onError: (error) => notify(t('jobs.cancelFailed'), { tone: 'error', description: describeError(error) }),
                })
              }
            >
              <XIcon className="size-3.5" /> {t('jobs.cancel')}
            </Button>
          )}
        </div>
      </div>
      <div className="flex flex-col gap-1.5">
        <div className="flex justify-between text-xs text-slate-600 tabular-nums dark:text-slate-300">
          <span data-testid="job-progress">{t('jobs.progress', { done, total })}</span>
          <span className="text-slate-500 dark:text-slate-400">
            {(['succeeded', 'failed', 'timed_out', 'refused', 'expired', 'cancelled'] as const)
              .filter((state) => (job.counts[state] ?? 0) > 0)
              .map((state) => `${t(`jobs.state.${state}`)} ${job.counts[state]}`)
              .join(' · ')}
          </span>
        </div>
        <ProgressBar done={done} total={total} />
      </div>
    </div>
  );
}

/**
 * A job as it runs: progress n of N, each machine's state, exit code, duration and output
 * (streamed), and cancel. Used by the Jobs page, the job page and the machine page's dialog.
 */
export function JobLiveView({ jobId, initial, headingLevel = 2 }: { jobId: string; initial?: Job | undefined; headingLevel?: 1 | 2 }) {
  const { t } = useI18n();
  const { live, error } = useLiveJob(jobId, initial);
  const [filter, setFilter] = useState<TargetFilter>('all');
  const [shown, setShown] = useState(TARGETS_PER_PAGE);
  const running = live?.job.state === 'running';
  // Durations of running targets tick; a finished job needs no clock.
  const now = useNow(running ? 1_000 : 3_600_000);

  const targets = useMemo(() => {
    if (!live) return [];
    if (filter === 'problems') return live.targets.filter((target) => PROBLEM_STATES.includes(target.state));
    if (filter === 'unfinished') return live.targets.filter((target) => !isFinalTargetState(target.state));
    return live.targets;
  }, [live, filter]);

  if (!live) {
    if (error) return <ErrorNote>{t('jobs.loadError', { detail: describeError(error) })}</ErrorNote>;
    return (
      <div className="flex justify-center py-10 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  }
  const many = live.targets.length > UNFOLDED_TARGETS;
  return (
    <div data-testid="job-view" data-job-id={live.job.id} data-job-state={live.job.state} className="flex flex-col gap-4">
      <JobHeader live={live} headingLevel={headingLevel} />
      {many && (
        <Segmented<TargetFilter>
          size="sm"
          label={t('jobs.filterTargets')}
          value={filter}
          onChange={(next) => {
            setFilter(next);
            setShown(TARGETS_PER_PAGE);
          }}
          options={[
            { value: 'all', label: t('jobs.filter.all') },
            { value: 'problems', label: t('jobs.filter.problems') },
            { value: 'unfinished', label: t('jobs.filter.unfinished') },
          ]}
        />
      )}
      <ul className="flex flex-col gap-2">
        {targets.slice(0, shown).map((target) => (
          <TargetRow key={target.commandId} target={target} now={now} initiallyOpen={!many} />
        ))}
      </ul>
      {targets.length > shown && (
        <Button size="sm" className="self-center" onClick={() => setShown(shown + TARGETS_PER_PAGE)}>
          {t('jobs.showMoreTargets', { n: targets.length - shown })}
        </Button>
      )}
    </div>
  );
}
