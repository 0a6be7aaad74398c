import { CHANNEL_SECRET_FIELDS, CHANNEL_TYPES, ChannelCreateSchema, type Channel, type ChannelCreateInput, type ChannelType, type DeliveryResult } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { navigate } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { cn } from '../../../ui/cn.js';
import { ConfirmMutationDialog, DialogFormActions, Modal } from '../../../ui/dialog.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { BellIcon, PlusIcon, TrashIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { Pill } from '../../jobs/components/job-parts.js';
import { splitList } from '../alert-format.js';
import { TelegramUpdatesButtons } from '../../chat/components/telegram-updates-buttons.js';
import { ChannelEditDialog } from './channel-edit-dialog.js';
import { NoChannelWarning } from './no-channel-warning.js';
import { useChannels, useCreateChannel, useDeleteChannel, useTestChannel, useUpdateChannel } from '../hooks/use-alerts.js';

/** The settings each channel type asks for, in order; secrets are typed into password fields. */
type FieldKind = 'text' | 'secret' | 'number' | 'boolean' | 'list' | 'choice';
export interface SettingField {
  key: string;
  kind: FieldKind;
  required: boolean;
  placeholder?: string;
  choices?: readonly string[];
}

export const SETTINGS: Record<ChannelType, readonly SettingField[]> = {
  telegram: [
    { key: 'botToken', kind: 'secret', required: true, placeholder: '123456:ABC…' },
    { key: 'chatId', kind: 'text', required: true, placeholder: '-1001234567890' },
    { key: 'apiBase', kind: 'text', required: false, placeholder: 'https://api.telegram.org' },
  ],
  discord: [
    { key: 'webhookUrl', kind: 'secret', required: true, placeholder: 'https://discord.com/api/webhooks/…' },
    { key: 'username', kind: 'text', required: false, placeholder: 'Farol' },
  ],
  slack: [{ key: 'webhookUrl', kind: 'secret', required: true, placeholder: 'https://hooks.slack.com/services/…' }],
  whatsapp: [
    { key: 'baseUrl', kind: 'text', required: true, placeholder: 'https://evolution.example.com' },
    { key: 'instance', kind: 'text', required: true },
    { key: 'apiKey', kind: 'secret', required: true },
    { key: 'number', kind: 'text', required: true, placeholder: '5511999998888' },
  ],
  email: [
    { key: 'host', kind: 'text', required: true, placeholder: 'smtp.example.com' },
    { key: 'port', kind: 'number', required: false, placeholder: '587' },
    { key: 'secure', kind: 'boolean', required: false },
    { key: 'username', kind: 'text', required: false },
    { key: 'password', kind: 'secret', required: false },
    { key: 'from', kind: 'text', required: true, placeholder: 'Farol <farol@example.com>' },
    { key: 'to', kind: 'list', required: true, placeholder: 'ops@example.com, oncall@example.com' },
  ],
  ntfy: [
    { key: 'serverUrl', kind: 'text', required: false, placeholder: 'https://ntfy.sh' },
    { key: 'topic', kind: 'text', required: true },
    { key: 'token', kind: 'secret', required: false },
  ],
  teams: [
    { key: 'webhookUrl', kind: 'secret', required: true },
    { key: 'format', kind: 'choice', required: false, choices: ['adaptive', 'messagecard'] },
  ],
  webhook: [
    { key: 'url', kind: 'secret', required: true, placeholder: 'https://example.com/hooks/farol' },
    { key: 'secret', kind: 'secret', required: false },
  ],
};

/** The typed settings object from the form's text; empty optional fields are left out. */
export function settingsOf(type: ChannelType, values: Record<string, string>): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const field of SETTINGS[type]) {
    const raw = (values[field.key] ?? '').trim();
    if (field.kind === 'boolean') {
      if (raw === 'true') settings[field.key] = true;
      continue;
    }
    if (raw === '') continue;
    settings[field.key] = field.kind === 'number' ? Number(raw) : field.kind === 'list' ? splitList(raw) : raw;
  }
  return settings;
}

/**
 * The control for one channel setting: a select for true/false and for a choice, else a text
 * input (a password field for secrets, numeric keyboard for numbers).
 */
