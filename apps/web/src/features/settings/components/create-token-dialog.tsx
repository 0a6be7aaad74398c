import type { JoinTokenCreated } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { hubUrl } from '../../../app/session.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote } from '../../../ui/card.js';
import { CopyLine } from '../../../ui/copy-button.js';
import { Modal } from '../../../ui/dialog.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { AlertIcon } from '../../../ui/icons.js';
import { useCreateJoinToken } from '../hooks/use-join-tokens.js';
import { installCommands, parseLabelList, TTL_CHOICES, type TtlChoice } from '../install-commands.js';

/** The secret, once, with the commands that use it. */
function CreatedToken({ created, onDone }: { created: JoinTokenCreated; onDone(): void }) {
  const { t } = useI18n();
  const commands = installCommands(hubUrl(), created.token, created.hubKeyFingerprint);
  return (
    <div className="flex flex-col gap-5" data-testid="created-token-panel">
      <div className="flex items-start gap-2.5 rounded-lg bg-amber-50 px-3 py-2.5 text-sm text-amber-900 ring-1 ring-amber-200 ring-inset dark:bg-amber-500/10 dark:text-amber-200 dark:ring-amber-500/30">
        <AlertIcon className="mt-0.5 size-4 shrink-0" />
        {t('tokens.createdOnce')}
      </div>
      <div>
        <h3 className="mb-1.5 text-sm font-medium text-slate-700 dark:text-slate-200">{t('tokens.createdToken')}</h3>
        <CopyLine text={created.token} label={t('tokens.createdToken')} testId="created-token" />
      </div>
      <div className="flex flex-col gap-3">
        <p className="text-sm text-slate-600 dark:text-slate-300">{t('tokens.installIntro')}</p>
        <div>
          <h3 className="mb-1.5 text-xs font-medium text-slate-500 dark:text-slate-400">{t('tokens.installUnix')}</h3>
          <CopyLine text={commands.unix} label={t('tokens.installUnix')} testId="install-command-unix" />
        </div>
        <div>
          <h3 className="mb-1.5 text-xs font-medium text-slate-500 dark:text-slate-400">{t('tokens.installWindows')}</h3>
          <CopyLine text={commands.windows} label={t('tokens.installWindows')} testId="install-command-windows" />
        </div>
        <div>
          <h3 className="mb-1.5 text-xs font-medium text-slate-500 dark:text-slate-400">{t('tokens.installCheckout')}</h3>
          <CopyLine text={commands.checkout} label={t('tokens.installCheckout')} testId="install-command-checkout" />
        </div>
      </div>
      <div className="flex justify-end">
        <Button variant="primary" onClick={onDone}>
          {t('tokens.createdDone')}
        </Button>
      </div>
    </div>
  );
}

/** Creates a join token (ttl, uses, labels, note), then shows it once. */
export function CreateTokenDialog({ open, onOpenChange }: { open: boolean; onOpenChange(open: boolean): void }) {
  const { t } = useI18n();
  const create = useCreateJoinToken();
  const [ttl, setTtl] = useState<TtlChoice>('24h');
  const [uses, setUses] = useState('1');
  const [labels, setLabels] = useState('');
  const [note, setNote] = useState('');
  const [labelsInvalid, setLabelsInvalid] = useState(false);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsedLabels = parseLabelList(labels);
    if (!parsedLabels) return setLabelsInvalid(true);
    create.mutate({
      ttl,
      uses: Math.min(100_000, Math.max(1, Math.floor(Number(uses) || 1))),
      labels: Object.keys(parsedLabels).length > 0 ? parsedLabels : undefined,
      note: note.trim() || undefined,
    });
  };

  const created = create.data;
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={created ? t('tokens.createdTitle') : t('tokens.formTitle')} wide={Boolean(created)}>
      {created ? (
        <CreatedToken created={created} onDone={() => onOpenChange(false)} />
      ) : (
        <form onSubmit={submit} noValidate className="flex flex-col gap-4">
          <div className="grid gap-4 sm:grid-cols-2">
            <Field label={t('tokens.formTtl')}>
              {({ id }) => (
                <Select id={id} name="ttl" value={ttl} onChange={(event) => setTtl(event.target.value as TtlChoice)}>
                  {TTL_CHOICES.map((choice) => (
                    <option key={choice} value={choice}>
                      {t(`tokens.ttl.${choice}`)}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label={t('tokens.formUses')} hint={t('tokens.formUsesHint')}>
              {({ id, describedBy }) => (
                <TextInput id={id} name="uses" type="number" inputMode="numeric" min={1} max={100_000} value={uses} onChange={(event) => setUses(event.target.value)} aria-describedby={describedBy} />
              )}
            </Field>
          </div>
          <Field label={t('tokens.formLabels')} hint={t('tokens.formLabelsHint')} error={labelsInvalid ? t('tokens.formLabelsInvalid') : undefined}>
            {({ id, describedBy, invalid }) => (
              <TextInput
                id={id}
                name="labels"
                value={labels}
                onChange={(event) => {
                  setLabels(event.target.value);
                  setLabelsInvalid(false);
                }}
                placeholder="env=prod, role=web"
                aria-describedby={describedBy}
                aria-invalid={invalid}
                spellCheck={false}
                autoCapitalize="off"
                className="font-mono"
              />
            )}
          </Field>
          <Field label={t('tokens.formNote')}>
            {({ id }) => <TextInput id={id} name="note" value={note} maxLength={200} onChange={(event) => setNote(event.target.value)} placeholder={t('tokens.formNotePlaceholder')} />}
          </Field>
          {create.error && <ErrorNote>{t('common.error', { detail: describeError(create.error) })}</ErrorNote>}
          <div className="mt-2 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            <Button onClick={() => onOpenChange(false)}>{t('common.cancel')}</Button>
            <Button type="submit" variant="primary" disabled={create.isPending}>
              {t('tokens.formSubmit')}
            </Button>
          </div>
        </form>
      )}
    </Modal>
  );
}
