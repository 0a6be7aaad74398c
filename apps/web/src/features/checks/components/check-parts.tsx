import type { CheckStatus, Uptime as UptimeValue } from '@farol/protocol';
import { useI18n } from '../../../i18n/i18n.js';
import { Pill } from '../../jobs/components/job-parts.js';
import { STATUS_TONE } from '../check-form.js';

/** The path of a check's page. */
export const checkPath = (name: string): string => `/checks/${encodeURIComponent(name)}`;

/** OK / Warning / Critical / Unknown; null before the first result. */
export function StatusPill({ status, compact = false }: { status: CheckStatus | null; compact?: boolean }) {
  const { t } = useI18n();
  return (
    <Pill tone={status === null ? 'neutral' : STATUS_TONE[status]} className={compact ? 'px-1.5 text-[11px]' : undefined}>
      {t(status === null ? 'checks.status.none' : `checks.status.${status}`)}
    </Pill>
  );
}

const percent = (value: number | null, locale: string): string => (value === null ? '—' : `${value.toLocaleString(locale, { maximumFractionDigits: value >= 99.995 ? 0 : 2 })}%`);

/** 24 h · 7 d · 30 d uptime. */
export function Uptime({ uptime }: { uptime: UptimeValue }) {
  const { t, locale } = useI18n();
  return (
    <dl className="inline-grid grid-cols-[auto_auto] gap-x-2 text-xs tabular-nums" data-testid="uptime">
      {(['h24', 'd7', 'd30'] as const).map((window) => (
        <div key={window} className="contents">
          <dt className="text-slate-500 dark:text-slate-400">{t(`checks.window.${window}`)}</dt>
          <dd className="font-mono" data-window={window}>
            {percent(uptime[window], locale)}
          </dd>
        </div>
      ))}
    </dl>
  );
}
