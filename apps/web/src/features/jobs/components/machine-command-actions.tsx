import type { Agent, Job } from '@farol/protocol';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { jobPath, Link } from '../../../app/router.js';
import { useSignedIn } from '../../../app/session.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button, buttonClasses } from '../../../ui/button.js';
import { ErrorNote } from '../../../ui/card.js';
import { ConfirmDialog, Modal } from '../../../ui/dialog.js';
import { PowerIcon, RestartIcon, TerminalIcon } from '../../../ui/icons.js';
import { JobLiveView } from './job-live-view.js';
import { RunCommandForm } from './run-command-form.js';

/** "Run command" on one machine: the Jobs page's form, then the job's live output in place. */
function RunCommandDialog({ agent, open, onOpenChange }: { agent: Agent; open: boolean; onOpenChange(open: boolean): void }) {
  const { t } = useI18n();
  const [job, setJob] = useState<Job | null>(null);
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={t('machineActions.runTitle', { name: agent.name })} wide>
      {job ? (
        <div className="flex flex-col gap-4">
          <JobLiveView jobId={job.id} initial={job} />
          <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-between">
            <Button onClick={() => setJob(null)}>{t('machineActions.runAnother')}</Button>
            <Link to={jobPath(job.id)} className={buttonClasses('primary')} onClick={() => onOpenChange(false)}>
              {t('jobs.openJob')}
            </Link>
          </div>
        </div>
      ) : (
        <RunCommandForm machine={agent} onStarted={setJob} />
      )}
    </Modal>
  );
}

type Lifecycle = 'restart' | 'stop';

/** Restart or stop the agent, after a confirmation; the job that carried it is linked. */
function LifecycleDialog({ agent, action, onClose, onSent }: { agent: Agent; action: Lifecycle; onClose(): void; onSent(job: Job): void }) {
  const { t } = useI18n();
  const { client } = useSignedIn();
  const send = useMutation({
    mutationFn: () => (action === 'restart' ? client.restartAgent(agent.id, { wait: false }) : client.stopAgent(agent.id, { wait: false })),
    onSuccess: (job) => {
      onSent(job);
      onClose();
    },
  });
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={t(action === 'restart' ? 'machineActions.restartTitle' : 'machineActions.stopTitle', { name: agent.name })}
      description={t(action === 'restart' ? 'machineActions.restartBody' : 'machineActions.stopBody')}
      confirmLabel={t(action === 'restart' ? 'machineActions.restartConfirm' : 'machineActions.stopConfirm')}
      busy={send.isPending}
      error={send.error ? <ErrorNote>{describeError(send.error)}</ErrorNote> : undefined}
      onConfirm={() => send.mutate()}
    />
  );
}

/**
 * The command buttons of a machine page: run a command, restart and stop the agent. The last
 * lifecycle request stays visible with a link to its job, where its outcome shows.
 */
export function MachineCommandActions({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  const [running, setRunning] = useState(false);
  const [lifecycle, setLifecycle] = useState<Lifecycle | null>(null);
  const [sent, setSent] = useState<{ action: Lifecycle; job: Job } | null>(null);
  return (
    <>
      <Button size="sm" variant="primary" onClick={() => setRunning(true)}>
        <TerminalIcon className="size-3.5" /> {t('machineActions.run')}
      </Button>
      <Button size="sm" onClick={() => setLifecycle('restart')}>
        <RestartIcon className="size-3.5" /> {t('machineActions.restart')}
      </Button>
      <Button size="sm" variant="dangerGhost" onClick={() => setLifecycle('stop')}>
        <PowerIcon className="size-3.5" /> {t('machineActions.stop')}
      </Button>
      {sent && (
        <span role="status" className="text-xs text-slate-500 dark:text-slate-400">
          {t(sent.action === 'restart' ? 'machineActions.restartSent' : 'machineActions.stopSent')}{' '}
          <Link to={jobPath(sent.job.id)} className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
            {t('machineActions.viewJob')}
          </Link>
        </span>
      )}
      {running && <RunCommandDialog agent={agent} open={running} onOpenChange={setRunning} />}
      {lifecycle && <LifecycleDialog agent={agent} action={lifecycle} onClose={() => setLifecycle(null)} onSent={(job) => setSent({ action: lifecycle, job })} />}
    </>
  );
}
