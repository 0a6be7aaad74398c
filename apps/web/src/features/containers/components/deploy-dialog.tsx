import { deployCommandFrom, RESTART_POLICIES, type Agent, type DeployFormFields } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote } from '../../../ui/card.js';
import { Modal } from '../../../ui/dialog.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { useToast } from '../../../ui/toast.js';
import { useContainerCommand } from '../hooks/use-containers.js';

/** Lines or commas of a text field, trimmed, empty ones dropped. */
const listOf = (text: string, commas: boolean): string[] =>
  text
    .split(commas ? /[\n,]/ : /\n/)
    .map((item) => item.trim())
    .filter(Boolean);

type FieldName = keyof DeployFormFields;

const textarea =
  'block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 font-mono text-sm text-slate-900 shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-slate-700 dark:bg-slate-950 dark:text-slate-100';

/**
 * Deploy a container on this machine (issue #18): the same fields, parsers and schema as
 * `farol containers deploy`, so a mistake is shown at its field before anything is sent; the
 * agent's policy (`docker.deploy`) still decides.
 */
export function DeployDialog({ agent, onClose }: { agent: Agent; onClose(): void }) {
  const { t } = useI18n();
  const notify = useToast();
  const command = useContainerCommand(agent.id);
  const [values, setValues] = useState<Record<FieldName, string>>({ image: '', name: '', ports: '', env: '', secrets: '', volumes: '', restart: '', labels: '', network: '', healthCmd: '' });
  const [invalid, setInvalid] = useState<{ field: string; message: string } | null>(null);
  const failure = command.error ? describeError(command.error) : command.data && !command.data.ok ? (command.data.target.error ?? command.data.target.state) : null;

  const set = (field: FieldName) => (event: { target: { value: string } }) => setValues((v) => ({ ...v, [field]: event.target.value }));
  const errorOf = (field: string) => (invalid?.field === field ? invalid.message : undefined);

  function submit(event: FormEvent): void {
    event.preventDefault();
    const fields: DeployFormFields = {
      image: values.image,
      name: values.name,
      ports: listOf(values.ports, true),
      env: listOf(values.env, false),
      secrets: listOf(values.secrets, true),
      volumes: listOf(values.volumes, false),
      restart: values.restart,
      labels: listOf(values.labels, false),
      network: values.network,
      healthCmd: values.healthCmd,
    };
    const built = deployCommandFrom(fields);
    if (!built.ok) {
      setInvalid({ field: built.field, message: built.message });
      return;
    }
    setInvalid(null);
    command.mutate(built.command, {
      onSuccess: (outcome) => {
        if (outcome.ok) {
          notify(t('containers.deployed', { name: built.command.name, machine: agent.name }), { tone: 'success' });
          onClose();
        }
      },
    });
  }

  const text = (field: Exclude<FieldName, 'restart'>, props: { placeholder?: string; multiline?: boolean } = {}) => (
    <Field label={t(`containers.deploy_${field}`)} hint={t(`containers.deploy_${field}Hint`)} error={errorOf(field)}>
      {({ id, describedBy, invalid: bad }) =>
        props.multiline ? (
          <textarea id={id} name={field} rows={2} aria-describedby={describedBy} aria-invalid={bad} className={textarea} value={values[field]} onChange={set(field)} placeholder={props.placeholder} />
        ) : (
          <TextInput id={id} name={field} aria-describedby={describedBy} aria-invalid={bad} value={values[field]} onChange={set(field)} placeholder={props.placeholder} autoComplete="off" spellCheck={false} />
        )
      }
    </Field>
  );

  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={t('containers.deployTitle', { machine: agent.name })} description={t('containers.deployBody')} wide>
      <form onSubmit={submit} className="grid gap-4 sm:grid-cols-2" data-testid="deploy-form" noValidate>
        {text('image', { placeholder: 'nginx:1.27' })}
        {text('name', { placeholder: 'web' })}
        {text('ports', { placeholder: '8080:80' })}
        <Field label={t('containers.deploy_restart')} error={errorOf('restart')}>
          {({ id }) => (
            <Select id={id} name="restart" value={values.restart} onChange={set('restart')}>
              <option value="">{t('containers.deploy_restartDefault')}</option>
              {RESTART_POLICIES.map((policy) => (
                <option key={policy} value={policy}>
                  {policy}
                </option>
              ))}
            </Select>
          )}
        </Field>
        {text('env', { placeholder: 'MODE=prod', multiline: true })}
        {text('secrets', { placeholder: 'DB_PASSWORD' })}
        {text('volumes', { placeholder: '/srv/web:/usr/share/nginx/html:ro', multiline: true })}
        {text('labels', { placeholder: 'team=web', multiline: true })}
        {text('network', { placeholder: 'bridge' })}
        {text('healthCmd', { placeholder: 'wget -q -O- http://localhost/' })}
        {failure && (
          <div className="sm:col-span-2">
            <ErrorNote>{t('containers.deployFailed', { detail: failure })}</ErrorNote>
          </div>
        )}
        <div className="flex justify-end gap-2 sm:col-span-2">
          <Button variant="ghost" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button type="submit" variant="primary" disabled={command.isPending}>
            {command.isPending ? t('containers.deploying') : t('containers.deploy')}
          </Button>
        </div>
      </form>
    </Modal>
  );
}
