import { OUTBOX_STATES, WEBHOOK_EVENTS, WebhookCreateSchema, WebhookPatchSchema, type OutboxEntry, type OutboxState, type Webhook, type WebhookCreateInput, type WebhookEventType, type WebhookPatch } from '@farol/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { RelativeTime } from '../../../ui/clock.js';
import { cn } from '../../../ui/cn.js';
import { ConfirmDialog, Modal } from '../../../ui/dialog.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { formatDateTime } from '../../../ui/format.js';
import { PlusIcon, TrashIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { Pill } from '../../jobs/components/job-parts.js';
import { splitList } from '../alert-format.js';
import { useChannels, useChannelsClient } from '../hooks/use-alerts.js';

const WEBHOOKS_KEY = ['notify', 'webhooks'] as const;
const OUTBOX_KEY = ['notify', 'outbox'] as const;

/**
 * Creates a webhook, or edits one: the URL and the HMAC secret are write-only, so when editing
 * they start empty and are sent only when something is typed ("remove the signature" clears it).
 */
function WebhookDialog({ existing, onClose }: { existing: Webhook | null; onClose(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const client = useChannelsClient();
  const queryClient = useQueryClient();
  const [name, setName] = useState(existing?.name ?? '');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [unsign, setUnsign] = useState(false);
  const [events, setEvents] = useState<WebhookEventType[]>(existing?.events ?? ['agent.offline', 'alert.firing']);
  const [labels, setLabels] = useState(existing?.selector.labels ?? '');
  const [names, setNames] = useState(existing?.selector.names?.join(', ') ?? '');
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (input: { create: WebhookCreateInput } | { id: string; patch: WebhookPatch }) => ('create' in input ? client.createWebhook(input.create) : client.updateWebhook(input.id, input.patch)),
    onSuccess: (webhook) => {
      void queryClient.invalidateQueries({ queryKey: WEBHOOKS_KEY });
      notify(t(existing ? 'webhooks.saved' : 'webhooks.created', { name: webhook.name }));
      onClose();
    },
  });
  const fail = (issue: { path: PropertyKey[]; message: string } | undefined) => setInvalid(`${issue?.path.join('.') || t('webhooks.form')}: ${issue?.message ?? ''}`);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const selector = { ...(labels.trim() ? { labels: labels.trim() } : {}), ...(names.trim() ? { names: splitList(names) } : {}) };
    if (!existing) {
      const input: WebhookCreateInput = { name: name.trim(), url: url.trim(), events, selector, ...(secret ? { secret } : {}) };
      const checked = WebhookCreateSchema.safeParse(input);
      if (!checked.success) return fail(checked.error.issues[0]);
      save.mutate({ create: input });
      return;
    }
    const patch: WebhookPatch = {};
    if (name.trim() !== existing.name) patch.name = name.trim();
    if (url.trim()) patch.url = url.trim();
    if (secret) patch.secret = secret;
    else if (unsign && existing.signed) patch.secret = null;
    if (JSON.stringify([...events].sort()) !== JSON.stringify([...existing.events].sort())) patch.events = events;
    if (JSON.stringify(selector) !== JSON.stringify({ ...(existing.selector.labels ? { labels: existing.selector.labels } : {}), ...(existing.selector.names?.length ? { names: existing.selector.names } : {}) })) patch.selector = selector;
    const checked = WebhookPatchSchema.safeParse(patch);
    if (!checked.success) return fail(checked.error.issues[0]);
    if (Object.keys(patch).length === 0) return onClose();
    save.mutate({ id: existing.id, patch });
  };
  const touch = () => setInvalid(null);
  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={existing ? t('webhooks.editTitle', { name: existing.name }) : t('webhooks.newTitle')} description={existing ? t('webhooks.editIntro') : t('webhooks.newIntro')} wide>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="webhook-form">
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t('webhooks.name')}>{({ id }) => <TextInput id={id} name="webhookName" value={name} onChange={(event) => (setName(event.target.value), touch())} placeholder="n8n" autoFocus spellCheck={false} autoCapitalize="off" autoComplete="off" />}</Field>
          <Field label={t('webhooks.url')}>{({ id }) => <TextInput id={id} name="webhookUrl" type="password" value={url} onChange={(event) => (setUrl(event.target.value), touch())} placeholder={existing ? t('channelEdit.secretUnchanged', { mask: existing.url }) : 'https://n8n.example.com/webhook/…'} autoComplete="new-password" spellCheck={false} className="font-mono" />}</Field>
          <Field label={`${t('webhooks.secret')} (${t('alerts.channels.optional')})`} hint={t('webhooks.secretHint')}>
            {({ id, describedBy }) => (
              <>
                <TextInput id={id} name="webhookSecret" type="password" value={secret} onChange={(event) => (setSecret(event.target.value), setUnsign(false), touch())} placeholder={existing?.signed ? t('channelEdit.secretUnchanged', { mask: '********' }) : undefined} autoComplete="new-password" aria-describedby={describedBy} className="font-mono" />
                {existing?.signed && (
                  <label className="mt-2 flex items-center gap-2 text-xs text-slate-600 dark:text-slate-300">
                    <input type="checkbox" name="webhookUnsign" checked={unsign} disabled={secret !== ''} onChange={(event) => setUnsign(event.target.checked)} className="size-4 rounded border-slate-300 accent-indigo-600" />
                    {t('webhooks.unsign')}
                  </label>
                )}
              </>
            )}
          </Field>
          <Field label={`${t('webhooks.labels')} (${t('alerts.channels.optional')})`}>{({ id }) => <TextInput id={id} name="webhookLabels" value={labels} onChange={(event) => (setLabels(event.target.value), touch())} placeholder="role=db,env!=dev" spellCheck={false} autoCapitalize="off" className="font-mono" />}</Field>
          <Field label={`${t('webhooks.names')} (${t('alerts.channels.optional')})`} className="sm:col-span-2">{({ id }) => <TextInput id={id} name="webhookNames" value={names} onChange={(event) => (setNames(event.target.value), touch())} placeholder="web-1, web-2" spellCheck={false} autoCapitalize="off" className="font-mono" />}</Field>
        </div>
        <fieldset>
          <legend className="mb-1.5 text-sm font-medium text-slate-700 dark:text-slate-200">{t('webhooks.events')}</legend>
          <div className="flex flex-wrap gap-x-4 gap-y-2">
            {WEBHOOK_EVENTS.map((type) => (
              <label key={type} className="flex items-center gap-2 font-mono text-sm text-slate-700 dark:text-slate-200">
                <input
                  type="checkbox"
                  name={`event-${type}`}
                  checked={events.includes(type)}
                  onChange={(event) => (setEvents(event.target.checked ? [...events, type] : events.filter((known) => known !== type)), touch())}
                  className="size-4 rounded border-slate-300 accent-indigo-600"
                />
                {type}
              </label>
            ))}
          </div>
        </fieldset>
        {invalid && <ErrorNote>{invalid}</ErrorNote>}
        {save.error && <ErrorNote>{describeError(save.error)}</ErrorNote>}
        <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {existing ? t('channelEdit.save') : t('webhooks.create')}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

