import type { JobState } from '@farol/protocol';
import { usePersistentState } from '../../../app/persistent-state.js';
import { describeError } from '../../../app/query-client.js';
import { jobPath, Link } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { RelativeTime } from '../../../ui/clock.js';
import { Segmented } from '../../../ui/field.js';
import { TerminalIcon } from '../../../ui/icons.js';
import { useJobHistory } from '../hooks/use-jobs.js';
import { CommandText, JobStatePill, problemCount, useDescribeTargets } from './job-parts.js';

type StateFilter = 'all' | JobState;
const parseFilter = (stored: unknown): StateFilter | undefined => (stored === 'all' || stored === 'running' || stored === 'done' ? stored : undefined);

/** Every job, newest first, filtered by state, a page at a time; each opens its job page. */
export function JobHistory() {
  const { t } = useI18n();
  const describeTargets = useDescribeTargets();
  const [filter, setFilter] = usePersistentState<StateFilter>('session', 'farol.jobs.filter', 'all', parseFilter);
  const history = useJobHistory(filter === 'all' ? undefined : filter);
  const jobs = history.data?.pages.flatMap((page) => page.jobs) ?? [];

  let body;
  if (history.error && !history.data) {
    body = <ErrorNote onRetry={() => void history.refetch()} retryLabel={t('common.retry')}>{t('jobs.historyError', { detail: describeError(history.error) })}</ErrorNote>;
  } else if (!history.data) {
    body = (
      <div className="flex justify-center py-10 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  } else if (jobs.length === 0) {
    body = <EmptyState icon={<TerminalIcon className="size-6" />} title={filter === 'all' ? t('jobs.historyEmpty') : t('jobs.historyEmptyFiltered')} />;
  } else {
    body = (
      <ul className="-my-2 divide-y divide-slate-100 dark:divide-slate-800" data-testid="job-history">
        {jobs.map((job) => {
          const done = job.total - (job.counts.queued ?? 0) - (job.counts.sent ?? 0) - (job.counts.running ?? 0);
          return (
            <li key={job.id} data-testid="job-row" data-job-id={job.id} data-job-state={job.state}>
              <Link to={jobPath(job.id)} className="-mx-2 flex flex-col gap-1 rounded-lg px-2 py-2.5 hover:bg-slate-50 sm:flex-row sm:items-center sm:gap-4 dark:hover:bg-slate-800/60">
                <div className="min-w-0 flex-1">
                  <CommandText command={job.command} className="block truncate" />
                  <span className="mt-0.5 block truncate text-xs text-slate-500 dark:text-slate-400">
                    {describeTargets(job.targetsSpec)} · {t('jobs.by', { actor: job.createdBy })}
                  </span>
                </div>
                <div className="flex shrink-0 items-center gap-3 text-xs text-slate-500 tabular-nums dark:text-slate-400">
                  <span>{t('jobs.progress', { done, total: job.total })}</span>
                  <JobStatePill state={job.state} failed={problemCount(job.counts)} cancelled={job.cancelledAt !== null} />
                  <RelativeTime at={job.createdAt} className="w-20 text-right" />
                </div>
              </Link>
            </li>
          );
        })}
      </ul>
    );
  }

  return (
    <Panel
      title={t('jobs.historyTitle')}
      actions={
        <Segmented<StateFilter>
          size="sm"
          label={t('jobs.historyFilter')}
          value={filter}
          onChange={setFilter}
          options={[
            { value: 'all', label: t('jobs.filter.all') },
            { value: 'running', label: t('jobs.outcome.running') },
            { value: 'done', label: t('jobs.filter.done') },
          ]}
        />
      }
    >
      {body}
      {history.hasNextPage && (
        <div className="mt-4 flex justify-center">
          <Button size="sm" disabled={history.isFetchingNextPage} onClick={() => void history.fetchNextPage()}>
            {history.isFetchingNextPage ? <Spinner className="size-3.5" /> : null} {t('jobs.loadOlder')}
          </Button>
        </div>
      )}
    </Panel>
  );
}
