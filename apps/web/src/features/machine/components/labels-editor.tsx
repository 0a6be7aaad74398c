import type { Agent, Labels } from '@farol/protocol';
import { LabelKeySchema, LabelValueSchema } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { TextInput } from '../../../ui/field.js';
import { PlusIcon, XIcon } from '../../../ui/icons.js';
import { LabelChip } from '../../../ui/status.js';
import { useToast } from '../../../ui/toast.js';
import { useUpdateAgent } from '../hooks/use-machine.js';

/** `env=prod` → ['env', 'prod'] when both parts are valid label text, else null. */
export function parseLabel(text: string): [string, string] | null {
  const at = text.indexOf('=');
  if (at <= 0) return null;
  const key = text.slice(0, at).trim();
  const value = text.slice(at + 1).trim();
  return LabelKeySchema.safeParse(key).success && LabelValueSchema.safeParse(value).success ? [key, value] : null;
}

/** The machine's labels as removable chips, and a small form to add one. */
export function LabelsEditor({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  const notify = useToast();
  const update = useUpdateAgent(agent);
  const [adding, setAdding] = useState(false);
  const [draft, setDraft] = useState('');
  const [invalid, setInvalid] = useState(false);

  const save = (labels: Labels, after?: () => void) =>
    update.mutate(
      { labels },
      {
        onSuccess: () => {
          notify(t('labels.saved'));
          after?.();
        },
        onError: (error) => notify(t('common.error', { detail: describeError(error) }), { tone: 'error' }),
      },
    );

  const add = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseLabel(draft);
    if (!parsed) {
      setInvalid(true);
      return;
    }
    save({ ...agent.labels, [parsed[0]]: parsed[1] }, () => {
      setDraft('');
      setAdding(false);
    });
  };

  const remove = (key: string) => {
    const { [key]: _removed, ...rest } = agent.labels;
    save(rest);
  };

  const entries = Object.entries(agent.labels);
  return (
    <div className="flex flex-wrap items-center gap-1.5" data-testid="labels-editor">
      {entries.length === 0 && !adding && <span className="text-xs text-slate-400 dark:text-slate-500">{t('labels.none')}</span>}
      {entries.map(([key, value]) => (
        <LabelChip key={key} labelKey={key} value={value}>
          <button
            type="button"
            onClick={() => remove(key)}
            disabled={update.isPending}
            aria-label={t('labels.remove', { label: `${key}=${value}` })}
            className="-my-1 -mr-1 ml-0.5 rounded p-0.5 text-slate-400 hover:bg-slate-200 hover:text-slate-700 pointer-coarse:p-1.5 dark:hover:bg-slate-700 dark:hover:text-slate-200"
          >
            <XIcon className="size-3" />
          </button>
        </LabelChip>
      ))}
      {adding ? (
        <form onSubmit={add} className="flex items-center gap-1.5">
          <TextInput
            autoFocus
            value={draft}
            onChange={(event) => {
              setDraft(event.target.value);
              setInvalid(false);
            }}
            onKeyDown={(event) => event.key === 'Escape' && setAdding(false)}
            placeholder={t('labels.placeholder')}
            aria-label={t('labels.inputLabel')}
            aria-invalid={invalid}
            title={invalid ? t('labels.invalid') : undefined}
            className="h-8 w-40 font-mono text-xs"
          />
          <Button type="submit" size="sm" variant="primary" disabled={update.isPending}>
            {t('labels.addSubmit')}
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setAdding(false)}>
            {t('common.cancel')}
          </Button>
          {invalid && (
            <span role="alert" className="basis-full text-xs text-red-600 dark:text-red-400">
              {t('labels.invalid')}
            </span>
          )}
        </form>
      ) : (
        <Button size="sm" variant="accentGhost" onClick={() => setAdding(true)}>
          <PlusIcon className="size-3.5" /> {t('labels.add')}
        </Button>
      )}
    </div>
  );
}