export function SettingInput({ field, id, value, placeholder, onChange }: { field: SettingField; id: string; value: string | undefined; placeholder: string | undefined; onChange(value: string): void }) {
  if (field.kind === 'boolean')
    return (
      <Select id={id} name={field.key} value={value === 'true' ? 'true' : 'false'} onChange={(event) => onChange(event.target.value)}>
        <option value="false">false</option>
        <option value="true">true</option>
      </Select>
    );
  if (field.kind === 'choice')
    return (
      <Select id={id} name={field.key} value={value || field.choices?.[0] || ''} onChange={(event) => onChange(event.target.value)}>
        {field.choices?.map((choice) => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
      </Select>
    );
  return (
    <TextInput
      id={id}
      name={field.key}
      type={field.kind === 'secret' ? 'password' : 'text'}
      inputMode={field.kind === 'number' ? 'numeric' : undefined}
      autoComplete={field.kind === 'secret' ? 'new-password' : 'off'}
      value={value ?? ''}
      placeholder={placeholder}
      onChange={(event) => onChange(event.target.value)}
      spellCheck={false}
      autoCapitalize="off"
      className="font-mono"
    />
  );
}

function NewChannelDialog({ onClose }: { onClose(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const create = useCreateChannel();
  const [type, setType] = useState<ChannelType>('webhook');
  const [name, setName] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [invalid, setInvalid] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = { type, name: name.trim(), settings: settingsOf(type, values) } as ChannelCreateInput;
    const checked = ChannelCreateSchema.safeParse(input);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      setInvalid(`${issue?.path.join('.') || t('alerts.channels.form')}: ${issue?.message ?? ''}`);
      return;
    }
    create.mutate(input, {
      onSuccess: (channel) => {
        notify(t('alerts.channels.created', { name: channel.name }));
        onClose();
      },
    });
  };

  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={t('alerts.channels.newTitle')} description={t('alerts.channels.newIntro')} wide>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="channel-form">
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t('alerts.channels.name')}>
            {({ id }) => <TextInput id={id} name="name" value={name} onChange={(event) => (setName(event.target.value), setInvalid(null))} placeholder="ops-telegram" autoFocus spellCheck={false} autoCapitalize="off" />}
          </Field>
          <Field label={t('alerts.channels.type')}>
            {({ id }) => (
              <Select
                id={id}
                name="type"
                value={type}
                onChange={(event) => {
                  setType(event.target.value as ChannelType);
                  setValues({});
                  setInvalid(null);
                }}
              >
                {CHANNEL_TYPES.map((value) => (
                  <option key={value} value={value}>
                    {t(`alerts.channels.types.${value}`)}
                  </option>
                ))}
              </Select>
            )}
          </Field>
        </div>
        <div className="grid gap-4 sm:grid-cols-2">
          {SETTINGS[type].map((field) => (
            <Field key={`${type}.${field.key}`} label={`${field.key}${field.required ? '' : ` (${t('alerts.channels.optional')})`}`}>
              {({ id }) => (
                <SettingInput
                  field={field}
                  id={id}
                  value={values[field.key]}
                  placeholder={field.placeholder}
                  onChange={(value) => {
                    setValues({ ...values, [field.key]: value });
                    setInvalid(null);
                  }}
                />
              )}
            </Field>
          ))}
        </div>
        <p className="text-xs text-slate-500 dark:text-slate-400">{t('alerts.channels.secretsNote', { fields: CHANNEL_SECRET_FIELDS[type].join(', ') })}</p>
        {invalid && <ErrorNote>{invalid}</ErrorNote>}
        {create.error && <ErrorNote>{describeError(create.error)}</ErrorNote>}
        <DialogFormActions onCancel={onClose} submitLabel={t('alerts.channels.create')} busy={create.isPending} />
      </form>
    </Modal>
  );
}

/** The provider's answer to a test message, as the hub reported it. */
function TestResult({ result }: { result: DeliveryResult }) {
  const { t } = useI18n();
  return (
    <p
      role="status"
      data-testid="channel-test-result"
      data-ok={String(result.ok)}
      className={cn('mt-1 text-xs font-medium break-words', result.ok ? 'text-emerald-700 dark:text-emerald-400' : 'text-red-700 dark:text-red-400')}
    >
      {result.ok
        ? t('alerts.channels.testOk', { status: result.status ?? '—', ms: result.durationMs })
        : t('alerts.channels.testFailed', { status: result.status ?? '—', error: result.error ?? '' })}
    </p>
  );
}

