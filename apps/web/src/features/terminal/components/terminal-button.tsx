import * as Dialog from '@radix-ui/react-dialog';
import type { Agent } from '@farol/protocol';
import { lazy, Suspense, useState } from 'react';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { Spinner } from '../../../ui/card.js';
import { TerminalIcon, XIcon } from '../../../ui/icons.js';

// xterm.js is large and only needed once someone opens a terminal.
const TerminalPanel = lazy(() => import('./terminal-panel.js').then((module) => ({ default: module.TerminalPanel })));

/** The "Terminal" button of a machine page: a near-full-screen shell on the machine. */
export function TerminalButton({ agent }: { agent: Pick<Agent, 'id' | 'name' | 'status'> }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [attempt, setAttempt] = useState(0);
  return (
    <Dialog.Root open={open} onOpenChange={setOpen}>
      <Dialog.Trigger asChild>
        <Button size="sm" disabled={agent.status !== 'online'} title={agent.status !== 'online' ? t('terminal.needsOnline') : undefined} data-testid="terminal-button">
          <TerminalIcon className="size-3.5" /> {t('terminal.button')}
        </Button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-slate-950/60" />
        <Dialog.Content
          className="fixed inset-0 z-50 flex flex-col gap-3 bg-white p-3 outline-none sm:inset-6 sm:rounded-2xl sm:p-5 sm:shadow-2xl dark:bg-slate-900 dark:ring-1 dark:ring-slate-800"
          data-testid="terminal-dialog"
          // The terminal takes the keyboard; Escape belongs to programs such as vim.
          onEscapeKeyDown={(event) => event.preventDefault()}
        >
          <div className="flex items-start justify-between gap-4">
            <div className="min-w-0">
              <Dialog.Title className="text-lg font-semibold text-slate-900 dark:text-white">{t('terminal.title', { name: agent.name })}</Dialog.Title>
              <Dialog.Description className="text-sm text-slate-500 dark:text-slate-400">{t('terminal.description')}</Dialog.Description>
            </div>
            <Dialog.Close asChild>
              <Button variant="ghost" size="icon" aria-label={t('common.close')} className="-mt-1 -mr-2" data-testid="terminal-close">
                <XIcon className="size-5" />
              </Button>
            </Dialog.Close>
          </div>
          {open && (
            <Suspense
              fallback={
                <div className="flex flex-1 items-center justify-center text-slate-400">
                  <Spinner className="size-6" />
                </div>
              }
            >
              <TerminalPanel key={attempt} agentId={agent.id} agentName={agent.name} attempt={attempt} onAgain={() => setAttempt((n) => n + 1)} />
            </Suspense>
          )}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
