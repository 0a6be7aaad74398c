import { SilenceCreateSchema, type Silence, type SilenceCreate } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { useNow } from '../../../ui/clock.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { Field, Segmented, TextInput } from '../../../ui/field.js';
import { formatDateTime } from '../../../ui/format.js';
import { BellIcon, TrashIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { Pill } from '../../jobs/components/job-parts.js';
import { describeMatcher, splitList } from '../alert-format.js';
import { useCreateSilence, useRemoveSilence, useSilences } from '../hooks/use-alerts.js';

type MatchMode = 'machines' | 'selector' | 'all';

/** A silence from the form: what it covers, when it starts (now, or a local date and time), for how long, and why. */
function silenceOf(values: { mode: MatchMode; targets: string; rules: string; startsAt: string; duration: string; reason: string }): SilenceCreate {
  const rules = splitList(values.rules);
  const matcher =
    values.mode === 'all'
      ? { all: true as const }
      : {
          ...(values.mode === 'machines' && values.targets.trim() ? { agents: splitList(values.targets) } : {}),
          ...(values.mode === 'selector' && values.targets.trim() ? { selector: values.targets.trim() } : {}),
          ...(rules.length > 0 ? { rules } : {}),
        };
  const startsAt = values.startsAt ? new Date(values.startsAt).getTime() : undefined;
  return { matcher, ...(startsAt !== undefined && Number.isFinite(startsAt) ? { startsAt } : {}), duration: values.duration.trim(), reason: values.reason.trim() };
}

function SilenceForm() {
  const { t } = useI18n();
  const notify = useToast();
  const create = useCreateSilence();
  const [values, setValues] = useState({ mode: 'machines' as MatchMode, targets: '', rules: '', startsAt: '', duration: '1h', reason: '' });
  const [invalid, setInvalid] = useState<string | null>(null);
  const set = (patch: Partial<typeof values>) => {
    setValues((current) => ({ ...current, ...patch }));
    setInvalid(null);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = silenceOf(values);
    const checked = SilenceCreateSchema.safeParse(input);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      setInvalid(`${issue?.path.join('.') || t('alerts.silences.form')}: ${issue?.message ?? ''}`);
      return;
    }
    create.mutate(input, {
      onSuccess: () => {
        notify(t('alerts.silences.added'));
        setValues((current) => ({ ...current, targets: '', rules: '', reason: '', startsAt: '' }));
      },
    });
  };
  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="silence-form">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="text-sm font-medium text-slate-700 dark:text-slate-200">{t('alerts.silences.covers')}</span>
        <Segmented<MatchMode>
          size="sm"
          label={t('alerts.silences.covers')}
          value={values.mode}
          onChange={(mode) => set({ mode })}
          options={[
            { value: 'machines', label: t('jobs.form.byName') },
            { value: 'selector', label: t('jobs.form.bySelector') },
            { value: 'all', label: t('alerts.silences.everything') },
          ]}
        />
      </div>
      {values.mode !== 'all' && (
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={values.mode === 'selector' ? t('jobs.form.selectorLabel') : t('jobs.form.namesLabel')}>
            {({ id }) => <TextInput id={id} name="targets" value={values.targets} onChange={(event) => set({ targets: event.target.value })} placeholder={values.mode === 'selector' ? 'env=staging' : 'web-1, web-2'} className="font-mono" spellCheck={false} autoCapitalize="off" />}
          </Field>
          <Field label={t('alerts.silences.rules')} hint={t('alerts.silences.rulesHint')}>
            {({ id, describedBy }) => <TextInput id={id} name="rules" value={values.rules} onChange={(event) => set({ rules: event.target.value })} aria-describedby={describedBy} />}
          </Field>
        </div>
      )}
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label={t('alerts.silences.startsAt')} hint={t('alerts.silences.startsAtHint')}>
          {({ id, describedBy }) => <TextInput id={id} name="startsAt" type="datetime-local" value={values.startsAt} onChange={(event) => set({ startsAt: event.target.value })} aria-describedby={describedBy} />}
        </Field>
        <Field label={t('alerts.silences.duration')} hint={t('alerts.silences.durationHint')}>
          {({ id, describedBy }) => <TextInput id={id} name="duration" value={values.duration} onChange={(event) => set({ duration: event.target.value })} aria-describedby={describedBy} className="font-mono" />}
        </Field>
      </div>
      <Field label={t('alerts.silences.reason')}>
        {({ id }) => <TextInput id={id} name="reason" value={values.reason} maxLength={500} onChange={(event) => set({ reason: event.target.value })} placeholder={t('alerts.silences.reasonPlaceholder')} />}
      </Field>
      {invalid && <ErrorNote>{invalid}</ErrorNote>}
      {create.error && <ErrorNote>{describeError(create.error)}</ErrorNote>}
      <div className="flex justify-end">
        <Button type="submit" variant="primary" disabled={create.isPending}>
          {t('alerts.silences.add')}
        </Button>
      </div>
    </form>
  );
}