function WebhookRow({ webhook, onDelete, onEdit }: { webhook: Webhook; onDelete(): void; onEdit(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const client = useChannelsClient();
  const queryClient = useQueryClient();
  const toggle = useMutation({
    mutationFn: () => client.updateWebhook(webhook.id, { enabled: !webhook.enabled }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: WEBHOOKS_KEY }),
    onError: (error) => notify(t('alerts.rules.saveFailed'), { tone: 'error', description: describeError(error) }),
  });
  const test = useMutation({ mutationFn: () => client.testWebhook(webhook.id), onSettled: () => void queryClient.invalidateQueries({ queryKey: OUTBOX_KEY }) });
  const selector = [webhook.selector.labels, webhook.selector.names?.join(', ')].filter(Boolean).join(' · ');
  return (
    <li data-testid="webhook-row" data-webhook={webhook.name} data-enabled={String(webhook.enabled)} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-start sm:gap-4">
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-medium text-slate-900 dark:text-slate-100">{webhook.name}</span>
          {webhook.signed && <Pill tone="good">{t('webhooks.signed')}</Pill>}
          {!webhook.enabled && <Pill tone="warn">{t('alerts.rules.disabled')}</Pill>}
        </div>
        <p className="mt-1 font-mono text-xs break-all text-slate-500 dark:text-slate-400">{webhook.url}</p>
        <div className="mt-1 flex flex-wrap gap-1">
          {webhook.events.map((type) => (
            <Pill key={type} tone="neutral" className="font-mono">
              {type}
            </Pill>
          ))}
        </div>
        <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">{selector ? t('webhooks.only', { selector }) : t('webhooks.everyMachine')}</p>
        {test.data && !test.isPending && (
          <p role="status" data-testid="webhook-test-result" data-ok={String(test.data.ok)} className={cn('mt-1 text-xs font-medium', test.data.ok ? 'text-emerald-700 dark:text-emerald-400' : 'text-red-700 dark:text-red-400')}>
            {test.data.ok ? t('alerts.channels.testOk', { status: test.data.status ?? '—', ms: test.data.durationMs }) : t('alerts.channels.testFailed', { status: test.data.status ?? '—', error: test.data.error ?? '' })}
          </p>
        )}
        {test.error && <p className="mt-1 text-xs text-red-700 dark:text-red-400">{describeError(test.error)}</p>}
      </div>
      <div className="flex shrink-0 flex-wrap items-center gap-1">
        <Button size="sm" variant="primary" disabled={test.isPending} onClick={() => test.mutate()}>
          {test.isPending && <Spinner className="size-3.5" />} {t('alerts.channels.test')}
        </Button>
        <Button size="sm" onClick={onEdit}>
          {t('channelEdit.edit')}
        </Button>
        <Button size="sm" disabled={toggle.isPending} onClick={() => toggle.mutate()}>
          {webhook.enabled ? t('alerts.rules.disable') : t('alerts.rules.enable')}
        </Button>
        <Button size="icon" variant="dangerGhost" aria-label={t('webhooks.delete', { name: webhook.name })} onClick={onDelete}>
          <TrashIcon />
        </Button>
      </div>
    </li>
  );
}

/** Alerts → Channels: event webhooks (hub events posted to a URL, e.g. n8n). */
export function WebhooksPanel() {
  const { t } = useI18n();
  const client = useChannelsClient();
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: WEBHOOKS_KEY, queryFn: async () => (await client.listWebhooks()).webhooks });
  const [editing, setEditing] = useState<Webhook | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => client.deleteWebhook(id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: WEBHOOKS_KEY });
      setDeleting(null);
    },
  });
  let body;
  if (list.error) body = <ErrorNote onRetry={() => void list.refetch()} retryLabel={t('common.retry')}>{t('webhooks.loadError', { detail: describeError(list.error) })}</ErrorNote>;
  else if (!list.data)
    body = (
      <div className="flex justify-center py-6 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  else if (list.data.length === 0) body = <EmptyState title={t('webhooks.empty')}>{t('webhooks.emptyHint')}</EmptyState>;
  else
    body = (
      <ul className="-my-3 divide-y divide-slate-100 dark:divide-slate-800">
        {list.data.map((webhook) => (
          <WebhookRow key={webhook.id} webhook={webhook} onDelete={() => setDeleting(webhook)} onEdit={() => setEditing(webhook)} />
        ))}
      </ul>
    );
  return (
    <Panel
      title={t('webhooks.title')}
      description={t('webhooks.intro')}
      data-testid="webhooks"
      actions={
        <Button size="sm" variant="primary" onClick={() => setEditing('new')}>
          <PlusIcon className="size-3.5" /> {t('webhooks.new')}
        </Button>
      }
    >
      {body}
      {editing && <WebhookDialog existing={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
      {deleting && (
        <ConfirmDialog
          open
          onOpenChange={(open) => !open && setDeleting(null)}
          title={t('webhooks.deleteTitle', { name: deleting.name })}
          description={t('webhooks.deleteBody')}
          confirmLabel={t('webhooks.deleteConfirm')}
          busy={remove.isPending}
          error={remove.error ? <ErrorNote>{describeError(remove.error)}</ErrorNote> : undefined}
          onConfirm={() => remove.mutate(deleting.id)}
        />
      )}
    </Panel>
  );
}

const STATE_TONE: Record<OutboxState, 'neutral' | 'active' | 'good' | 'bad' | 'warn'> = { pending: 'warn', sending: 'active', sent: 'good', failed: 'bad', dropped: 'neutral' };

/** Alerts → Channels: the outbox, recent deliveries to channels and webhooks with their state, attempts and last error. */
export function OutboxPanel() {
  const { t, locale } = useI18n();
  const client = useChannelsClient();
  const channels = useChannels();
  const webhooks = useQuery({ queryKey: WEBHOOKS_KEY, queryFn: async () => (await client.listWebhooks()).webhooks });
  const [state, setState] = useState<OutboxState | ''>('');
  const outbox = useQuery({
    queryKey: [...OUTBOX_KEY, state],
    queryFn: () => client.listOutbox({ ...(state ? { state } : {}), limit: 50 }),
    refetchInterval: 10_000,
  });
  const targetName = (entry: OutboxEntry) => {
    // Issue #20: a browser's push subscription (its owner's own; the id says which).
    if (entry.target === 'push') return `${t('push.title')} · ${entry.targetId}`;
    return (entry.target === 'channel' ? channels.data?.find((channel) => channel.id === entry.targetId)?.name : webhooks.data?.find((webhook) => webhook.id === entry.targetId)?.name) ?? entry.targetId;
  };

  let body;
  if (outbox.error) body = <ErrorNote onRetry={() => void outbox.refetch()} retryLabel={t('common.retry')}>{t('outbox.loadError', { detail: describeError(outbox.error) })}</ErrorNote>;
  else if (!outbox.data)
    body = (
      <div className="flex justify-center py-6 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  else if (outbox.data.entries.length === 0) body = <EmptyState title={t('outbox.empty')} />;
  else
    body = (
      <ul className="-my-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="outbox">
        {outbox.data.entries.map((entry) => (
          <li key={entry.id} data-testid="outbox-row" data-state={entry.state} data-kind={entry.kind} className="flex flex-col gap-1 py-3 text-sm">
            <div className="flex flex-wrap items-center gap-2">
              <Pill tone={STATE_TONE[entry.state]}>{t(`outbox.state.${entry.state}`)}</Pill>
              <span className="font-medium text-slate-900 dark:text-slate-100">{targetName(entry)}</span>
              <span className="text-xs text-slate-500 dark:text-slate-400">{t(entry.target === 'channel' ? 'outbox.toChannel' : 'outbox.toWebhook')}</span>
              <Pill tone="neutral" className="font-mono">
                {entry.kind}
              </Pill>
              {entry.critical && <Pill tone="bad">{t('outbox.critical')}</Pill>}
              <span className="ml-auto text-xs text-slate-500 dark:text-slate-400" title={formatDateTime(entry.createdAt, locale)}>
                <RelativeTime at={entry.createdAt} />
              </span>
            </div>
            <p className="text-xs text-slate-500 tabular-nums dark:text-slate-400">
              {t('outbox.attempts', { n: entry.attempts })}
              {entry.sentAt !== null && ` · ${t('outbox.sentAt', { at: formatDateTime(entry.sentAt, locale) })}`}
              {entry.nextAttemptAt !== null && entry.state === 'pending' && ` · ${t('outbox.nextAt', { at: formatDateTime(entry.nextAttemptAt, locale) })}`}
            </p>
            {entry.lastError && <p className="font-mono text-xs break-all text-red-700 dark:text-red-400">{entry.lastError}</p>}
          </li>
        ))}
      </ul>
    );
  return (
    <Panel
      title={t('outbox.title')}
      description={t('outbox.intro')}
      data-testid="outbox-panel"
      actions={
        <Select aria-label={t('outbox.filter')} name="outboxState" value={state} onChange={(event) => setState(event.target.value as OutboxState | '')} className="w-40">
          <option value="">{t('outbox.all')}</option>
          {OUTBOX_STATES.map((value) => (
            <option key={value} value={value}>
              {t(`outbox.state.${value}`)}
            </option>
          ))}
        </Select>
      }
    >
      {body}
    </Panel>
  );
}
