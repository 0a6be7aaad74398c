import type { Agent, ContainerSample } from '@farol/protocol';
import { useEffect, useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Spinner } from '../../../ui/card.js';
import { Modal } from '../../../ui/dialog.js';
import { useContainerCommand } from '../hooks/use-containers.js';

const TAIL_CHOICES = [100, 500, 2_000] as const;

/**
 * A container's last log lines, fetched with `docker_logs` when the dialog opens. Shown as
 * plain text (never as HTML): a log is whatever the container printed.
 */
export function ContainerLogsDialog({ agent, container, onClose }: { agent: Agent; container: ContainerSample; onClose(): void }) {
  const { t } = useI18n();
  const [tail, setTail] = useState<number>(TAIL_CHOICES[0]);
  const command = useContainerCommand(agent.id);
  const { mutate } = command;
  useEffect(() => {
    mutate({ kind: 'docker_logs', container: container.name, tail });
  }, [mutate, container.name, tail]);
  const target = command.data?.target;
  const failure = command.error ? describeError(command.error) : command.data && !command.data.ok ? target?.error ?? target?.state ?? null : null;
  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={t('containers.logsTitle', { name: container.name, machine: agent.name })} wide>
      <div className="flex flex-col gap-3">
        <div className="flex flex-wrap items-center gap-2 text-xs text-slate-500 dark:text-slate-400">
          <span>{t('containers.logsTail')}</span>
          {TAIL_CHOICES.map((n) => (
            <Button key={n} size="sm" variant={n === tail ? 'primary' : 'ghost'} onClick={() => setTail(n)} aria-pressed={n === tail}>
              {n}
            </Button>
          ))}
          <Button size="sm" variant="ghost" disabled={command.isPending} onClick={() => mutate({ kind: 'docker_logs', container: container.name, tail })}>
            {t('containers.logsReload')}
          </Button>
        </div>
        {command.isPending && (
          <div className="flex justify-center py-8 text-slate-400">
            <Spinner className="size-5" />
          </div>
        )}
        {failure && <ErrorNote>{t('containers.failed', { detail: failure })}</ErrorNote>}
        {!command.isPending && target && command.data?.ok && (
          <>
            {(target.stdoutTruncated || target.stderrTruncated) && <p className="text-xs text-amber-700 dark:text-amber-400">{t('containers.logsTruncated')}</p>}
            {target.stdout === '' && target.stderr === '' ? (
              <p className="text-sm text-slate-500 dark:text-slate-400">{t('containers.logsEmpty')}</p>
            ) : (
              <>
                <pre data-testid="container-logs-stdout" className="max-h-[55dvh] overflow-auto rounded-lg bg-slate-950 p-3 font-mono text-xs whitespace-pre-wrap text-slate-100">
                  {target.stdout}
                </pre>
                {target.stderr !== '' && (
                  <>
                    <h3 className="text-xs font-medium text-slate-500 dark:text-slate-400">{t('containers.logsStderr')}</h3>
                    <pre data-testid="container-logs-stderr" className="max-h-[30dvh] overflow-auto rounded-lg bg-slate-950 p-3 font-mono text-xs whitespace-pre-wrap text-red-300">
                      {target.stderr}
                    </pre>
                  </>
                )}
              </>
            )}
          </>
        )}
      </div>
    </Modal>
  );
}
