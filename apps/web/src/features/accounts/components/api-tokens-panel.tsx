import type { ApiToken, ApiTokenCreated } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { RelativeTime } from '../../../ui/clock.js';
import { CopyLine } from '../../../ui/copy-button.js';
import { ConfirmMutationDialog } from '../../../ui/dialog.js';
import { Field, Select, TextInput } from '../../../ui/field.js';
import { Cell, HeadCell, PanelTable } from '../../../ui/table.js';
import { useApiTokens, useCreateApiToken, useRevokeApiToken } from '../hooks/use-accounts.js';

const TTLS = ['1d', '30d', '90d', '365d'] as const;

/** The signed-in user's API tokens: create (the secret is shown once), list, revoke. */
export function ApiTokensPanel() {
  const { t } = useI18n();
  const tokens = useApiTokens();
  const create = useCreateApiToken();
  const revoke = useRevokeApiToken();
  const [name, setName] = useState('');
  const [ttl, setTtl] = useState<(typeof TTLS)[number]>('90d');
  const [created, setCreated] = useState<ApiTokenCreated | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() === '') return;
    create.mutate({ name: name.trim(), ttl }, { onSuccess: (token) => (setCreated(token), setName('')) });
  };

  return (
    <Panel title={t('accounts.tokens.title')} description={t('accounts.tokens.intro')} data-testid="api-tokens">
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3" noValidate>
        <Field label={t('accounts.tokens.name')} className="min-w-48 flex-1">
          {({ id }) => <TextInput id={id} name="apiTokenName" value={name} onChange={(e) => setName(e.target.value)} placeholder={t('accounts.tokens.namePlaceholder')} />}
        </Field>
        <Field label={t('accounts.tokens.ttl')}>
          {({ id }) => (
            <Select id={id} name="apiTokenTtl" value={ttl} onChange={(e) => setTtl(e.target.value as (typeof TTLS)[number])}>
              {TTLS.map((value) => (
                <option key={value} value={value}>{value}</option>
              ))}
            </Select>
          )}
        </Field>
        <Button type="submit" variant="primary" disabled={create.isPending || name.trim() === ''}>
          {create.isPending && <Spinner className="size-3.5" />} {t('accounts.tokens.create')}
        </Button>
      </form>
      {create.error && <div className="mt-3"><ErrorNote>{describeError(create.error)}</ErrorNote></div>}
      {created && (
        <div className="mt-4 rounded-lg border border-amber-300 bg-amber-50 p-3 dark:border-amber-500/40 dark:bg-amber-500/10" data-testid="api-token-created">
          <p className="mb-2 text-sm font-medium text-amber-900 dark:text-amber-200">{t('accounts.tokens.shownOnce', { name: created.name })}</p>
          <CopyLine text={created.token} label={t('accounts.tokens.copy')} testId="api-token-secret" />
        </div>
      )}
      {tokens.isPending && <div className="flex justify-center py-6 text-slate-400"><Spinner /></div>}
      {tokens.error && <ErrorNote>{describeError(tokens.error)}</ErrorNote>}
      {tokens.data && (
        <PanelTable
          className="mt-4"
          head={
            <>
              <HeadCell>{t('accounts.tokens.name')}</HeadCell>
              <HeadCell>{t('accounts.tokens.state')}</HeadCell>
              <HeadCell className="hidden md:table-cell">{t('accounts.tokens.expires')}</HeadCell>
              <HeadCell className="hidden sm:table-cell">{t('accounts.tokens.lastUsed')}</HeadCell>
              <HeadCell><span className="sr-only">{t('accounts.tokens.revoke')}</span></HeadCell>
            </>
          }
        >
          {tokens.data.tokens.map((token) => (
            <tr key={token.id} data-testid="api-token-row">
              <Cell>
                <span className="text-slate-900 dark:text-slate-100">{token.name}</span>
                <div className="font-mono text-[11px] text-slate-400">{token.id}</div>
              </Cell>
              <Cell className="text-xs">{t(`accounts.tokens.state.${token.state}`)}</Cell>
              <Cell className="hidden text-xs md:table-cell">{token.expiresAt === null ? t('accounts.tokens.never') : <RelativeTime at={token.expiresAt} />}</Cell>
              <Cell className="hidden text-xs sm:table-cell">{token.lastUsedAt === null ? '—' : <RelativeTime at={token.lastUsedAt} />}</Cell>
              <Cell className="text-right">
                {token.state === 'active' && (
                  <Button size="sm" variant="dangerGhost" onClick={() => setRevoking(token)}>
                    {t('accounts.tokens.revoke')}
                  </Button>
                )}
              </Cell>
            </tr>
          ))}
        </PanelTable>
      )}
      {revoking && (
        <ConfirmMutationDialog
          mutation={revoke}
          variables={revoking.id}
          onClose={() => setRevoking(null)}
          title={t('accounts.tokens.revokeTitle', { name: revoking.name })}
          description={t('accounts.tokens.revokeBody')}
          confirmLabel={t('accounts.tokens.revoke')}
          doneNotice={t('accounts.tokens.revoked', { name: revoking.name })}
        />
      )}
    </Panel>
  );
}
