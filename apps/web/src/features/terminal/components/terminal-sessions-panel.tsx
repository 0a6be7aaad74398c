import { createTerminalSessionsClient } from '@farol/client';
import type { TerminalSession } from '@farol/protocol';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { describeError } from '../../../app/query-client.js';
import { Link, machinePath } from '../../../app/router.js';
import { useSignedIn } from '../../../app/session.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { formatBytes, formatDateTime, formatDuration } from '../../../ui/format.js';
import { TerminalIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { Pill } from '../../jobs/components/job-parts.js';

/** Hands a fetched file to the browser as a download (the request carried the credentials, a plain link could not for API tokens). */
function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = filename;
  anchor.rel = 'noopener';
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  // The click has started the download synchronously; the URL is no longer needed after this turn.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

function durationOf(session: TerminalSession): number | null {
  return session.closedAt === null ? null : Math.max(0, Math.round((session.closedAt - session.openedAt) / 1000));
}

/** Audit → terminal sessions: who opened a shell where, for how long, how many bytes, and the recording when there is one. */
export function TerminalSessionsPanel() {
  const { t, locale } = useI18n();
  const notify = useToast();
  const { clientOptions } = useSignedIn();
  const sessions = useMemo(() => createTerminalSessionsClient(clientOptions), [clientOptions]);
  const list = useQuery({ queryKey: ['terminal', 'sessions'], queryFn: () => sessions.listSessions({ limit: 100 }) });
  const download = useMutation({
    mutationFn: async (session: TerminalSession) => {
      const blob = await sessions.downloadRecording(session.id);
      saveBlob(blob, `${session.agentName.replace(/[^\w.-]/g, '_')}-${session.id}.cast`);
    },
    onError: (error) => notify(t('terminalSessions.downloadFailed'), { tone: 'error', description: describeError(error) }),
  });

  let body;
  if (list.error) body = <ErrorNote onRetry={() => void list.refetch()} retryLabel={t('common.retry')}>{t('terminalSessions.loadError', { detail: describeError(list.error) })}</ErrorNote>;
  else if (!list.data)
    body = (
      <div className="flex justify-center py-6 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  else if (list.data.sessions.length === 0) body = <EmptyState icon={<TerminalIcon className="size-6" />} title={t('terminalSessions.empty')} />;
  else
    body = (
      <ul className="-my-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="terminal-sessions">
        {list.data.sessions.map((session) => {
          const seconds = durationOf(session);
          return (
            <li key={session.id} data-testid="terminal-session-row" data-session={session.id} data-recorded={String(session.recorded)} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:gap-4">
              <div className="min-w-0 flex-1">
                <div className="flex flex-wrap items-center gap-2 text-sm">
                  <span className="font-medium text-slate-900 dark:text-slate-100">{session.actor}</span>
                  <span className="text-slate-400">→</span>
                  <Link to={machinePath(session.agentName)} className="font-medium text-indigo-600 underline-offset-2 hover:underline dark:text-indigo-400">
                    {session.agentName}
                  </Link>
                  {session.closedAt === null ? <Pill tone="active">{t('terminalSessions.open')}</Pill> : session.closeReason && <Pill tone="neutral">{t(`terminalSessions.reason.${session.closeReason}`)}</Pill>}
                  {session.exitCode !== null && <Pill tone={session.exitCode === 0 ? 'good' : 'warn'}>{t('terminalSessions.exit', { code: session.exitCode })}</Pill>}
                </div>
                <p className="mt-0.5 text-xs text-slate-500 tabular-nums dark:text-slate-400">
                  {t('terminalSessions.details', {
                    start: formatDateTime(session.openedAt, locale),
                    duration: seconds === null ? '—' : formatDuration(seconds),
                    typed: formatBytes(session.bytesIn, locale),
                    output: formatBytes(session.bytesOut, locale),
                  })}
                </p>
              </div>
              <div className="shrink-0">
                {session.recorded ? (
                  <Button size="sm" onClick={() => download.mutate(session)} disabled={download.isPending && download.variables.id === session.id}>
                    {t('terminalSessions.download')}
                  </Button>
                ) : (
                  <span className="text-xs text-slate-400 dark:text-slate-500">{t('terminalSessions.notRecorded')}</span>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    );

  return (
    <Panel title={t('terminalSessions.title')} description={t('terminalSessions.intro')} data-testid="terminal-sessions-panel">
      {body}
    </Panel>
  );
}
