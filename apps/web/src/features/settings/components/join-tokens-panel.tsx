import type { JoinToken } from '@farol/protocol';
import { useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { RelativeTime } from '../../../ui/clock.js';
import { cn } from '../../../ui/cn.js';
import { ConfirmMutationDialog } from '../../../ui/dialog.js';
import { formatDateTime } from '../../../ui/format.js';
import { PlusIcon } from '../../../ui/icons.js';
import { LabelChip } from '../../../ui/status.js';
import { Cell, HeadCell, PanelTable } from '../../../ui/table.js';
import { useJoinTokens, useRevokeJoinToken } from '../hooks/use-join-tokens.js';
import { CreateTokenDialog } from './create-token-dialog.js';

const STATE_STYLE: Record<JoinToken['state'], string> = {
  active: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-500/10 dark:text-emerald-300 dark:ring-emerald-400/20',
  expired: 'bg-slate-100 text-slate-600 ring-slate-500/20 dark:bg-slate-500/10 dark:text-slate-300 dark:ring-slate-400/20',
  revoked: 'bg-red-50 text-red-700 ring-red-600/20 dark:bg-red-500/10 dark:text-red-300 dark:ring-red-400/20',
  used_up: 'bg-amber-50 text-amber-800 ring-amber-600/20 dark:bg-amber-500/10 dark:text-amber-300 dark:ring-amber-400/20',
};

/** Join tokens: list with state and uses, create (shown once), revoke. */
export function JoinTokensPanel() {
  const { t, locale } = useI18n();
  const tokens = useJoinTokens();
  const revoke = useRevokeJoinToken();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<JoinToken | null>(null);
  // Newest first; a dialog that closes mounts a fresh form next time.
  const list = [...(tokens.data?.tokens ?? [])].sort((a, b) => b.createdAt - a.createdAt);

  return (
    <Panel
      title={t('tokens.title')}
      description={t('tokens.intro')}
      data-testid="join-tokens"
      actions={
        <Button variant="primary" onClick={() => setCreating(true)}>
          <PlusIcon /> {t('tokens.create')}
        </Button>
      }
    >
      {tokens.isPending && (
        <div className="flex justify-center py-8 text-slate-400">
          <Spinner />
        </div>
      )}
      {tokens.error && <ErrorNote onRetry={() => void tokens.refetch()} retryLabel={t('common.retry')}>{t('tokens.loadError', { detail: describeError(tokens.error) })}</ErrorNote>}
      {tokens.data && list.length === 0 && <p className="py-6 text-center text-sm text-slate-500 dark:text-slate-400">{t('tokens.empty')}</p>}
      {list.length > 0 && (
        <PanelTable
          head={
            <>
              <HeadCell>{t('tokens.id')}</HeadCell>
              <HeadCell>{t('tokens.state')}</HeadCell>
              <HeadCell>{t('tokens.uses')}</HeadCell>
              <HeadCell className="hidden md:table-cell">{t('tokens.expires')}</HeadCell>
              <HeadCell className="hidden lg:table-cell">{t('tokens.labels')}</HeadCell>
              <HeadCell className="hidden sm:table-cell">{t('tokens.note')}</HeadCell>
              <HeadCell>
                <span className="sr-only">{t('tokens.revoke')}</span>
              </HeadCell>
            </>
          }
        >
          {list.map((token) => (
            <tr key={token.id} data-testid="join-token-row">
              <Cell className="font-mono text-xs text-slate-900 dark:text-slate-100">
                {token.id}
                <div className="mt-0.5 font-sans text-[11px] text-slate-400">
                  <RelativeTime at={token.createdAt} />
                </div>
              </Cell>
              <Cell>
                <span className={cn('inline-flex rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset', STATE_STYLE[token.state])}>{t(`tokens.state.${token.state}`)}</span>
              </Cell>
              <Cell className="text-xs whitespace-nowrap tabular-nums">{t('tokens.usesValue', { uses: token.uses, max: token.maxUses })}</Cell>
              <Cell className="hidden text-xs whitespace-nowrap text-slate-600 md:table-cell dark:text-slate-300">{formatDateTime(token.expiresAt, locale)}</Cell>
              <Cell className="hidden lg:table-cell">
                <div className="flex flex-wrap gap-1">
                  {Object.entries(token.labels).map(([key, value]) => (
                    <LabelChip key={key} labelKey={key} value={value} />
                  ))}
                </div>
              </Cell>
              <Cell className="hidden max-w-56 truncate text-xs text-slate-600 sm:table-cell dark:text-slate-300" title={token.note ?? undefined}>
                {token.note ?? '—'}
              </Cell>
              <Cell className="text-right">
                {token.state === 'active' && (
                  <Button size="sm" variant="dangerGhost" onClick={() => setRevoking(token)}>
                    {t('tokens.revoke')}
                  </Button>
                )}
              </Cell>
            </tr>
          ))}
        </PanelTable>
      )}
      {creating && <CreateTokenDialog open={creating} onOpenChange={setCreating} />}
      {revoking && (
        <ConfirmMutationDialog
          mutation={revoke}
          variables={revoking.id}
          onClose={() => setRevoking(null)}
          title={t('tokens.revokeTitle', { id: revoking.id })}
          description={t('tokens.revokeBody')}
          confirmLabel={t('tokens.revoke')}
          doneNotice={t('tokens.revoked', { id: revoking.id })}
        />
      )}
    </Panel>
  );
}
