import { AlertRuleInputSchema, type AlertRule, type AlertRuleInput, type Comparator, type RuleKind, type Severity } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote } from '../../../ui/card.js';
import { Modal } from '../../../ui/dialog.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { useToast } from '../../../ui/toast.js';
import { formatDurationText, splitList } from '../alert-format.js';
import { useSaveRule } from '../hooks/use-alerts.js';

type ScopeMode = 'all' | 'machines' | 'selector';
// Service check rules (issue #19) are made with the API or the CLI, not offered here.
const KINDS = ['metric', 'offline', 'online', 'container', 'job_failed'] as const satisfies readonly RuleKind[];
const OPS: readonly Comparator[] = ['>', '>=', '<', '<=', '==', '!='];
const JOB_STATES = ['failed', 'timed_out', 'refused', 'expired'] as const;

interface RuleForm {
  name: string;
  description: string;
  kind: RuleKind;
  metric: string;
  op: Comparator;
  threshold: string;
  forText: string;
  containerCondition: 'down' | 'unhealthy' | 'restarting';
  containers: string;
  jobStates: Array<(typeof JOB_STATES)[number]>;
  scopeMode: ScopeMode;
  scope: string;
  severity: Severity;
  channels: string;
  cooldown: string;
  enabled: boolean;
  /** The edited rule's condition: fields the form does not show (recovery, restarts, window) are kept. */
  original: AlertRule['condition'] | null;
}

const EMPTY: RuleForm = {
  name: '',
  description: '',
  kind: 'metric',
  metric: 'cpu',
  op: '>',
  threshold: '90',
  forText: '5m',
  containerCondition: 'down',
  containers: '',
  jobStates: ['failed', 'timed_out'],
  scopeMode: 'all',
  scope: '',
  severity: 'warning',
  channels: '',
  cooldown: '',
  enabled: true,
  original: null,
};

function formOf(rule: AlertRule): RuleForm {
  const condition = rule.condition;
  const forMs = 'for' in condition && typeof condition.for === 'number' ? condition.for : 0;
  return {
    ...EMPTY,
    name: rule.name,
    description: rule.description ?? '',
    kind: condition.kind,
    ...(condition.kind === 'metric' ? { metric: condition.metric, op: condition.op, threshold: String(condition.threshold) } : {}),
    ...(condition.kind === 'container' ? { containerCondition: condition.condition, containers: condition.containers?.join(', ') ?? '' } : {}),
    ...(condition.kind === 'job_failed' ? { jobStates: condition.states } : {}),
    forText: forMs > 0 ? formatDurationText(forMs) : '',
    scopeMode: 'all' in rule.scope ? 'all' : 'selector' in rule.scope ? 'selector' : 'machines',
    scope: 'selector' in rule.scope ? rule.scope.selector : 'agents' in rule.scope ? rule.scope.agents.join(', ') : '',
    severity: rule.severity,
    channels: rule.channels.join(', '),
    cooldown: rule.cooldown === null ? '' : formatDurationText(rule.cooldown),
    enabled: rule.enabled,
    original: condition,
  };
}

/** The request body; `for` and the cooldown go as text (`5m`), which the API accepts. */
function inputOf(form: RuleForm): AlertRuleInput {
  const forText = form.forText.trim() || '0s';
  let condition: AlertRuleInput['condition'];
  switch (form.kind) {
    case 'metric':
      condition = { kind: 'metric', metric: form.metric.trim(), op: form.op, threshold: form.threshold.trim() === '' ? Number.NaN : Number(form.threshold), for: forText };
      break;
    case 'offline':
      condition = { kind: 'offline', for: forText };
      break;
    case 'online':
      condition = { kind: 'online' };
      break;
    case 'container': {
      const containers = splitList(form.containers);
      condition = { kind: 'container', condition: form.containerCondition, for: forText, ...(containers.length > 0 ? { containers } : {}) };
      break;
    }
    case 'job_failed':
      condition = { kind: 'job_failed', states: form.jobStates };
      break;
    case 'check':
      // Service check rules (issue #19) are edited with the API or the CLI; the dialog keeps their condition.
      condition = form.original?.kind === 'check' ? form.original : { kind: 'check', condition: 'down' };
      break;
  }
  // A PATCH replaces the condition whole: keep what the form does not edit, for the same kind.
  const kept = form.original?.kind === form.kind ? form.original : null;
  if (kept?.kind === 'metric' && condition.kind === 'metric' && kept.recovery !== undefined) condition = { ...condition, recovery: kept.recovery };
  if (kept?.kind === 'container' && condition.kind === 'container') condition = { ...condition, restarts: kept.restarts, window: kept.window };
  const scope = form.scopeMode === 'all' ? { all: true as const } : form.scopeMode === 'selector' ? { selector: form.scope.trim() } : { agents: splitList(form.scope) };
  return {
    name: form.name.trim(),
    ...(form.description.trim() ? { description: form.description.trim() } : {}),
    condition,
    scope,
    severity: form.severity,
    channels: splitList(form.channels),
    ...(form.cooldown.trim() ? { cooldown: form.cooldown.trim() } : {}),
    enabled: form.enabled,
  };
}

