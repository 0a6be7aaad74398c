import * as AlertDialog from '@radix-ui/react-alert-dialog';
import * as Dialog from '@radix-ui/react-dialog';
import type { ReactNode } from 'react';
import { describeError } from '../app/query-client.js';
import { useI18n } from '../i18n/i18n.js';
import { Button } from './button.js';
import { ErrorNote } from './card.js';
import { cn } from './cn.js';
import { XIcon } from './icons.js';
import { useToast } from './toast.js';

const overlay = 'fixed inset-0 z-40 bg-slate-950/50 backdrop-blur-[2px] data-[state=open]:animate-[fade-in_150ms_ease-out]';
// A sheet from the bottom on phones, a centred card from sm up.
const content = cn(
  'fixed z-50 w-full overflow-y-auto bg-white shadow-2xl outline-none dark:bg-slate-900 dark:ring-1 dark:ring-slate-800',
  'inset-x-0 bottom-0 max-h-[92dvh] rounded-t-2xl p-5 pb-[max(1.25rem,env(safe-area-inset-bottom))]',
  'sm:inset-x-auto sm:bottom-auto sm:top-1/2 sm:left-1/2 sm:max-h-[85dvh] sm:-translate-x-1/2 sm:-translate-y-1/2 sm:rounded-2xl sm:p-6',
  'data-[state=open]:animate-[dialog-in_180ms_ease-out]',
);

/** A modal dialog with a title, an optional description and a close button. */
export function Modal({
  open,
  onOpenChange,
  title,
  description,
  children,
  wide = false,
}: {
  open: boolean;
  onOpenChange(open: boolean): void;
  title: ReactNode;
  description?: ReactNode;
  children: ReactNode;
  wide?: boolean;
}) {
  const { t } = useI18n();
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className={overlay} />
        <Dialog.Content className={cn(content, wide ? 'sm:max-w-2xl' : 'sm:max-w-lg')}>
          <div className="mb-4 flex items-start justify-between gap-4">
            <div className="min-w-0">
              <Dialog.Title className="text-lg font-semibold text-slate-900 dark:text-white">{title}</Dialog.Title>
              {description ? (
                <Dialog.Description className="mt-1 text-sm text-slate-500 dark:text-slate-400">{description}</Dialog.Description>
              ) : (
                <Dialog.Description className="sr-only">{title}</Dialog.Description>
              )}
            </div>
            <Dialog.Close asChild>
              <Button variant="ghost" size="icon" aria-label={t('common.close')} className="-mt-1 -mr-2">
                <XIcon className="size-5" />
              </Button>
            </Dialog.Close>
          </div>
          {children}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** "Are you sure?" for destructive actions; the confirm button is red. */
export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel,
  onConfirm,
  busy = false,
  error,
}: {
  open: boolean;
  onOpenChange(open: boolean): void;
  title: ReactNode;
  description: ReactNode;
  confirmLabel: string;
  onConfirm(): void;
  busy?: boolean;
  error?: ReactNode;
}) {
  const { t } = useI18n();
  return (
    <AlertDialog.Root open={open} onOpenChange={onOpenChange}>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className={overlay} />
        <AlertDialog.Content className={cn(content, 'sm:max-w-lg')}>
          <AlertDialog.Title className="text-lg font-semibold text-slate-900 dark:text-white">{title}</AlertDialog.Title>
          <AlertDialog.Description className="mt-2 text-sm text-slate-600 dark:text-slate-300">{description}</AlertDialog.Description>
          {error && <div className="mt-4">{error}</div>}
          <div className="mt-6 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            <AlertDialog.Cancel asChild>
              <Button variant="secondary">{t('common.cancel')}</Button>
            </AlertDialog.Cancel>
            <Button
              variant="danger"
              disabled={busy}
              onClick={(event) => {
                // Stay open until the hub answered, so a failure can be shown here.
                event.preventDefault();
                onConfirm();
              }}
            >
              {confirmLabel}
            </Button>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}

/** The buttons that end a dialog's form: Cancel, then submit (disabled while `busy`); on phones they stack, submit on top. */
export function DialogFormActions({ onCancel, submitLabel, busy }: { onCancel(): void; submitLabel: ReactNode; busy: boolean }) {
  const { t } = useI18n();
  return (
    <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
      <Button onClick={onCancel}>{t('common.cancel')}</Button>
      <Button type="submit" variant="primary" disabled={busy}>
        {submitLabel}
      </Button>
    </div>
  );
}

/** The slice of a TanStack Query mutation that a {@link ConfirmMutationDialog} drives. */
export interface ConfirmedMutation<V> {
  mutate(variables: V, options: { onSuccess(): void }): void;
  isPending: boolean;
  error: unknown;
}

/**
 * A {@link ConfirmDialog} that runs one mutation with `variables`: busy while it is pending, its
 * error shown inside, and on success the `doneNotice` toast (if any) and `onClose`.
 */
export function ConfirmMutationDialog<V>({
  mutation,
  variables,
  onClose,
  doneNotice,
  title,
  description,
  confirmLabel,
}: {
  mutation: ConfirmedMutation<V>;
  variables: V;
  onClose(): void;
  doneNotice?: string;
  title: ReactNode;
  description: ReactNode;
  confirmLabel: string;
}) {
  const notify = useToast();
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={title}
      description={description}
      confirmLabel={confirmLabel}
      busy={mutation.isPending}
      error={mutation.error ? <ErrorNote>{describeError(mutation.error)}</ErrorNote> : undefined}
      onConfirm={() =>
        mutation.mutate(variables, {
          onSuccess: () => {
            if (doneNotice !== undefined) notify(doneNotice);
            onClose();
          },
        })
      }
    />
  );
}
