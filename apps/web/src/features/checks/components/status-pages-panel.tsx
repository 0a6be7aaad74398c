import { StatusPageInputSchema, StatusPageLanguageSchema, type Check, type StatusPage, type StatusPageInput, type StatusPageLanguage } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { EmptyState, ErrorNote, Panel } from '../../../ui/card.js';
import { ConfirmMutationDialog, DialogFormActions, Modal } from '../../../ui/dialog.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { PencilIcon, PlusIcon, TrashIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { Pill } from '../../jobs/components/job-parts.js';
import { useDeleteStatusPage, useSaveStatusPage, useStatusPages } from '../hooks/use-checks.js';

/** Public status pages: which checks each shows, under which names; create, edit, delete. */
export function StatusPagesPanel({ canManage, checks }: { canManage: boolean; checks: readonly Check[] }) {
  const { t } = useI18n();
  const pages = useStatusPages(true);
  const [editing, setEditing] = useState<StatusPage | 'new' | null>(null);
  const [deleting, setDeleting] = useState<StatusPage | null>(null);
  const remove = useDeleteStatusPage();

  return (
    <Panel
      title={t('statusPages.title')}
      description={t('statusPages.intro')}
      actions={
        canManage && (
          <Button size="sm" onClick={() => setEditing('new')} disabled={checks.length === 0}>
            <PlusIcon className="size-4" />
            {t('statusPages.new')}
          </Button>
        )
      }
    >
      {pages.error && <ErrorNote onRetry={() => void pages.refetch()}>{describeError(pages.error)}</ErrorNote>}
      {pages.data?.pages.length === 0 && <EmptyState title={t('statusPages.empty')} />}
      <ul className="divide-y divide-slate-100 dark:divide-slate-800">
        {pages.data?.pages.map((page) => (
          <li key={page.id} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-start sm:gap-4" data-testid="status-page-row" data-slug={page.slug}>
            <div className="min-w-0 flex-1">
              <div className="flex flex-wrap items-center gap-2">
                <span className="font-medium text-slate-900 dark:text-slate-100">{page.title}</span>
                <a href={page.path} target="_blank" rel="noreferrer" className="font-mono text-xs text-indigo-700 hover:underline dark:text-indigo-300">
                  {page.path}
                </a>
                {page.source === 'file' && (
                  <span title={t('checks.fileReadOnly')}>
                    <Pill tone="neutral">{t('alerts.rules.source.file')}</Pill>
                  </span>
                )}
              </div>
              <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
                {page.checks.map((entry) => t('statusPages.shownAs', { name: entry.name, check: entry.checkName ?? t('statusPages.deletedCheck') })).join(' · ')}
              </p>
            </div>
            {canManage && page.source !== 'file' && (
              <div className="flex shrink-0 gap-1">
                <Button size="sm" variant="ghost" onClick={() => setEditing(page)} aria-label={t('statusPages.edit', { slug: page.slug })}>
                  <PencilIcon className="size-4" />
                </Button>
                <Button size="sm" variant="dangerGhost" onClick={() => setDeleting(page)} aria-label={t('statusPages.delete', { slug: page.slug })}>
                  <TrashIcon className="size-4" />
                </Button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {editing && <StatusPageDialog page={editing === 'new' ? null : editing} checks={checks} onClose={() => setEditing(null)} />}
      {deleting && (
        <ConfirmMutationDialog
          mutation={remove}
          variables={deleting.slug}
          onClose={() => setDeleting(null)}
          title={t('statusPages.deleteTitle', { slug: deleting.slug })}
          description={t('statusPages.deleteBody')}
          confirmLabel={t('statusPages.deleteConfirm')}
          doneNotice={t('statusPages.deleted', { slug: deleting.slug })}
        />
      )}
    </Panel>
  );
}

function StatusPageDialog({ page, checks, onClose }: { page: StatusPage | null; checks: readonly Check[]; onClose(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const save = useSaveStatusPage();
  const [slug, setSlug] = useState(page?.slug ?? '');
  const [title, setTitle] = useState(page?.title ?? '');
  const [description, setDescription] = useState(page?.description ?? '');
  const [language, setLanguage] = useState<StatusPageLanguage>(page?.language ?? 'auto');
  /** checkId → display name, for the checks chosen. */
  const [chosen, setChosen] = useState<Map<string, string>>(() => new Map(page?.checks.map((entry) => [entry.checkId, entry.name]) ?? []));
  const [invalid, setInvalid] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input: StatusPageInput = { slug: slug.trim(), title, ...(description.trim() ? { description } : {}), language, checks: [...chosen].map(([check, name]) => ({ check, name })) };
    const checked = StatusPageInputSchema.safeParse(input);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      setInvalid(`${issue.path.join('.')}: ${issue.message}`);
      return;
    }
    save.mutate(
      { slug: page?.slug ?? null, input },
      {
        onSuccess: (saved) => {
          notify(t('statusPages.saved', { path: saved.path }));
          onClose();
        },
      },
    );
  };

  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={page ? t('statusPages.editTitle', { slug: page.slug }) : t('statusPages.newTitle')} description={t('statusPages.privacy')} wide>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4" data-testid="status-page-form">
        <div className="grid gap-4 sm:grid-cols-[1fr_2fr]">
          <Field label={t('statusPages.slug')} hint={`/status/${slug || '…'}`}>
            {({ id, describedBy }) => <TextInput id={id} name="slug" value={slug} onChange={(event) => setSlug(event.target.value)} aria-describedby={describedBy} className="font-mono" spellCheck={false} autoCapitalize="off" />}
          </Field>
          <Field label={t('statusPages.pageTitle')}>{({ id }) => <TextInput id={id} name="title" value={title} onChange={(event) => setTitle(event.target.value)} />}</Field>
        </div>
        <div className="grid gap-4 sm:grid-cols-[2fr_1fr]">
          <Field label={t('checks.description')}>{({ id }) => <TextInput id={id} name="description" value={description} onChange={(event) => setDescription(event.target.value)} />}</Field>
          <Field label={t('statusPages.language')}>
            {({ id }) => (
              <Select id={id} name="language" value={language} onChange={(event) => setLanguage(StatusPageLanguageSchema.parse(event.target.value))}>
                {StatusPageLanguageSchema.options.map((option) => (
                  <option key={option} value={option}>
                    {t(`statusPages.language.${option}`)}
                  </option>
                ))}
              </Select>
            )}
          </Field>
        </div>
        <fieldset>
          <legend className="mb-1.5 text-sm font-medium text-slate-700 dark:text-slate-200">{t('statusPages.checks')}</legend>
          <ul className="flex flex-col gap-2">
            {checks.map((check) => {
              const name = chosen.get(check.id);
              return (
                <li key={check.id} className="grid items-center gap-2 sm:grid-cols-[14rem_1fr]">
                  <label className="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
                    <input
                      type="checkbox"
                      name={`show-${check.name}`}
                      checked={name !== undefined}
                      onChange={(event) =>
                        setChosen((current) => {
                          const next = new Map(current);
                          if (event.target.checked) next.set(check.id, '');
                          else next.delete(check.id);
                          return next;
                        })
                      }
                      className="size-4 rounded border-slate-300 accent-indigo-600"
                    />
                    <span className="truncate">{check.name}</span>
                  </label>
                  {name !== undefined && (
                    <TextInput
                      name={`display-${check.name}`}
                      aria-label={t('statusPages.displayName', { check: check.name })}
                      placeholder={t('statusPages.displayNamePlaceholder')}
                      value={name}
                      onChange={(event) => setChosen((current) => new Map(current).set(check.id, event.target.value))}
                    />
                  )}
                </li>
              );
            })}
          </ul>
        </fieldset>
        {invalid && <ErrorNote>{invalid}</ErrorNote>}
        {save.error && <ErrorNote>{describeError(save.error)}</ErrorNote>}
        <DialogFormActions onCancel={onClose} submitLabel={page ? t('checks.save') : t('statusPages.publish')} busy={save.isPending} />
      </form>
    </Modal>
  );
}