/** Create a rule, or edit one: name, condition (by kind), machines, severity, channels, cooldown. */
export function RuleDialog({ rule, onClose }: { rule: AlertRule | null; onClose(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const save = useSaveRule();
  const [form, setForm] = useState<RuleForm>(() => (rule ? formOf(rule) : EMPTY));
  const [invalid, setInvalid] = useState<string | null>(null);
  const set = (patch: Partial<RuleForm>) => {
    setForm((current) => ({ ...current, ...patch }));
    setInvalid(null);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = inputOf(form);
    const checked = AlertRuleInputSchema.safeParse(input);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      setInvalid(`${issue?.path.join('.') || t('alerts.rules.form')}: ${issue?.message ?? ''}`);
      return;
    }
    const request = rule
      ? { id: rule.id, patch: { ...input, description: input.description ?? null, cooldown: input.cooldown ?? null } }
      : { input };
    save.mutate(request, {
      onSuccess: (saved) => {
        notify(t(rule ? 'alerts.rules.saved' : 'alerts.rules.created', { name: saved.name }));
        onClose();
      },
    });
  };

  const needsFor = form.kind === 'metric' || form.kind === 'offline' || form.kind === 'container';
  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={rule ? t('alerts.rules.editTitle', { name: rule.name }) : t('alerts.rules.newTitle')} wide>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="rule-form">
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t('alerts.rules.name')}>{({ id }) => <TextInput id={id} name="name" value={form.name} onChange={(event) => set({ name: event.target.value })} autoFocus />}</Field>
          <Field label={t('alerts.rules.severity')}>
            {({ id }) => (
              <Select id={id} name="severity" value={form.severity} onChange={(event) => set({ severity: event.target.value as Severity })}>
                {(['info', 'warning', 'critical'] as const).map((severity) => (
                  <option key={severity} value={severity}>
                    {t(`alerts.severity.${severity}`)}
                  </option>
                ))}
              </Select>
            )}
          </Field>
        </div>
        <Field label={t('alerts.rules.description')}>
          {({ id }) => <TextInput id={id} name="description" value={form.description} onChange={(event) => set({ description: event.target.value })} />}
        </Field>
        <Field label={t('alerts.rules.kind')}>
          {({ id }) => (
            <Select id={id} name="kind" value={form.kind} onChange={(event) => set({ kind: event.target.value as RuleKind })}>
              {KINDS.map((kind) => (
                <option key={kind} value={kind}>
                  {t(`alerts.kind.${kind}`)}
                </option>
              ))}
            </Select>
          )}
        </Field>
        {form.kind === 'metric' && (
          <div className="grid gap-4 sm:grid-cols-[2fr_1fr_1fr]">
            <Field label={t('alerts.rules.metric')} hint={t('alerts.rules.metricHint')}>
              {({ id, describedBy }) => <TextInput id={id} name="metric" value={form.metric} onChange={(event) => set({ metric: event.target.value })} aria-describedby={describedBy} className="font-mono" spellCheck={false} autoCapitalize="off" />}
            </Field>
            <Field label={t('alerts.rules.op')}>
              {({ id }) => (
                <Select id={id} name="op" value={form.op} onChange={(event) => set({ op: event.target.value as Comparator })}>
                  {OPS.map((op) => (
                    <option key={op} value={op}>
                      {op}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label={t('alerts.rules.threshold')}>
              {({ id }) => <TextInput id={id} name="threshold" inputMode="decimal" value={form.threshold} onChange={(event) => set({ threshold: event.target.value })} className="font-mono" />}
            </Field>
          </div>
        )}
        {form.kind === 'container' && (
          <div className="grid gap-4 sm:grid-cols-2">
            <Field label={t('alerts.rules.containerCondition')}>
              {({ id }) => (
                <Select id={id} name="containerCondition" value={form.containerCondition} onChange={(event) => set({ containerCondition: event.target.value as RuleForm['containerCondition'] })}>
                  {(['down', 'unhealthy', 'restarting'] as const).map((condition) => (
                    <option key={condition} value={condition}>
                      {condition}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label={t('alerts.rules.containers')} hint={t('alerts.rules.containersHint')}>
              {({ id, describedBy }) => <TextInput id={id} name="containers" value={form.containers} onChange={(event) => set({ containers: event.target.value })} aria-describedby={describedBy} className="font-mono" />}
            </Field>
          </div>
        )}
        {form.kind === 'job_failed' && (
          <fieldset>
            <legend className="mb-1.5 text-sm font-medium text-slate-700 dark:text-slate-200">{t('alerts.rules.jobStates')}</legend>
            <div className="flex flex-wrap gap-4">
              {JOB_STATES.map((state) => (
                <label key={state} className="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
                  <input
                    type="checkbox"
                    checked={form.jobStates.includes(state)}
                    onChange={(event) => set({ jobStates: event.target.checked ? [...form.jobStates, state] : form.jobStates.filter((s) => s !== state) })}
                    className="size-4 rounded border-slate-300 accent-indigo-600"
                  />
                  {t(`jobs.state.${state}`)}
                </label>
              ))}
            </div>
          </fieldset>
        )}
        {needsFor && (
          <Field label={t('alerts.rules.for')} hint={t('alerts.rules.forHint')}>
            {({ id, describedBy }) => <TextInput id={id} name="for" value={form.forText} onChange={(event) => set({ forText: event.target.value })} placeholder="5m" aria-describedby={describedBy} className="font-mono" />}
          </Field>
        )}
        <div className="grid gap-4 sm:grid-cols-[1fr_2fr]">
          <Field label={t('alerts.rules.scope')}>
            {({ id }) => (
              <Select id={id} name="scopeMode" value={form.scopeMode} onChange={(event) => set({ scopeMode: event.target.value as ScopeMode })}>
                <option value="all">{t('jobs.form.all')}</option>
                <option value="machines">{t('jobs.form.byName')}</option>
                <option value="selector">{t('jobs.form.bySelector')}</option>
              </Select>
            )}
          </Field>
          {form.scopeMode !== 'all' && (
            <Field label={form.scopeMode === 'selector' ? t('jobs.form.selectorLabel') : t('jobs.form.namesLabel')}>
              {({ id }) => <TextInput id={id} name="scope" value={form.scope} onChange={(event) => set({ scope: event.target.value })} placeholder={form.scopeMode === 'selector' ? 'role=gpu' : 'web-1, web-2'} className="font-mono" />}
            </Field>
          )}
        </div>
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t('alerts.rules.channels')} hint={t('alerts.rules.channelsHint')}>
            {({ id, describedBy }) => <TextInput id={id} name="channels" value={form.channels} onChange={(event) => set({ channels: event.target.value })} aria-describedby={describedBy} />}
          </Field>
          <Field label={t('alerts.rules.cooldown')} hint={t('alerts.rules.cooldownHint')}>
            {({ id, describedBy }) => <TextInput id={id} name="cooldown" value={form.cooldown} onChange={(event) => set({ cooldown: event.target.value })} placeholder="1h" aria-describedby={describedBy} className="font-mono" />}
          </Field>
        </div>
        <label className="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
          <input type="checkbox" name="enabled" checked={form.enabled} onChange={(event) => set({ enabled: event.target.checked })} className="size-4 rounded border-slate-300 accent-indigo-600" />
          {t('alerts.rules.enabled')}
        </label>
        {invalid && <ErrorNote>{invalid}</ErrorNote>}
        {save.error && <ErrorNote>{describeError(save.error)}</ErrorNote>}
        <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {rule ? t('common.save') : t('alerts.rules.create')}
          </Button>
        </div>
      </form>
    </Modal>
  );
}
