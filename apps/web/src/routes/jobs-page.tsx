import type { Job } from '@farol/protocol';
import { useState } from 'react';
import { usePageTitle } from '../app/page-title.js';
import { jobPath, Link } from '../app/router.js';
import { JobHistory } from '../features/jobs/components/job-history.js';
import { JobLiveView } from '../features/jobs/components/job-live-view.js';
import { RunCommandForm } from '../features/jobs/components/run-command-form.js';
import { useI18n } from '../i18n/i18n.js';
import { Panel } from '../ui/card.js';

/** Run a command on a selector and watch it here; below, every job so far. */
export function JobsPage() {
  const { t } = useI18n();
  const [started, setStarted] = useState<Job | null>(null);
  usePageTitle(t('jobs.title'));

  return (
    <div className="flex flex-col gap-6">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{t('jobs.title')}</h1>
        <p className="mt-1 text-sm text-slate-500 dark:text-slate-400">{t('jobs.intro')}</p>
      </div>
      <div className="grid gap-6 lg:grid-cols-5">
        <Panel title={t('jobs.runTitle')} className="lg:col-span-2">
          <RunCommandForm onStarted={setStarted} />
        </Panel>
        <Panel
          title={t('jobs.currentTitle')}
          className="min-w-0 lg:col-span-3"
          actions={
            started && (
              <Link to={jobPath(started.id)} className="text-sm font-medium text-indigo-600 hover:underline dark:text-indigo-400">
                {t('jobs.openJob')}
              </Link>
            )
          }
        >
          {started ? <JobLiveView key={started.id} jobId={started.id} initial={started} /> : <p className="py-6 text-center text-sm text-slate-500 dark:text-slate-400">{t('jobs.currentEmpty')}</p>}
        </Panel>
      </div>
      <JobHistory />
    </div>
  );
}
