import type { Alert } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { Link, machinePath } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { RelativeTime } from '../../../ui/clock.js';
import { Modal } from '../../../ui/dialog.js';
import { Field, TextInput } from '../../../ui/field.js';
import { BellIcon, CheckIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { useAcknowledgeAlert, useAlerts } from '../hooks/use-alerts.js';
import { AlertStatePill, SeverityPill } from './alert-parts.js';

function AckDialog({ alert, onClose }: { alert: Alert; onClose(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const ack = useAcknowledgeAlert();
  const [note, setNote] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    ack.mutate(
      { id: alert.id, note: note.trim() || undefined },
      {
        onSuccess: () => {
          notify(t('alerts.acked'));
          onClose();
        },
      },
    );
  };
  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={t('alerts.ackTitle')} description={alert.summary}>
      <form onSubmit={submit} className="flex flex-col gap-4">
        <Field label={t('alerts.ackNote')} hint={t('alerts.ackHint')}>
          {({ id, describedBy }) => <TextInput id={id} name="note" value={note} maxLength={500} onChange={(event) => setNote(event.target.value)} aria-describedby={describedBy} autoFocus />}
        </Field>
        {ack.error && <ErrorNote>{describeError(ack.error)}</ErrorNote>}
        <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" disabled={ack.isPending}>
            <CheckIcon /> {t('alerts.ack')}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

function AlertRow({ alert, onAck }: { alert: Alert; onAck?: (alert: Alert) => void }) {
  const { t } = useI18n();
  const canAck = onAck && alert.state !== 'resolved' && alert.acknowledgedAt === null;
  return (
    <li data-testid="alert-row" data-alert-id={alert.id} data-state={alert.state} data-rule={alert.ruleName} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-start sm:gap-4">
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-center gap-2">
          <SeverityPill severity={alert.severity} />
          <AlertStatePill state={alert.state} />
          <span className="font-medium text-slate-900 dark:text-slate-100">{alert.ruleName}</span>
          {alert.agentName && (
            <Link to={machinePath(alert.agentName)} className="text-sm text-indigo-600 hover:underline dark:text-indigo-400">
              {alert.agentName}
            </Link>
          )}
          {alert.instance && <code className="font-mono text-xs text-slate-500 dark:text-slate-400">{alert.instance}</code>}
          {alert.silenced && <span className="text-xs font-medium text-slate-500 dark:text-slate-400">{t('alerts.silenced')}</span>}
        </div>
        <p className="mt-1 text-sm break-words text-slate-600 dark:text-slate-300" data-testid="alert-summary">
          {alert.summary}
        </p>
        <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          {t('alerts.since')} <RelativeTime at={alert.since} />
          {alert.resolvedAt !== null && (
            <>
              {' · '}
              {t('alerts.resolvedAt')} <RelativeTime at={alert.resolvedAt} />
            </>
          )}
          {alert.acknowledgedAt !== null && (
            <>
              {' · '}
              {t('alerts.ackedBy', { actor: alert.acknowledgedBy ?? '?' })}
              {alert.acknowledgeNote ? `: ${alert.acknowledgeNote}` : ''}
            </>
          )}
        </p>
      </div>
      {canAck && (
        <Button size="sm" onClick={() => onAck(alert)}>
          <CheckIcon className="size-3.5" /> {t('alerts.ack')}
        </Button>
      )}
    </li>
  );
}

/** A list of alerts with its own loading, empty and error states, and older pages on demand. */
function AlertsPanel({ title, state, emptyText, onAck, testId }: { title: string; state: 'active' | 'resolved'; emptyText: string; onAck?: (alert: Alert) => void; testId: string }) {
  const { t } = useI18n();
  const alerts = useAlerts({ state, limit: 50 });
  const list = alerts.data?.pages.flatMap((page) => page.alerts) ?? [];
  let body;
  if (alerts.error && !alerts.data) body = <ErrorNote onRetry={() => void alerts.refetch()} retryLabel={t('common.retry')}>{t('alerts.loadError', { detail: describeError(alerts.error) })}</ErrorNote>;
  else if (!alerts.data)
    body = (
      <div className="flex justify-center py-8 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  else if (list.length === 0) body = <EmptyState icon={<BellIcon className="size-6" />} title={emptyText} />;
  else
    body = (
      <ul className="-my-3 divide-y divide-slate-100 dark:divide-slate-800">
        {list.map((alert) => (
          <AlertRow key={alert.id} alert={alert} {...(onAck ? { onAck } : {})} />
        ))}
      </ul>
    );
  return (
    <Panel title={title} data-testid={testId}>
      {body}
      {alerts.hasNextPage && (
        <div className="mt-4 flex justify-center">
          <Button size="sm" disabled={alerts.isFetchingNextPage} onClick={() => void alerts.fetchNextPage()}>
            {t('alerts.loadOlder')}
          </Button>
        </div>
      )}
    </Panel>
  );
}

/** Firing and pending alerts (acknowledge), then the resolved ones. */
export function AlertList() {
  const { t } = useI18n();
  const [acking, setAcking] = useState<Alert | null>(null);
  return (
    <div className="flex flex-col gap-6">
      <AlertsPanel title={t('alerts.activeTitle')} state="active" emptyText={t('alerts.activeEmpty')} onAck={setAcking} testId="alerts-active" />
      <AlertsPanel title={t('alerts.historyTitle')} state="resolved" emptyText={t('alerts.historyEmpty')} testId="alerts-history" />
      {acking && <AckDialog alert={acking} onClose={() => setAcking(null)} />}
    </div>
  );
}
