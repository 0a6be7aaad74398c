import type { AlertRule } from '@farol/protocol';
import { useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { EmptyState, ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { ConfirmDialog } from '../../../ui/dialog.js';
import { BellIcon, PencilIcon, PlusIcon, TrashIcon } from '../../../ui/icons.js';
import { useToast } from '../../../ui/toast.js';
import { Pill } from '../../jobs/components/job-parts.js';
import { describeCondition, describeScope } from '../alert-format.js';
import { useDeleteRule, useRules, useSaveRule } from '../hooks/use-alerts.js';
import { SeverityPill, useConditionWords } from './alert-parts.js';
import { RuleDialog } from './rule-dialog.js';

/** The rules: what each watches and where, enabled or not; create, edit, disable, delete. */
export function RulesPanel() {
  const { t } = useI18n();
  const notify = useToast();
  const words = useConditionWords();
  const rules = useRules();
  const toggle = useSaveRule();
  const remove = useDeleteRule();
  const [editing, setEditing] = useState<AlertRule | 'new' | null>(null);
  const [deleting, setDeleting] = useState<AlertRule | null>(null);

  let body;
  if (rules.error) body = <ErrorNote onRetry={() => void rules.refetch()} retryLabel={t('common.retry')}>{t('alerts.rules.loadError', { detail: describeError(rules.error) })}</ErrorNote>;
  else if (!rules.data)
    body = (
      <div className="flex justify-center py-8 text-slate-400">
        <Spinner className="size-5" />
      </div>
    );
  else if (rules.data.length === 0) body = <EmptyState icon={<BellIcon className="size-6" />} title={t('alerts.rules.empty')} />;
  else
    body = (
      <ul className="-my-3 divide-y divide-slate-100 dark:divide-slate-800">
        {rules.data.map((rule) => (
          <li key={rule.id} data-testid="rule-row" data-rule={rule.name} data-enabled={String(rule.enabled)} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:gap-4">
            <div className="min-w-0 flex-1">
              <div className="flex flex-wrap items-center gap-2">
                <span className="font-medium text-slate-900 dark:text-slate-100">{rule.name}</span>
                <SeverityPill severity={rule.severity} />
                {!rule.enabled && <Pill tone="neutral">{t('alerts.rules.disabled')}</Pill>}
                {rule.source !== 'api' && <Pill tone="neutral">{t(`alerts.rules.source.${rule.source}`)}</Pill>}
              </div>
              <p className="mt-1 font-mono text-xs text-slate-600 dark:text-slate-300">{describeCondition(rule.condition, words)}</p>
              <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">
                {t('alerts.rules.on', { scope: describeScope(rule.scope, t('jobs.targets.everyMachine')) })}
                {rule.channels.length > 0 && ` · ${t('alerts.rules.to', { channels: rule.channels.join(', ') })}`}
                {rule.description && ` · ${rule.description}`}
              </p>
            </div>
            <div className="flex shrink-0 items-center gap-1">
              <Button
                size="sm"
                disabled={toggle.isPending}
                onClick={() =>
                  toggle.mutate(
                    { id: rule.id, patch: { enabled: !rule.enabled } },
                    { onError: (error) => notify(t('alerts.rules.saveFailed'), { tone: 'error', description: describeError(error) }) },
                  )
                }
              >
                {rule.enabled ? t('alerts.rules.disable') : t('alerts.rules.enable')}
              </Button>
              <Button size="icon" variant="ghost" aria-label={t('alerts.rules.edit', { name: rule.name })} onClick={() => setEditing(rule)}>
                <PencilIcon />
              </Button>
              <Button size="icon" variant="dangerGhost" aria-label={t('alerts.rules.delete', { name: rule.name })} onClick={() => setDeleting(rule)}>
                <TrashIcon />
              </Button>
            </div>
          </li>
        ))}
      </ul>
    );

  return (
    <Panel
      title={t('alerts.rules.title')}
      description={t('alerts.rules.intro')}
      actions={
        <Button size="sm" variant="primary" onClick={() => setEditing('new')}>
          <PlusIcon className="size-3.5" /> {t('alerts.rules.new')}
        </Button>
      }
    >
      {body}
      {editing && <RuleDialog rule={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
      {deleting && (
        <ConfirmDialog
          open
          onOpenChange={(open) => !open && setDeleting(null)}
          title={t('alerts.rules.deleteTitle', { name: deleting.name })}
          description={t('alerts.rules.deleteBody')}
          confirmLabel={t('alerts.rules.deleteConfirm')}
          busy={remove.isPending}
          error={remove.error ? <ErrorNote>{describeError(remove.error)}</ErrorNote> : undefined}
          onConfirm={() => remove.mutate(deleting.id, { onSuccess: () => setDeleting(null) })}
        />
      )}
    </Panel>
  );
}
