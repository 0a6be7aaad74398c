import { FarolApiError } from '@farol/client';
import { AgentNameSchema, type Agent } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { Link, machinePath, navigate } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote } from '../../../ui/card.js';
import { RelativeTime } from '../../../ui/clock.js';
import { ConfirmDialog, Modal } from '../../../ui/dialog.js';
import { Field, TextInput } from '../../../ui/field.js';
import { ChevronLeftIcon, MoreIcon, PencilIcon, TrashIcon } from '../../../ui/icons.js';
import { Menu, MenuItem } from '../../../ui/menu.js';
import { StatusDot, StatusPill } from '../../../ui/status.js';
import { useToast } from '../../../ui/toast.js';
import type { Health } from '../../fleet/fleet-view.js';
import { useDeleteAgent, useUpdateAgent } from '../hooks/use-machine.js';
import { LabelsEditor } from './labels-editor.js';

function RenameDialog({ agent, open, onOpenChange }: { agent: Agent; open: boolean; onOpenChange(open: boolean): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const update = useUpdateAgent(agent);
  const [name, setName] = useState(agent.name);
  const [error, setError] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (trimmed === agent.name) return onOpenChange(false);
    const valid = AgentNameSchema.safeParse(trimmed);
    if (!valid.success) return setError(t('machine.renameHint'));
    update.mutate(
      { name: trimmed },
      {
        onSuccess: (updated) => {
          onOpenChange(false);
          notify(t('machine.renamed', { name: updated.name }));
          navigate(machinePath(updated.name), { replace: true });
        },
        onError: (failure) =>
          setError(failure instanceof FarolApiError && (failure.code === 'name_taken' || failure.code === 'conflict') ? t('machine.renameTaken') : describeError(failure)),
      },
    );
  };

  return (
    <Modal open={open} onOpenChange={onOpenChange} title={t('machine.renameTitle')}>
      <form onSubmit={submit} noValidate>
        <Field label={t('machine.renameLabel')} hint={t('machine.renameHint')} error={error}>
          {({ id, describedBy, invalid }) => (
            <TextInput
              id={id}
              autoFocus
              value={name}
              onChange={(event) => {
                setName(event.target.value);
                setError(null);
              }}
              aria-describedby={describedBy}
              aria-invalid={invalid}
              spellCheck={false}
              autoCapitalize="off"
              className="font-mono"
            />
          )}
        </Field>
        <div className="mt-6 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <Button onClick={() => onOpenChange(false)}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" disabled={update.isPending}>
            {t('machine.renameSubmit')}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

function DeleteDialog({ agent, open, onOpenChange }: { agent: Agent; open: boolean; onOpenChange(open: boolean): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const remove = useDeleteAgent(agent);
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={onOpenChange}
      title={t('machine.deleteTitle', { name: agent.name })}
      description={t('machine.deleteBody')}
      confirmLabel={t('machine.deleteConfirm')}
      busy={remove.isPending}
      error={remove.error ? <ErrorNote>{describeError(remove.error)}</ErrorNote> : undefined}
      onConfirm={() =>
        remove.mutate(undefined, {
          onSuccess: () => {
            onOpenChange(false);
            notify(t('machine.deleted', { name: agent.name }));
            navigate('/', { replace: true });
          },
        })
      }
    />
  );
}

/** Name, status, labels and the machine's actions (rename, delete). */
export function MachineHeader({ agent, health }: { agent: Agent; health: Health }) {
  const { t } = useI18n();
  const [renaming, setRenaming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const system = agent.system;
  const facts = [agent.hostname !== agent.name ? agent.hostname : null, system ? [system.distro || system.os, system.release].filter(Boolean).join(' ') : null, system?.arch].filter(Boolean);

  return (
    <div className="flex flex-col gap-4">
      <Link to="/" className="inline-flex w-fit items-center gap-1 rounded-md text-sm text-slate-500 hover:text-slate-900 dark:text-slate-400 dark:hover:text-white">
        <ChevronLeftIcon /> {t('machine.back')}
      </Link>
      <div className="flex items-start gap-3">
        <StatusDot health={health} label={t(`status.${health}`)} className="mt-3" pulse />
        <div className="min-w-0 flex-1">
          <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
            <h1 className="truncate text-2xl font-semibold tracking-tight text-slate-900 dark:text-white" data-testid="machine-name">
              {agent.name}
            </h1>
            <StatusPill health={health} label={t(`status.${health}`)} />
          </div>
          <p className="mt-1 flex flex-wrap items-center gap-x-1.5 text-sm text-slate-500 dark:text-slate-400">
            {facts.map((fact, index) => (
              <span key={index}>
                {index > 0 && <span aria-hidden="true">· </span>}
                {fact}
              </span>
            ))}
            {facts.length > 0 && <span aria-hidden="true">·</span>}
            <span>
              {t('fleet.lastSeen')} <RelativeTime at={agent.lastSeen} />
            </span>
          </p>
        </div>
        <Menu
          label={t('machine.actions')}
          trigger={
            <Button variant="secondary" size="icon" aria-label={t('machine.actions')}>
              <MoreIcon className="size-5" />
            </Button>
          }
        >
          <MenuItem icon={<PencilIcon />} onSelect={() => setRenaming(true)}>
            {t('machine.rename')}
          </MenuItem>
          <MenuItem icon={<TrashIcon />} onSelect={() => setDeleting(true)} danger>
            {t('machine.delete')}
          </MenuItem>
        </Menu>
      </div>
      <LabelsEditor agent={agent} />
      {renaming && <RenameDialog agent={agent} open={renaming} onOpenChange={setRenaming} />}
      {deleting && <DeleteDialog agent={agent} open={deleting} onOpenChange={setDeleting} />}
    </div>
  );
}
