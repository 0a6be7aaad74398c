import type { Job } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import type { MessageKey } from '../../../i18n/messages.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote } from '../../../ui/card.js';
import { Field, inputClasses, Segmented, TextInput } from '../../../ui/field.js';
import { cn } from '../../../ui/cn.js';
import { TerminalIcon } from '../../../ui/icons.js';
import { buildJobRequest, CommandInputError, type CommandFormValues, type CommandMode, type TargetMode } from '../command-input.js';
import { useCreateJob } from '../hooks/use-jobs.js';

type FieldErrors = Partial<Record<CommandInputError['field'], string>>;

const ERROR_KEYS: Record<CommandInputError['key'], MessageKey> = {
  unterminatedQuote: 'jobs.form.errorQuote',
  emptyCommand: 'jobs.form.errorEmptyCommand',
  emptyTargets: 'jobs.form.errorEmptyTargets',
  badSelector: 'jobs.form.errorSelector',
  badDuration: 'jobs.form.errorDuration',
  invalid: 'jobs.form.errorInvalid',
};

/**
 * What to run and where: machines by name, a label selector or all; a program with arguments
 * (no shell, the default) or a shell script; per-machine timeout and how long offline machines
 * are waited for. With `machine`, the target is that one machine and not editable.
 */
export function RunCommandForm({ machine, onStarted }: { machine?: { id: string; name: string }; onStarted(job: Job): void }) {
  const { t } = useI18n();
  const create = useCreateJob();
  const [values, setValues] = useState<CommandFormValues>({
    targetMode: 'machines',
    targets: '',
    commandMode: 'argv',
    command: '',
    timeout: '',
    ttl: '',
  });
  const [errors, setErrors] = useState<FieldErrors>({});
  const set = (patch: Partial<CommandFormValues>) => {
    setValues((current) => ({ ...current, ...patch }));
    setErrors({});
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    let request;
    try {
      request = buildJobRequest(machine ? { ...values, targetMode: 'machines', targets: machine.id } : values);
    } catch (error) {
      if (!(error instanceof CommandInputError)) throw error;
      const text = t(ERROR_KEYS[error.key], { detail: error.message });
      setErrors({ [error.field]: text });
      return;
    }
    create.mutate(request, { onSuccess: (job) => onStarted(job) });
  };

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="run-command-form">
      {!machine && (
        <div className="flex flex-col gap-2">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <span className="text-sm font-medium text-slate-700 dark:text-slate-200">{t('jobs.form.where')}</span>
            <Segmented<TargetMode>
              size="sm"
              label={t('jobs.form.where')}
              value={values.targetMode}
              onChange={(targetMode) => set({ targetMode })}
              options={[
                { value: 'machines', label: t('jobs.form.byName') },
                { value: 'selector', label: t('jobs.form.bySelector') },
                { value: 'all', label: t('jobs.form.all') },
              ]}
            />
          </div>
          {values.targetMode === 'all' ? (
            <p className="text-sm text-slate-500 dark:text-slate-400">{t('jobs.form.allHint')}</p>
          ) : (
            <Field
              label={<span className="sr-only">{values.targetMode === 'selector' ? t('jobs.form.selectorLabel') : t('jobs.form.namesLabel')}</span>}
              hint={values.targetMode === 'selector' ? t('jobs.form.selectorHint') : t('jobs.form.namesHint')}
              error={errors.targets}
            >
              {({ id, describedBy, invalid }) => (
                <TextInput
                  id={id}
                  name="targets"
                  value={values.targets}
                  onChange={(event) => set({ targets: event.target.value })}
                  placeholder={values.targetMode === 'selector' ? 'role=gpu,env!=dev' : 'web-1, web-2'}
                  aria-describedby={describedBy}
                  aria-invalid={invalid}
                  spellCheck={false}
                  autoCapitalize="off"
                  autoComplete="off"
                  className="font-mono"
                />
              )}
            </Field>
          )}
        </div>
      )}
      <div className="flex flex-col gap-2">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <span className="text-sm font-medium text-slate-700 dark:text-slate-200">{t('jobs.form.what')}</span>
          <Segmented<CommandMode>
            size="sm"
            label={t('jobs.form.what')}
            value={values.commandMode}
            onChange={(commandMode) => set({ commandMode })}
            options={[
              { value: 'argv', label: t('jobs.form.argv') },
              { value: 'shell', label: t('jobs.form.shell') },
            ]}
          />
        </div>
        <Field
          label={<span className="sr-only">{values.commandMode === 'shell' ? t('jobs.form.scriptLabel') : t('jobs.form.commandLabel')}</span>}
          hint={values.commandMode === 'shell' ? t('jobs.form.shellHint') : t('jobs.form.argvHint')}
          error={errors.command}
        >
          {({ id, describedBy, invalid }) =>
            values.commandMode === 'shell' ? (
              <textarea
                id={id}
                name="command"
                rows={3}
                value={values.command}
                onChange={(event) => set({ command: event.target.value })}
                placeholder="df -h / | tail -1"
                aria-describedby={describedBy}
                aria-invalid={invalid}
                spellCheck={false}
                autoCapitalize="off"
                className={cn(inputClasses, 'h-auto py-2 font-mono pointer-coarse:h-auto')}
              />
            ) : (
              <TextInput
                id={id}
                name="command"
                value={values.command}
                onChange={(event) => set({ command: event.target.value })}
                placeholder="uptime"
                aria-describedby={describedBy}
                aria-invalid={invalid}
                spellCheck={false}
                autoCapitalize="off"
                autoComplete="off"
                className="font-mono"
              />
            )
          }
        </Field>
      </div>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label={t('jobs.form.timeout')} hint={t('jobs.form.timeoutHint')} error={errors.timeout}>
          {({ id, describedBy, invalid }) => (
            <TextInput id={id} name="timeout" value={values.timeout} onChange={(event) => set({ timeout: event.target.value })} placeholder="60s" aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} autoCapitalize="off" className="font-mono" />
          )}
        </Field>
        <Field label={t('jobs.form.ttl')} hint={t('jobs.form.ttlHint')} error={errors.ttl}>
          {({ id, describedBy, invalid }) => (
            <TextInput id={id} name="ttl" value={values.ttl} onChange={(event) => set({ ttl: event.target.value })} placeholder="5m" aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} autoCapitalize="off" className="font-mono" />
          )}
        </Field>
      </div>
      {create.error && <ErrorNote>{t('jobs.form.failed', { detail: describeError(create.error) })}</ErrorNote>}
      <div className="flex justify-end">
        <Button type="submit" variant="primary" disabled={create.isPending}>
          <TerminalIcon /> {t('jobs.form.submit')}
        </Button>
      </div>
    </form>
  );
}
