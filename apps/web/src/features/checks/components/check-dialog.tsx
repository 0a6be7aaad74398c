import { CHECK_KINDS, DNS_RECORD_TYPES, type Check, type CheckKind } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { useI18n } from '../../../i18n/i18n.js';
import { ErrorNote } from '../../../ui/card.js';
import { DialogFormActions, Modal } from '../../../ui/dialog.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { useToast } from '../../../ui/toast.js';
import { describeError } from '../../../app/query-client.js';
import { EMPTY_CHECK_FORM, formOf, formProblem, inputOf, type CheckForm, type RunOnMode } from '../check-form.js';
import { useSaveCheck } from '../hooks/use-checks.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Create a check, or edit one: what it probes (by kind), how often, and where it runs. */
export function CheckDialog({ check, onClose, onSaved }: { check: Check | null; onClose(): void; onSaved?(saved: Check): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const save = useSaveCheck();
  const [form, setForm] = useState<CheckForm>(() => (check ? formOf(check) : EMPTY_CHECK_FORM));
  const [invalid, setInvalid] = useState<string | null>(null);
  const set = (patch: Partial<CheckForm>) => {
    setForm((current) => ({ ...current, ...patch }));
    setInvalid(null);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problem = formProblem(form);
    if (problem) {
      setInvalid(problem);
      return;
    }
    save.mutate(
      { ref: check?.id ?? null, input: inputOf(form) },
      {
        onSuccess: (saved) => {
          notify(t(check ? 'checks.saved' : 'checks.created', { name: saved.name }));
          onSaved?.(saved);
          onClose();
        },
      },
    );
  };

  const text = (key: keyof CheckForm, label: string, extra: { hint?: string; placeholder?: string; mono?: boolean } = {}) => (
    <Field label={label} {...(extra.hint ? { hint: extra.hint } : {})}>
      {({ id, describedBy }) => (
        <TextInput
          id={id}
          name={key}
          value={form[key] as string}
          onChange={(event) => set({ [key]: event.target.value } as Partial<CheckForm>)}
          aria-describedby={describedBy}
          placeholder={extra.placeholder}
          className={extra.mono ? 'font-mono' : undefined}
          spellCheck={false}
          autoCapitalize="off"
        />
      )}
    </Field>
  );

  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={check ? t('checks.editTitle', { name: check.name }) : t('checks.newTitle')} wide>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="check-form">
        <div className="grid gap-4 sm:grid-cols-2">
          {text('name', t('checks.name'))}
          <Field label={t('checks.kind')}>
            {({ id }) => (
              <Select id={id} name="kind" value={form.kind} onChange={(event) => set({ kind: event.target.value as CheckKind })}>
                {CHECK_KINDS.map((kind) => (
                  <option key={kind} value={kind}>
                    {t(`checks.kinds.${kind}`)}
                  </option>
                ))}
              </Select>
            )}
          </Field>
        </div>
        {text('description', t('checks.description'))}
        {form.kind === 'http' && (
          <>
            <div className="grid gap-4 sm:grid-cols-[3fr_1fr]">
              {text('url', t('checks.url'), { mono: true })}
              <Field label={t('checks.method')}>
                {({ id }) => (
                  <Select id={id} name="method" value={form.method} onChange={(event) => set({ method: event.target.value })}>
                    {METHODS.map((method) => (
                      <option key={method}>{method}</option>
                    ))}
                  </Select>
                )}
              </Field>
            </div>
            <div className="grid gap-4 sm:grid-cols-2">
              {text('keyword', t('checks.keyword'))}
              {text('expectStatus', t('checks.expectStatus'), { placeholder: '200, 204', mono: true })}
              {text('maxLatency', t('checks.maxLatency'), { mono: true })}
              {text('certDays', t('checks.certDays'), { mono: true })}
            </div>
            <label className="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
              <input type="checkbox" name="verifyTls" checked={form.verifyTls} onChange={(event) => set({ verifyTls: event.target.checked })} className="size-4 rounded border-slate-300 accent-indigo-600" />
              {t('checks.verifyTls')}
            </label>
          </>
        )}
        {(form.kind === 'tcp' || form.kind === 'ping') && (
          <div className="grid gap-4 sm:grid-cols-[3fr_1fr]">
            {text('host', t('checks.host'), { mono: true })}
            {form.kind === 'tcp' && text('port', t('checks.port'), { mono: true })}
          </div>
        )}
        {form.kind === 'dns' && (
          <div className="grid gap-4 sm:grid-cols-2">
            {text('dnsName', t('checks.dnsName'), { mono: true })}
            <Field label={t('checks.dnsType')}>
              {({ id }) => (
                <Select id={id} name="dnsType" value={form.dnsType} onChange={(event) => set({ dnsType: event.target.value })}>
                  {DNS_RECORD_TYPES.map((type) => (
                    <option key={type}>{type}</option>
                  ))}
                </Select>
              )}
            </Field>
            {text('dnsExpect', t('checks.dnsExpect'), { mono: true })}
            {text('dnsServer', t('checks.dnsServer'), { mono: true, placeholder: '1.1.1.1' })}
          </div>
        )}
        {form.kind === 'command' && (
          <Field label={t('checks.argv')} hint={t('checks.argvHint')}>
            {({ id, describedBy }) => (
              <textarea
                id={id}
                name="argv"
                rows={3}
                value={form.argv}
                onChange={(event) => set({ argv: event.target.value })}
                aria-describedby={describedBy}
                spellCheck={false}
                className="w-full rounded-lg border border-slate-300 bg-white px-3 py-2 font-mono text-sm dark:border-slate-700 dark:bg-slate-950"
              />
            )}
          </Field>
        )}
        <div className="grid gap-4 sm:grid-cols-2">
          {text('interval', t('checks.interval'), { mono: true, placeholder: '1m' })}
          {text('timeout', t('checks.timeout'), { mono: true, placeholder: '10s' })}
        </div>
        <div className="grid gap-4 sm:grid-cols-[1fr_2fr]">
          <Field label={t('checks.runOn')}>
            {({ id }) => (
              <Select id={id} name="runOn" value={form.runOn} onChange={(event) => set({ runOn: event.target.value as RunOnMode })}>
                <option value="hub">{t('checks.runOnHub')}</option>
                <option value="machines">{t('jobs.form.byName')}</option>
                <option value="selector">{t('jobs.form.bySelector')}</option>
              </Select>
            )}
          </Field>
          {form.runOn !== 'hub' && text('where', form.runOn === 'machines' ? t('checks.machines') : t('checks.selector'), { mono: true, placeholder: form.runOn === 'machines' ? 'web-1, web-2' : 'role=edge' })}
        </div>
        <label className="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
          <input type="checkbox" name="enabled" checked={form.enabled} onChange={(event) => set({ enabled: event.target.checked })} className="size-4 rounded border-slate-300 accent-indigo-600" />
          {t('checks.enabled')}
        </label>
        {invalid && <ErrorNote>{invalid}</ErrorNote>}
        {save.error && <ErrorNote>{describeError(save.error)}</ErrorNote>}
        <DialogFormActions onCancel={onClose} submitLabel={check ? t('checks.save') : t('checks.create')} busy={save.isPending} />
      </form>
    </Modal>
  );
}
