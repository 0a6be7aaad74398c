import { AUDIT_ACTIONS, type AuditEntry } from '@farol/protocol';
import { useMemo, useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { jobPath, Link, machinePath } from '../../../app/router.js';
import { useFleetSnapshot } from '../../fleet/hooks/use-fleet.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { useDebounced } from '../../../ui/debounce.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { formatDateTime } from '../../../ui/format.js';
import { ShieldIcon } from '../../../ui/icons.js';
import { useMediaQuery } from '../../../ui/media-query.js';
import { describeAuditDetails } from '../audit-details.js';
import { useAuditLog } from '../hooks/use-audit.js';

export const AUDIT_RANGES = ['any', '1h', '24h', '7d', '30d'] as const;
export type AuditRange = (typeof AUDIT_RANGES)[number];
const RANGE_MS: Record<Exclude<AuditRange, 'any'>, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

function AuditRow({ entry, machineName }: { entry: AuditEntry; machineName: string | null }) {
  const { t, locale } = useI18n();
  const details = describeAuditDetails(entry, t, locale);
  // What an agent did is recorded as `agent:<id>`; the machine's name reads better.
  const actor = machineName && entry.actor === `agent:${entry.agentId}` ? t('audit.agentActor', { name: machineName }) : entry.actor;
  return (
    <tr data-testid="audit-row" data-action={entry.action} data-seq={entry.seq} className="align-top">
      <td className="py-2.5 pr-3 font-mono text-xs text-slate-400 tabular-nums dark:text-slate-500">{entry.seq}</td>
      <td className="py-2.5 pr-3 text-xs whitespace-nowrap text-slate-600 tabular-nums dark:text-slate-300">{formatDateTime(entry.at, locale)}</td>
      <td className="py-2.5 pr-3 text-sm break-all text-slate-900 dark:text-slate-100" title={entry.actor}>
        {actor}
      </td>
      <td className="py-2.5 pr-3">
        <code className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-700 dark:bg-slate-800 dark:text-slate-200">{entry.action}</code>
      </td>
      <td className="py-2.5 pr-3 text-sm">
        {entry.agentId === null ? (
          <span className="text-slate-400">—</span>
        ) : machineName ? (
          <Link to={machinePath(machineName)} className="text-indigo-600 hover:underline dark:text-indigo-400">
            {machineName}
          </Link>
        ) : (
          <span className="font-mono text-xs text-slate-500">{entry.agentId}</span>
        )}
      </td>
      <td className="py-2.5 pr-3 text-xs">
        {entry.jobId ? (
          <Link to={jobPath(entry.jobId)} className="font-mono text-indigo-600 hover:underline dark:text-indigo-400">
            {entry.jobId}
          </Link>
        ) : (
          <span className="text-slate-400">—</span>
        )}
      </td>
      <td className="max-w-md py-2.5 text-sm break-words text-slate-600 dark:text-slate-300" data-testid="audit-details" title={JSON.stringify(entry.details)}>
        {details}
      </td>
    </tr>
  );
}

/** One entry as a card, for phones, where the table would need sideways scrolling. */
function AuditCard({ entry, machineName }: { entry: AuditEntry; machineName: string | null }) {
  const { t, locale } = useI18n();
  const actor = machineName && entry.actor === `agent:${entry.agentId}` ? t('audit.agentActor', { name: machineName }) : entry.actor;
  return (
    <li data-testid="audit-row" data-action={entry.action} data-seq={entry.seq} className="flex flex-col gap-1 py-3">
      <div className="flex flex-wrap items-center gap-2">
        <code className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-700 dark:bg-slate-800 dark:text-slate-200">{entry.action}</code>
        <span className="text-sm break-all text-slate-900 dark:text-slate-100">{actor}</span>
        <span className="ml-auto font-mono text-xs text-slate-400 dark:text-slate-500">#{entry.seq}</span>
      </div>
      <p className="text-xs text-slate-500 dark:text-slate-400">
        {formatDateTime(entry.at, locale)}
        {machineName && (
          <>
            {' · '}
            <Link to={machinePath(machineName)} className="text-indigo-600 dark:text-indigo-400">
              {machineName}
            </Link>
          </>
        )}
        {entry.jobId && (
          <>
            {' · '}
            <Link to={jobPath(entry.jobId)} className="font-mono text-indigo-600 dark:text-indigo-400">
              {entry.jobId}
            </Link>
          </>
        )}
      </p>
      <p className="text-sm break-words text-slate-600 dark:text-slate-300" data-testid="audit-details">
        {describeAuditDetails(entry, t, locale)}
      </p>
    </li>
  );
}

/** The audit log: filters (actor, action, machine, time), the entries, older pages on demand. */
export function AuditLog() {
  const { t } = useI18n();
  const snapshot = useFleetSnapshot();
  const isWide = useMediaQuery('(min-width: 768px)');
  const [actor, setActor] = useState('');
  const [machine, setMachine] = useState('');
  const [action, setAction] = useState<string>('');
  const [range, setRange] = useState<{ range: AuditRange; from: number | undefined }>({ range: 'any', from: undefined });
  const debouncedActor = useDebounced(actor.trim(), 300);
  const debouncedMachine = useDebounced(machine.trim(), 300);
  const filter = useMemo(
    () => ({
      actor: debouncedActor || undefined,
      agent: debouncedMachine || undefined,
      action: (AUDIT_ACTIONS as readonly string[]).includes(action) ? (action as (typeof AUDIT_ACTIONS)[number]) : undefined,
      from: range.from,
    }),
    [debouncedActor, debouncedMachine, action, range.from],
  );
  const log = useAuditLog(filter);
  const entries = log.data?.pages.flatMap((page) => page.entries) ?? [];
  const filtered = filter.actor !== undefined || filter.agent !== undefined || filter.action !== undefined || filter.from !== undefined;

  let body;
  if (log.error && !log.data) {
    body = <ErrorNote onRetry={() => void log.refetch()} retryLabel={t('common.retry')}>{t('audit.loadError', { detail: describeError(log.error) })}</ErrorNote>;
  } else if (!log.data) {
    body = (
      <div className="flex justify-center py-10 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  } else if (entries.length === 0) {
    body = <EmptyState icon={<ShieldIcon className="size-6" />} title={filtered ? t('audit.emptyFiltered') : t('audit.empty')} />;
  } else if (!isWide) {
    body = (
      <ul className="-my-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="audit-table">
        {entries.map((entry) => (
          <AuditCard key={entry.seq} entry={entry} machineName={entry.agentId ? (snapshot.machines.get(entry.agentId)?.name ?? null) : null} />
        ))}
      </ul>
    );
  } else {
    body = (
      <div className="-mx-4 overflow-x-auto px-4 sm:-mx-5 sm:px-5">
        <table className="w-full min-w-[760px] text-left" data-testid="audit-table">
          <thead className="text-xs font-medium text-slate-500 dark:text-slate-400">
            <tr className="border-b border-slate-100 dark:border-slate-800">
              <th className="pb-2 pr-3 font-medium">#</th>
              <th className="pb-2 pr-3 font-medium">{t('audit.time')}</th>
              <th className="pb-2 pr-3 font-medium">{t('audit.actor')}</th>
              <th className="pb-2 pr-3 font-medium">{t('audit.action')}</th>
              <th className="pb-2 pr-3 font-medium">{t('audit.machine')}</th>
              <th className="pb-2 pr-3 font-medium">{t('audit.job')}</th>
              <th className="pb-2 font-medium">{t('audit.details')}</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {entries.map((entry) => (
              <AuditRow key={entry.seq} entry={entry} machineName={entry.agentId ? (snapshot.machines.get(entry.agentId)?.name ?? null) : null} />
            ))}
          </tbody>
        </table>
      </div>
    );
  }

  return (
    <Panel title={t('audit.entriesTitle')}>
      <div className="mb-5 grid grid-cols-2 gap-3 lg:grid-cols-4">
        <Field label={t('audit.actor')}>
          {({ id }) => <TextInput id={id} name="actor" value={actor} onChange={(event) => setActor(event.target.value)} placeholder="admin" spellCheck={false} autoCapitalize="off" />}
        </Field>
        <Field label={t('audit.action')}>
          {({ id }) => (
            <Select id={id} name="action" value={action} onChange={(event) => setAction(event.target.value)}>
              <option value="">{t('audit.anyAction')}</option>
              {AUDIT_ACTIONS.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label={t('audit.machine')}>
          {({ id }) => <TextInput id={id} name="machine" value={machine} onChange={(event) => setMachine(event.target.value)} placeholder={t('audit.machinePlaceholder')} spellCheck={false} autoCapitalize="off" />}
        </Field>
        <Field label={t('audit.time')}>
          {({ id }) => (
            <Select
              id={id}
              name="range"
              value={range.range}
              onChange={(event) => {
                const next = event.target.value as AuditRange;
                setRange({ range: next, from: next === 'any' ? undefined : Date.now() - RANGE_MS[next] });
              }}
            >
              {AUDIT_RANGES.map((value) => (
                <option key={value} value={value}>
                  {t(`audit.range.${value}`)}
                </option>
              ))}
            </Select>
          )}
        </Field>
      </div>
      {body}
      {log.hasNextPage && (
        <div className="mt-4 flex justify-center">
          <Button size="sm" disabled={log.isFetchingNextPage} onClick={() => void log.fetchNextPage()}>
            {log.isFetchingNextPage ? <Spinner className="size-3.5" /> : null} {t('audit.loadOlder')}
          </Button>
        </div>
      )}
    </Panel>
  );
}