function SilenceRow({ silence }: { silence: Silence }) {
  const { t, locale } = useI18n();
  const remove = useRemoveSilence();
  const now = useNow(30_000);
  const upcoming = !silence.active && silence.startsAt > now;
  return (
    <li data-testid="silence-row" data-silence-id={silence.id} data-active={String(silence.active)} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:gap-4">
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-medium break-words text-slate-900 dark:text-slate-100">{describeMatcher(silence.matcher, { everything: t('alerts.silences.everything'), rules: (names) => t('alerts.silences.rulesNamed', { names }) })}</span>
          {silence.active ? <Pill tone="active">{t('alerts.silences.active')}</Pill> : upcoming ? <Pill tone="neutral">{t('alerts.silences.upcoming')}</Pill> : <Pill tone="neutral">{t('alerts.silences.expired')}</Pill>}
        </div>
        <p className="mt-1 text-sm break-words text-slate-600 dark:text-slate-300">{silence.reason}</p>
        <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">
          {formatDateTime(silence.startsAt, locale)} → {formatDateTime(silence.endsAt, locale)} · {t('jobs.by', { actor: silence.createdBy })}
        </p>
      </div>
      {(silence.active || upcoming) && (
        <Button size="sm" variant="dangerGhost" disabled={remove.isPending} onClick={() => remove.mutate(silence.id)}>
          <TrashIcon className="size-3.5" /> {t('alerts.silences.remove')}
        </Button>
      )}
    </li>
  );
}

/** Silences: add one (what it covers, its window, why), see them, end one early. */
export function SilencesPanel() {
  const { t } = useI18n();
  const [showExpired, setShowExpired] = useState(false);
  const silences = useSilences(showExpired);
  let body;
  if (silences.error) body = <ErrorNote onRetry={() => void silences.refetch()} retryLabel={t('common.retry')}>{t('alerts.silences.loadError', { detail: describeError(silences.error) })}</ErrorNote>;
  else if (!silences.data)
    body = (
      <div className="flex justify-center py-8 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  else if (silences.data.length === 0) body = <EmptyState icon={<BellIcon className="size-6" />} title={t('alerts.silences.empty')} />;
  else
    body = (
      <ul className="-my-3 divide-y divide-slate-100 dark:divide-slate-800">
        {silences.data.map((silence) => (
          <SilenceRow key={silence.id} silence={silence} />
        ))}
      </ul>
    );
  return (
    <div className="grid gap-6 lg:grid-cols-5">
      <Panel title={t('alerts.silences.newTitle')} description={t('alerts.silences.intro')} className="lg:col-span-2">
        <SilenceForm />
      </Panel>
      <Panel
        title={t('alerts.silences.title')}
        className="min-w-0 lg:col-span-3"
        actions={
          <label className="flex items-center gap-2 text-xs text-slate-600 dark:text-slate-300">
            <input type="checkbox" checked={showExpired} onChange={(event) => setShowExpired(event.target.checked)} className="size-4 rounded border-slate-300 accent-indigo-600" />
            {t('alerts.silences.showExpired')}
          </label>
        }
      >
        {body}
      </Panel>
    </div>
  );
}
