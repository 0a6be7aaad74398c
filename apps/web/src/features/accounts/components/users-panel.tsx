import type { User } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { RelativeTime } from '../../../ui/clock.js';
import { cn } from '../../../ui/cn.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { Cell, HeadCell, PanelTable } from '../../../ui/table.js';
import { useCreateUser, useRoles, useUpdateUser, useUsers } from '../hooks/use-accounts.js';

/** Users and their roles (shown to holders of users:manage): add, change role, disable. */
export function UsersPanel() {
  const { t } = useI18n();
  const users = useUsers(true);
  const roles = useRoles(true);
  const create = useCreateUser();
  const update = useUpdateUser();
  const [form, setForm] = useState({ username: '', password: '', role: 'viewer', scope: '' });
  const roleNames = roles.data?.roles.map((role) => role.name) ?? ['viewer', 'operator', 'admin'];

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      { username: form.username.trim(), password: form.password, role: form.role, ...(form.scope.trim() ? { scope: form.scope.trim() } : {}) },
      { onSuccess: () => setForm({ username: '', password: '', role: form.role, scope: '' }) },
    );
  };
  const change = (user: User, changes: Parameters<typeof update.mutate>[0]['changes']) => update.mutate({ id: user.id, changes });

  return (
    <Panel title={t('accounts.users.title')} description={t('accounts.users.intro')} data-testid="users">
      <form onSubmit={submit} className="grid gap-3 sm:grid-cols-2 lg:grid-cols-5 lg:items-end" noValidate>
        <Field label={t('accounts.users.username')}>
          {({ id }) => <TextInput id={id} name="newUsername" autoComplete="off" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} />}
        </Field>
        <Field label={t('accounts.users.password')}>
          {({ id }) => <TextInput id={id} name="newPassword" type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />}
        </Field>
        <Field label={t('accounts.users.role')}>
          {({ id }) => (
            <Select id={id} name="newRole" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
              {roleNames.map((name) => (
                <option key={name} value={name}>{name}</option>
              ))}
            </Select>
          )}
        </Field>
        <Field label={t('accounts.users.scope')}>
          {({ id }) => <TextInput id={id} name="newScope" placeholder="env=staging" value={form.scope} onChange={(e) => setForm({ ...form, scope: e.target.value })} />}
        </Field>
        <Button type="submit" variant="primary" disabled={create.isPending || form.username.trim() === '' || form.password === ''}>
          {create.isPending && <Spinner className="size-3.5" />} {t('accounts.users.add')}
        </Button>
      </form>
      {create.error && <div className="mt-3"><ErrorNote>{describeError(create.error)}</ErrorNote></div>}
      {update.error && <div className="mt-3"><ErrorNote>{describeError(update.error)}</ErrorNote></div>}
      {users.isPending && <div className="flex justify-center py-6 text-slate-400"><Spinner /></div>}
      {users.error && <ErrorNote>{describeError(users.error)}</ErrorNote>}
      {users.data && (
        <PanelTable
          className="mt-4"
          head={
            <>
              <HeadCell>{t('accounts.users.username')}</HeadCell>
              <HeadCell>{t('accounts.users.role')}</HeadCell>
              <HeadCell className="hidden md:table-cell">{t('accounts.users.scope')}</HeadCell>
              <HeadCell className="hidden sm:table-cell">{t('accounts.users.lastLogin')}</HeadCell>
              <HeadCell><span className="sr-only">{t('accounts.users.state')}</span></HeadCell>
            </>
          }
        >
          {users.data.users.map((user) => (
            <tr key={user.id} data-testid="user-row" className={cn(user.disabled && 'opacity-60')}>
              <Cell>
                <span className="text-slate-900 dark:text-slate-100">{user.username}</span>
                <div className="text-[11px] text-slate-400">{user.disabled ? t('accounts.users.disabled') : user.mfaEnabled ? t('accounts.users.mfaOn') : t('accounts.users.mfaOff')}</div>
              </Cell>
              <Cell>
                <Select aria-label={t('accounts.users.roleOf', { name: user.username })} value={user.role} onChange={(e) => change(user, { role: e.target.value })} className="w-36">
                  {roleNames.map((name) => (
                    <option key={name} value={name}>{name}</option>
                  ))}
                </Select>
              </Cell>
              <Cell className="hidden font-mono text-xs md:table-cell">{user.scope ?? t('accounts.users.allMachines')}</Cell>
              <Cell className="hidden text-xs sm:table-cell">{user.lastLoginAt === null ? '—' : <RelativeTime at={user.lastLoginAt} />}</Cell>
              <Cell className="text-right">
                <Button size="sm" variant={user.disabled ? 'secondary' : 'dangerGhost'} onClick={() => change(user, { disabled: !user.disabled })}>
                  {user.disabled ? t('accounts.users.enable') : t('accounts.users.disable')}
                </Button>
              </Cell>
            </tr>
          ))}
        </PanelTable>
      )}
    </Panel>
  );
}
