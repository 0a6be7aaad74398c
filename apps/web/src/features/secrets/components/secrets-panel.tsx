import { createSecretsClient, type SecretsClient } from '@farol/client';
import { SecretNameSchema, SecretScopeSchema, SecretValueSchema, type SecretReveal, type SecretSummary } from '@farol/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useSignedIn } from '../../../app/session.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { RelativeTime } from '../../../ui/clock.js';
import { CopyButton } from '../../../ui/copy-button.js';
import { ConfirmDialog, Modal } from '../../../ui/dialog.js';
import { Field, TextInput } from '../../../ui/field.js';
import { formatDateTime } from '../../../ui/format.js';
import { PlusIcon, TrashIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { Pill } from '../../jobs/components/job-parts.js';
import { useStepUp } from '../../step-up/step-up.js';

const SECRETS_KEY = ['secrets'] as const;

function useSecretsClient(): SecretsClient {
  const { clientOptions } = useSignedIn();
  return useMemo(() => createSecretsClient(clientOptions), [clientOptions]);
}

/** Creates a secret or replaces one's value and scope; the value is write-only from then on. */
function SetSecretDialog({ existing, onClose }: { existing: SecretSummary | null; onClose(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const secrets = useSecretsClient();
  const queryClient = useQueryClient();
  const [name, setName] = useState(existing?.name ?? '');
  const [scope, setScope] = useState(existing?.scope ?? '*');
  const [value, setValue] = useState('');
  const [description, setDescription] = useState(existing?.description ?? '');
  const [invalid, setInvalid] = useState<{ field: 'name' | 'scope' | 'value'; text: string } | null>(null);
  const save = useMutation({
    mutationFn: () => secrets.putSecret(name.trim(), { value, scope: scope.trim(), ...(description.trim() ? { description: description.trim() } : {}) }),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: SECRETS_KEY });
      notify(t(existing ? 'secrets.replaced' : 'secrets.created', { name: saved.name }));
      onClose();
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checks = [
      ['name', SecretNameSchema.safeParse(name.trim())],
      ['scope', SecretScopeSchema.safeParse(scope.trim())],
      ['value', SecretValueSchema.safeParse(value)],
    ] as const;
    for (const [field, result] of checks) {
      if (!result.success) {
        setInvalid({ field, text: result.error.issues[0]?.message ?? t('secrets.invalid') });
        return;
      }
    }
    save.mutate();
  };
  const errorOf = (field: 'name' | 'scope' | 'value') => (invalid?.field === field ? invalid.text : undefined);

  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={existing ? t('secrets.replaceTitle', { name: existing.name }) : t('secrets.newTitle')} description={t('secrets.writeOnly')}>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="secret-form">
        {!existing && (
          <Field label={t('secrets.name')} hint={t('secrets.nameHint')} error={errorOf('name')}>
            {({ id, describedBy, invalid: bad }) => (
              <TextInput id={id} name="secretName" value={name} onChange={(event) => (setName(event.target.value), setInvalid(null))} placeholder="DB_PASSWORD" autoFocus spellCheck={false} autoCapitalize="off" autoComplete="off" aria-describedby={describedBy} aria-invalid={bad} className="font-mono" />
            )}
          </Field>
        )}
        <Field label={t('secrets.value')} error={errorOf('value')}>
          {({ id, describedBy, invalid: bad }) => (
            <TextInput id={id} name="secretValue" type="password" value={value} onChange={(event) => (setValue(event.target.value), setInvalid(null))} autoComplete="new-password" autoFocus={Boolean(existing)} spellCheck={false} aria-describedby={describedBy} aria-invalid={bad} className="font-mono" />
          )}
        </Field>
        <Field label={t('secrets.scope')} hint={t('secrets.scopeHint')} error={errorOf('scope')}>
          {({ id, describedBy, invalid: bad }) => (
            <TextInput id={id} name="secretScope" value={scope} onChange={(event) => (setScope(event.target.value), setInvalid(null))} placeholder="role=db,env=prod" spellCheck={false} autoCapitalize="off" autoComplete="off" aria-describedby={describedBy} aria-invalid={bad} className="font-mono" />
          )}
        </Field>
        <Field label={t('secrets.description')}>
          {({ id }) => <TextInput id={id} name="secretDescription" value={description} maxLength={500} onChange={(event) => setDescription(event.target.value)} autoComplete="off" />}
        </Field>
        {save.error && <ErrorNote>{describeError(save.error)}</ErrorNote>}
        <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {existing ? t('secrets.replace') : t('secrets.create')}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

/** The one read of a value: shown until the dialog closes, then forgotten by the page. */
function RevealDialog({ revealed, onClose }: { revealed: SecretReveal; onClose(): void }) {
  const { t } = useI18n();
  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={t('secrets.revealTitle', { name: revealed.name })} description={t('secrets.revealNote')}>
      <div className="flex items-start gap-2">
        <code data-testid="secret-value" className="min-w-0 flex-1 rounded-lg bg-slate-100 px-3 py-2 font-mono text-sm break-all whitespace-pre-wrap text-slate-900 dark:bg-slate-950 dark:text-slate-100">
          {revealed.value}
        </code>
        <CopyButton text={revealed.value} label={t('secrets.copy')} />
      </div>
      <div className="mt-4 flex justify-end">
        <Button variant="primary" onClick={onClose}>
          {t('secrets.hide')}
        </Button>
      </div>
    </Modal>
  );
}

function SecretRow({ secret, canRead, canWrite, onReplace, onDelete, onReveal, revealing }: { secret: SecretSummary; canRead: boolean; canWrite: boolean; onReplace(): void; onDelete(): void; onReveal(): void; revealing: boolean }) {
  const { t, locale } = useI18n();
  return (
    <li data-testid="secret-row" data-secret={secret.name} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:gap-4">
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-mono text-sm font-medium break-all text-slate-900 dark:text-slate-100">{secret.name}</span>
          <Pill tone="neutral">{t('secrets.scopeIs', { scope: secret.scope })}</Pill>
          {secret.source !== 'hub' && <Pill tone="neutral">{secret.source}</Pill>}
        </div>
        {secret.description && <p className="mt-0.5 text-xs text-slate-600 dark:text-slate-300">{secret.description}</p>}
        <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400" title={formatDateTime(secret.updatedAt, locale)}>
          {t('secrets.updated', { by: secret.updatedBy, version: secret.version })} <RelativeTime at={secret.updatedAt} />
        </p>
      </div>
      <div className="flex shrink-0 items-center gap-1">
        {canRead && (
          <Button size="sm" onClick={onReveal} disabled={revealing}>
            {revealing && <Spinner className="size-3.5" />} {t('secrets.reveal')}
          </Button>
        )}
        {canWrite && (
          <>
            {/* A read-through secret (Vault, Infisical) changes where it lives: the form sets hub values only. */}
            {secret.source === 'hub' && (
              <Button size="sm" onClick={onReplace}>
                {t('secrets.replace')}
              </Button>
            )}
            <Button size="icon" variant="dangerGhost" aria-label={t('secrets.delete', { name: secret.name })} onClick={onDelete}>
              <TrashIcon />
            </Button>
          </>
        )}
      </div>
    </li>
  );
}

/** Settings → Secrets: names, scopes and when they changed (never values); set, replace, delete, reveal with a step-up. */
export function SecretsPanel({ canRead, canWrite }: { canRead: boolean; canWrite: boolean }) {
  const { t } = useI18n();
  const notify = useToast();
  const secrets = useSecretsClient();
  const stepUp = useStepUp();
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: SECRETS_KEY, queryFn: () => secrets.listSecrets(), enabled: canRead });
  const [editing, setEditing] = useState<SecretSummary | 'new' | null>(null);
  const [deleting, setDeleting] = useState<SecretSummary | null>(null);
  const [revealed, setRevealed] = useState<SecretReveal | null>(null);
  const remove = useMutation({
    mutationFn: (name: string) => secrets.deleteSecret(name),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: SECRETS_KEY });
      setDeleting(null);
    },
  });
  const reveal = useMutation({
    mutationFn: (name: string) => stepUp.run(() => secrets.revealSecret(name)),
    onSuccess: setRevealed,
    onError: (error) => notify(t('secrets.revealFailed'), { tone: 'error', description: describeError(error) }),
  });

  let body;
  if (!canRead) body = <p className="text-sm text-slate-500 dark:text-slate-400">{t('secrets.writeOnlyRole')}</p>;
  else if (list.error) body = <ErrorNote onRetry={() => void list.refetch()} retryLabel={t('common.retry')}>{t('secrets.loadError', { detail: describeError(list.error) })}</ErrorNote>;
  else if (!list.data)
    body = (
      <div className="flex justify-center py-6 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  else if (list.data.secrets.length === 0) body = <EmptyState title={t('secrets.empty')}>{t('secrets.emptyHint')}</EmptyState>;
  else
    body = (
      <ul className="-my-3 divide-y divide-slate-100 dark:divide-slate-800" data-testid="secret-list">
        {list.data.secrets.map((secret) => (
          <SecretRow
            key={secret.name}
            secret={secret}
            canRead={canRead}
            canWrite={canWrite}
            onReplace={() => setEditing(secret)}
            onDelete={() => setDeleting(secret)}
            onReveal={() => reveal.mutate(secret.name)}
            revealing={reveal.isPending && reveal.variables === secret.name}
          />
        ))}
      </ul>
    );

  return (
    <Panel
      title={t('secrets.title')}
      description={t('secrets.intro')}
      data-testid="secrets"
      actions={
        canWrite && (
          <Button size="sm" variant="primary" onClick={() => setEditing('new')}>
            <PlusIcon className="size-3.5" /> {t('secrets.new')}
          </Button>
        )
      }
    >
      {body}
      {editing && <SetSecretDialog existing={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
      {revealed && <RevealDialog revealed={revealed} onClose={() => (setRevealed(null), reveal.reset())} />}
      {deleting && (
        <ConfirmDialog
          open
          onOpenChange={(open) => !open && setDeleting(null)}
          title={t('secrets.deleteTitle', { name: deleting.name })}
          description={t('secrets.deleteBody')}
          confirmLabel={t('secrets.deleteConfirm')}
          busy={remove.isPending}
          error={remove.error ? <ErrorNote>{describeError(remove.error)}</ErrorNote> : undefined}
          onConfirm={() => remove.mutate(deleting.name)}
        />
      )}
    </Panel>
  );
}
