import { useEffect, useState } from 'react';
import { useI18n } from '../i18n/i18n.js';
import { Button } from './button.js';
import { cn } from './cn.js';
import { CheckIcon, CopyIcon } from './icons.js';
import { useToast } from './toast.js';

/**
 * Copies text. The Clipboard API needs a secure context (https or localhost); a hub opened over
 * plain http on a LAN address has none, so the old execCommand route is the fallback.
 */
export async function copyText(text: string): Promise<boolean> {
  if (window.isSecureContext && navigator.clipboard) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (error) {
      console.warn('farol: clipboard write refused, trying the fallback', error);
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'fixed -left-[9999px] top-0';
  document.body.append(area);
  area.select();
  try {
    return document.execCommand('copy');
  } finally {
    area.remove();
  }
}

export function CopyButton({ text, label, className }: { text: string; label?: string; className?: string }) {
  const { t } = useI18n();
  const notify = useToast();
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2_000);
    return () => clearTimeout(timer);
  }, [copied]);

  const copy = async () => {
    if (await copyText(text)) setCopied(true);
    else notify(t('common.copyFailed'), { tone: 'error' });
  };

  return (
    <Button size="sm" variant="secondary" onClick={() => void copy()} className={cn('min-w-20', className)} aria-label={label ? `${t('common.copy')}: ${label}` : t('common.copy')}>
      {copied ? <CheckIcon className="size-3.5 text-emerald-600 dark:text-emerald-400" /> : <CopyIcon className="size-3.5" />}
      <span aria-live="polite">{copied ? t('common.copiedShort') : t('common.copy')}</span>
    </Button>
  );
}

/** A command or secret, wrapped so all of it can be checked before copying, with its copy button. */
export function CopyLine({ text, label, testId }: { text: string; label: string; testId?: string }) {
  return (
    <div className="flex items-stretch gap-2">
      <code
        data-testid={testId}
        tabIndex={0}
        className="min-w-0 flex-1 rounded-lg bg-slate-950 px-3 py-2 font-mono text-xs leading-5 break-all whitespace-pre-wrap text-slate-100 ring-1 ring-slate-800 select-all dark:bg-black/40"
      >
        {text}
      </code>
      <CopyButton text={text} label={label} className="self-start" />
    </div>
  );
}
