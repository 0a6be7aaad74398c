import * as RadixToast from '@radix-ui/react-toast';
import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from 'react';
import { useI18n } from '../i18n/i18n.js';
import { cn } from './cn.js';
import { AlertIcon, CheckIcon, XIcon } from './icons.js';

export type ToastTone = 'success' | 'error' | 'info';
interface ToastItem {
  id: number;
  title: string;
  description?: string | undefined;
  tone: ToastTone;
}

type Notify = (title: string, options?: { description?: string; tone?: ToastTone }) => void;
const ToastContext = createContext<Notify | null>(null);

/** Short confirmations and failures, announced politely to screen readers. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const [toasts, setToasts] = useState<ToastItem[]>([]);
  const lastId = useRef(0);

  const notify = useCallback<Notify>((title, options = {}) => {
    lastId.current += 1;
    const id = lastId.current;
    setToasts((current) => [...current.slice(-3), { id, title, description: options.description, tone: options.tone ?? 'success' }]);
  }, []);
  const dismiss = (id: number) => setToasts((current) => current.filter((toast) => toast.id !== id));

  return (
    <ToastContext.Provider value={notify}>
      <RadixToast.Provider swipeDirection="right" duration={4_000}>
        {children}
        {toasts.map((toast) => (
          <RadixToast.Root
            key={toast.id}
            type={toast.tone === 'error' ? 'foreground' : 'background'}
            onOpenChange={(open) => !open && dismiss(toast.id)}
            className={cn(
              'flex items-start gap-3 rounded-xl border bg-white p-3.5 pr-2 shadow-lg dark:bg-slate-900',
              'data-[state=open]:animate-[toast-in_180ms_ease-out] data-[swipe=move]:translate-x-[var(--radix-toast-swipe-move-x)]',
              toast.tone === 'error' ? 'border-red-200 dark:border-red-900' : 'border-slate-200 dark:border-slate-700',
            )}
          >
            <span
              className={cn(
                'mt-0.5 rounded-full p-1',
                toast.tone === 'error' ? 'bg-red-100 text-red-700 dark:bg-red-500/15 dark:text-red-300' : 'bg-emerald-100 text-emerald-700 dark:bg-emerald-500/15 dark:text-emerald-300',
              )}
            >
              {toast.tone === 'error' ? <AlertIcon className="size-3.5" /> : <CheckIcon className="size-3.5" />}
            </span>
            <div className="min-w-0 flex-1">
              <RadixToast.Title className="text-sm font-medium text-slate-900 dark:text-slate-100">{toast.title}</RadixToast.Title>
              {toast.description && <RadixToast.Description className="mt-0.5 text-sm text-slate-500 dark:text-slate-400">{toast.description}</RadixToast.Description>}
            </div>
            <RadixToast.Close aria-label={t('common.close')} className="rounded-md p-1.5 text-slate-400 hover:bg-slate-100 hover:text-slate-700 dark:hover:bg-slate-800 dark:hover:text-slate-200">
              <XIcon className="size-4" />
            </RadixToast.Close>
          </RadixToast.Root>
        ))}
        <RadixToast.Viewport className="fixed right-0 bottom-0 z-[60] flex w-full max-w-sm flex-col gap-2 p-4 outline-none sm:right-2 sm:bottom-2" />
      </RadixToast.Provider>
    </ToastContext.Provider>
  );
}

export function useToast(): Notify {
  const notify = useContext(ToastContext);
  if (!notify) throw new Error('useToast outside ToastProvider');
  return notify;
}
