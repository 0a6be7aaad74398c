import { FarolApiError } from '@farol/client';
import { SECRET_MASK, type Channel } from '@farol/protocol';
import { useState, type FormEvent, type ReactNode } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote } from '../../../ui/card.js';
import { cn } from '../../../ui/cn.js';
import { DialogFormActions, Modal } from '../../../ui/dialog.js';
import { Field, inputClasses, TextInput } from '../../../ui/field.js';
import { PlusIcon, TrashIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { ChannelEditError, editFormOf, patchOf, toLocalInput, type ChannelEditForm } from '../channel-edit.js';
import { useUpdateChannel } from '../hooks/use-alerts.js';
import { SettingInput, SETTINGS } from './channels-panel.js';

function Section({ title, hint, children }: { title: string; hint?: string; children: ReactNode }) {
  return (
    <fieldset className="flex flex-col gap-3 border-t border-slate-100 pt-4 dark:border-slate-800">
      <legend className="sr-only">{title}</legend>
      <div>
        <h3 className="text-sm font-semibold text-slate-900 dark:text-slate-100">{title}</h3>
        {hint && <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">{hint}</p>}
      </div>
      {children}
    </fieldset>
  );
}

/**
 * Edits a channel made through the API: settings (secrets stay as stored unless a new value is
 * typed), the message template, quiet hours, maintenance windows, the rate limit and whether it
 * is enabled. Only what changed is sent (PATCH).
 */
export function ChannelEditDialog({ channel, onClose }: { channel: Channel; onClose(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const update = useUpdateChannel();
  const fields = SETTINGS[channel.type];
  const [form, setForm] = useState<ChannelEditForm>(() => editFormOf(channel, fields));
  const [invalid, setInvalid] = useState<string | null>(null);
  const set = (patch: Partial<ChannelEditForm>) => {
    setForm((current) => ({ ...current, ...patch }));
    setInvalid(null);
  };
  const setWindow = (index: number, patch: Partial<ChannelEditForm['maintenance'][number]>) => set({ maintenance: form.maintenance.map((window, i) => (i === index ? { ...window, ...patch } : window)) });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    let patch;
    try {
      patch = patchOf(channel, form, fields);
    } catch (error) {
      if (!(error instanceof ChannelEditError)) throw error;
      setInvalid(`${error.field}: ${error.message}`);
      return;
    }
    if (Object.keys(patch).length === 0) {
      onClose();
      return;
    }
    update.mutate(
      { id: channel.id, patch },
      {
        onSuccess: (saved) => {
          notify(t('channelEdit.saved', { name: saved.name }));
          onClose();
        },
      },
    );
  };

  const serverIssues = update.error instanceof FarolApiError ? update.error.issues : undefined;

  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={t('channelEdit.title', { name: channel.name })} description={t(`alerts.channels.types.${channel.type}`)} wide>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="channel-edit-form">
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t('alerts.channels.name')}>
            {({ id }) => <TextInput id={id} name="name" value={form.name} onChange={(event) => set({ name: event.target.value })} spellCheck={false} autoCapitalize="off" autoComplete="off" />}
          </Field>
          <label className="flex items-center gap-2 self-end pb-2 text-sm text-slate-700 dark:text-slate-200">
            <input type="checkbox" name="enabled" checked={form.enabled} onChange={(event) => set({ enabled: event.target.checked })} className="size-4 rounded border-slate-300 accent-indigo-600" />
            {t('channelEdit.enabled')}
          </label>
        </div>

        <Section title={t('channelEdit.settings')} hint={t('channelEdit.secretsKept')}>
          <div className="grid gap-4 sm:grid-cols-2">
            {fields.map((field) => (
              <Field key={field.key} label={field.key}>
                {({ id }) => (
                  <SettingInput
                    field={field}
                    id={id}
                    value={form.settings[field.key]}
                    // A secret is never sent back: the mask says one is stored, typing replaces it.
                    placeholder={field.kind === 'secret' ? (channel.settings[field.key] !== undefined ? t('channelEdit.secretUnchanged', { mask: SECRET_MASK }) : t('channelEdit.secretNone')) : field.placeholder}
                    onChange={(value) => set({ settings: { ...form.settings, [field.key]: value } })}
                  />
                )}
              </Field>
            ))}
          </div>
        </Section>

        <Section title={t('channelEdit.template')} hint={t('channelEdit.templateHint')}>
          <Field label={t('channelEdit.templateTitle')}>
            {({ id }) => <TextInput id={id} name="templateTitle" value={form.templateTitle} onChange={(event) => set({ templateTitle: event.target.value })} placeholder="{{count}} {{event}} · {{hub}}" maxLength={300} spellCheck={false} className="font-mono" />}
          </Field>
          <Field label={t('channelEdit.templateAlert')}>
            {({ id }) => (
              <textarea
                id={id}
                name="templateAlert"
                rows={2}
                value={form.templateAlert}
                maxLength={1000}
                onChange={(event) => set({ templateAlert: event.target.value })}
                placeholder="{{icon}} {{agent}}: {{summary}}"
                spellCheck={false}
                className={cn(inputClasses, 'h-auto py-2 font-mono pointer-coarse:h-auto')}
              />
            )}
          </Field>
        </Section>

        <Section title={t('channelEdit.quietHours')} hint={t('channelEdit.quietHint')}>
          <label className="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
            <input type="checkbox" name="quiet" checked={form.quiet} onChange={(event) => set({ quiet: event.target.checked })} className="size-4 rounded border-slate-300 accent-indigo-600" />
            {t('channelEdit.quietOn')}
          </label>
          {form.quiet && (
            <div className="grid gap-4 sm:grid-cols-3">
              <Field label={t('channelEdit.quietStart')}>{({ id }) => <TextInput id={id} name="quietStart" type="time" value={form.quietStart} onChange={(event) => set({ quietStart: event.target.value })} />}</Field>
              <Field label={t('channelEdit.quietEnd')}>{({ id }) => <TextInput id={id} name="quietEnd" type="time" value={form.quietEnd} onChange={(event) => set({ quietEnd: event.target.value })} />}</Field>
              <Field label={t('channelEdit.timezone')}>{({ id }) => <TextInput id={id} name="quietTimezone" value={form.quietTimezone} onChange={(event) => set({ quietTimezone: event.target.value })} placeholder="America/Sao_Paulo" spellCheck={false} autoCapitalize="off" />}</Field>
            </div>
          )}
        </Section>

        <Section title={t('channelEdit.maintenance')} hint={t('channelEdit.maintenanceHint')}>
          {form.maintenance.map((window, index) => (
            <div key={index} data-testid="maintenance-window" className="grid items-end gap-3 sm:grid-cols-[1fr_1fr_1fr_auto]">
              <Field label={t('channelEdit.windowStart')}>{({ id }) => <TextInput id={id} name={`maintenanceStart${index}`} type="datetime-local" value={window.start} onChange={(event) => setWindow(index, { start: event.target.value })} />}</Field>
              <Field label={t('channelEdit.windowEnd')}>{({ id }) => <TextInput id={id} name={`maintenanceEnd${index}`} type="datetime-local" value={window.end} onChange={(event) => setWindow(index, { end: event.target.value })} />}</Field>
              <Field label={t('channelEdit.windowReason')}>{({ id }) => <TextInput id={id} name={`maintenanceReason${index}`} value={window.reason} maxLength={200} onChange={(event) => setWindow(index, { reason: event.target.value })} />}</Field>
              <Button size="icon" variant="dangerGhost" aria-label={t('channelEdit.windowRemove')} onClick={() => set({ maintenance: form.maintenance.filter((_, i) => i !== index) })}>
                <TrashIcon />
              </Button>
            </div>
          ))}
          <div>
            <Button
              size="sm"
              onClick={() => {
                const start = Date.now() + 60 * 60_000;
                set({ maintenance: [...form.maintenance, { start: toLocalInput(start), end: toLocalInput(start + 2 * 60 * 60_000), reason: '' }] });
              }}
            >
              <PlusIcon className="size-3.5" /> {t('channelEdit.windowAdd')}
            </Button>
          </div>
        </Section>

        <Section title={t('channelEdit.rateLimit')} hint={t('channelEdit.rateHint')}>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field label={t('channelEdit.rateCount')}>{({ id }) => <TextInput id={id} name="rateCount" inputMode="numeric" value={form.rateCount} onChange={(event) => set({ rateCount: event.target.value })} />}</Field>
            <Field label={t('channelEdit.ratePer')}>{({ id }) => <TextInput id={id} name="ratePer" inputMode="numeric" value={form.ratePer} onChange={(event) => set({ ratePer: event.target.value })} />}</Field>
          </div>
        </Section>

        {invalid && <ErrorNote>{invalid}</ErrorNote>}
        {update.error && (
          <ErrorNote>
            {describeError(update.error)}
            {serverIssues && serverIssues.length > 0 && ` (${serverIssues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')})`}
          </ErrorNote>
        )}
        <DialogFormActions onCancel={onClose} submitLabel={t('channelEdit.save')} busy={update.isPending} />
      </form>
    </Modal>
  );
}