function ChannelRow({ channel, onDelete, onEdit }: { channel: Channel; onDelete(channel: Channel): void; onEdit(channel: Channel): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const test = useTestChannel();
  const update = useUpdateChannel();
  const settings = Object.entries(channel.settings)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('  ');
  return (
    <li data-testid="channel-row" data-channel={channel.name} data-enabled={String(channel.enabled)} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-start sm:gap-4">
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-medium text-slate-900 dark:text-slate-100">{channel.name}</span>
          <Pill tone="neutral">{t(`alerts.channels.types.${channel.type}`)}</Pill>
          {!channel.enabled && <Pill tone="warn">{t('alerts.rules.disabled')}</Pill>}
          {channel.source === 'file' && (
            <span title={t('channelEdit.fileReadOnly')} data-testid="channel-file-badge">
              <Pill tone="neutral">{t('alerts.rules.source.file')}</Pill>
            </span>
          )}
        </div>
        <p className="mt-1 font-mono text-xs break-all text-slate-500 dark:text-slate-400">{settings}</p>
        {test.data && !test.isPending && <TestResult result={test.data} />}
        {test.error && <p className="mt-1 text-xs text-red-700 dark:text-red-400">{describeError(test.error)}</p>}
      </div>
      <div className="flex shrink-0 flex-wrap items-center gap-1">
        <Button size="sm" variant="primary" disabled={test.isPending} onClick={() => test.mutate(channel.id)}>
          {test.isPending && <Spinner className="size-3.5" />} {t('alerts.channels.test')}
        </Button>
        {channel.type === 'telegram' && <TelegramUpdatesButtons channelId={channel.id} channelName={channel.name} />}
        {channel.source !== 'file' && (
          <>
            <Button size="sm" onClick={() => onEdit(channel)}>
              {t('channelEdit.edit')}
            </Button>
            <Button
              size="sm"
              disabled={update.isPending}
              onClick={() =>
                update.mutate(
                  { id: channel.id, patch: { enabled: !channel.enabled } },
                  { onError: (error) => notify(t('alerts.rules.saveFailed'), { tone: 'error', description: describeError(error) }) },
                )
              }
            >
              {channel.enabled ? t('alerts.rules.disable') : t('alerts.rules.enable')}
            </Button>
            <Button size="icon" variant="dangerGhost" aria-label={t('alerts.channels.delete', { name: channel.name })} onClick={() => onDelete(channel)}>
              <TrashIcon />
            </Button>
          </>
        )}
      </div>
    </li>
  );
}

/** Where notices go: the channels, "send test" on each, adding and removing them. */
export function ChannelsPanel() {
  const { t } = useI18n();
  const channels = useChannels();
  const remove = useDeleteChannel();
  // `?new` (the no-channel warning's link) arrives with the dialog open.
  const [creating, setCreating] = useState(() => new URLSearchParams(window.location.search).has('new'));
  const [deleting, setDeleting] = useState<Channel | null>(null);
  const stopCreating = () => {
    setCreating(false);
    if (window.location.search !== '') navigate(window.location.pathname, { replace: true });
  };
  const [editing, setEditing] = useState<Channel | null>(null);
  let body;
  if (channels.error) body = <ErrorNote onRetry={() => void channels.refetch()} retryLabel={t('common.retry')}>{t('alerts.channels.loadError', { detail: describeError(channels.error) })}</ErrorNote>;
  else if (!channels.data)
    body = (
      <div className="flex justify-center py-8 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  else if (channels.data.length === 0) body = <EmptyState icon={<BellIcon className="size-6" />} title={t('alerts.channels.empty')} />;
  else
    body = (
      <ul className="-my-3 divide-y divide-slate-100 dark:divide-slate-800">
        {channels.data.map((channel) => (
          <ChannelRow key={channel.id} channel={channel} onDelete={setDeleting} onEdit={setEditing} />
        ))}
      </ul>
    );
  return (
    <Panel
      title={t('alerts.channels.title')}
      description={t('alerts.channels.intro')}
      actions={
        <Button size="sm" variant="primary" onClick={() => setCreating(true)}>
          <PlusIcon className="size-3.5" /> {t('alerts.channels.new')}
        </Button>
      }
    >
      <div className="mb-4 empty:hidden">
        <NoChannelWarning
          action={
            <Button size="sm" onClick={() => setCreating(true)}>
              {t('alerts.noChannel.add')}
            </Button>
          }
        />
      </div>
      {body}
      {creating && <NewChannelDialog onClose={stopCreating} />}
      {editing && <ChannelEditDialog channel={editing} onClose={() => setEditing(null)} />}
      {deleting && (
        <ConfirmMutationDialog
          mutation={remove}
          variables={deleting.id}
          onClose={() => setDeleting(null)}
          title={t('alerts.channels.deleteTitle', { name: deleting.name })}
          description={t('alerts.channels.deleteBody')}
          confirmLabel={t('alerts.channels.deleteConfirm')}
        />
      )}
    </Panel>
  );
}
