import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Spinner } from '../../../ui/card.js';
import { cn } from '../../../ui/cn.js';
import { AlertIcon, CheckIcon, ShieldIcon } from '../../../ui/icons.js';
import { useVerifyAudit } from '../hooks/use-audit.js';

/** "Verify chain": the hub re-hashes every entry; the answer says intact, or where it breaks. */
export function AuditVerify() {
  const { t, locale } = useI18n();
  const verify = useVerifyAudit();
  const result = verify.data;
  return (
    <div className="flex flex-col items-start gap-3 sm:items-end">
      <Button onClick={() => verify.mutate()} disabled={verify.isPending}>
        {verify.isPending ? <Spinner className="size-3.5" /> : <ShieldIcon />} {t('audit.verify')}
      </Button>
      {verify.error && <ErrorNote>{t('audit.verifyFailed', { detail: describeError(verify.error) })}</ErrorNote>}
      {result && !verify.isPending && (
        <p
          role="status"
          data-testid="audit-verify-result"
          data-ok={String(result.ok)}
          className={cn(
            'flex items-center gap-2 rounded-lg px-3 py-2 text-sm font-medium ring-1 ring-inset',
            result.ok
              ? 'bg-emerald-50 text-emerald-800 ring-emerald-600/20 dark:bg-emerald-500/10 dark:text-emerald-300 dark:ring-emerald-400/20'
              : 'bg-red-50 text-red-800 ring-red-600/20 dark:bg-red-500/10 dark:text-red-300 dark:ring-red-400/20',
          )}
        >
          {result.ok ? <CheckIcon className="size-4" /> : <AlertIcon className="size-4" />}
          {result.ok
            ? t('audit.intact', { n: new Intl.NumberFormat(locale).format(result.entries) })
            : t('audit.broken', { seq: result.firstBad?.seq ?? '?', reason: result.firstBad?.reason ?? '' })}
        </p>
      )}
    </div>
  );
}
