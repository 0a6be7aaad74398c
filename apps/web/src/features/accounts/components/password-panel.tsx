import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { Field, TextInput } from '../../../ui/field.js';
import { useToast } from '../../../ui/toast.js';
import { useChangePassword } from '../hooks/use-accounts.js';

/** Change your own password (the first admin's generated one, above all). */
export function PasswordPanel() {
  const { t } = useI18n();
  const notify = useToast();
  const change = useChangePassword();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    change.mutate({ current, next }, { onSuccess: () => (setCurrent(''), setNext(''), notify(t('accounts.password.changed'))) });
  };

  return (
    <Panel title={t('accounts.password.title')} data-testid="password">
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3" noValidate>
        <Field label={t('accounts.password.current')} className="min-w-48 flex-1">
          {({ id }) => <TextInput id={id} name="currentPassword" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />}
        </Field>
        <Field label={t('accounts.password.next')} className="min-w-48 flex-1">
          {({ id }) => <TextInput id={id} name="newPassword" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />}
        </Field>
        <Button type="submit" disabled={change.isPending || current === '' || next === ''}>
          {change.isPending && <Spinner className="size-3.5" />} {t('accounts.password.submit')}
        </Button>
      </form>
      {change.error && <div className="mt-3"><ErrorNote>{describeError(change.error)}</ErrorNote></div>}
    </Panel>
  );
}
