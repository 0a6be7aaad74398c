import { usePageTitle } from '../app/page-title.js';
import { Link } from '../app/router.js';
import { JobLiveView } from '../features/jobs/components/job-live-view.js';
import { useI18n } from '../i18n/i18n.js';
import { Panel } from '../ui/card.js';
import { ChevronLeftIcon } from '../ui/icons.js';

/** One job: live while it runs, its stored outcome afterwards. */
export function JobPage({ id }: { id: string }) {
  const { t } = useI18n();
  usePageTitle(t('jobs.jobTitle', { id }));
  return (
    <div className="flex flex-col gap-4">
      <Link to="/jobs" className="inline-flex w-fit items-center gap-1 rounded-md text-sm text-slate-500 hover:text-slate-900 dark:text-slate-400 dark:hover:text-white">
        <ChevronLeftIcon /> {t('jobs.back')}
      </Link>
      <Panel>
        <JobLiveView jobId={id} headingLevel={1} />
      </Panel>
      <p className="font-mono text-xs text-slate-400 dark:text-slate-500">{id}</p>
    </div>
  );
}
