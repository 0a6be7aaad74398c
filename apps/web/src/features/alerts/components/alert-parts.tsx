import type { AlertState, Severity } from '@farol/protocol';
import { useI18n } from '../../../i18n/i18n.js';
import { Pill } from '../../jobs/components/job-parts.js';
import type { ConditionWords } from '../alert-format.js';

const SEVERITY_TONE = { info: 'neutral', warning: 'warn', critical: 'bad' } as const;
const STATE_TONE = { pending: 'warn', firing: 'bad', resolved: 'good' } as const;

export function SeverityPill({ severity }: { severity: Severity }) {
  const { t } = useI18n();
  return <Pill tone={SEVERITY_TONE[severity]}>{t(`alerts.severity.${severity}`)}</Pill>;
}

export function AlertStatePill({ state }: { state: AlertState }) {
  const { t } = useI18n();
  return (
    <Pill tone={STATE_TONE[state]}>
      {state === 'firing' && <span aria-hidden="true" className="size-1.5 animate-pulse rounded-full bg-current motion-reduce:animate-none" />}
      {t(`alerts.state.${state}`)}
    </Pill>
  );
}

/** The dictionary's words for rule conditions. */
export function useConditionWords(): ConditionWords {
  const { t } = useI18n();
  return {
    offline: (forText) => t('alerts.cond.offline', { for: forText }),
    online: () => t('alerts.cond.online'),
    container: (condition, containers, forText) => t('alerts.cond.container', { condition, containers, for: forText }),
    jobFailed: (states) => t('alerts.cond.jobFailed', { states }),
    forSuffix: (duration) => t('alerts.cond.for', { duration }),
    everyContainer: () => t('alerts.cond.everyContainer'),
    watchedContainers: () => t('alerts.cond.watchedContainers'),
  };
}
