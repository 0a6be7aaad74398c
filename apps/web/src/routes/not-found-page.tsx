import { usePageTitle } from '../app/page-title.js';
import { Link } from '../app/router.js';
import { useI18n } from '../i18n/i18n.js';
import { buttonClasses } from '../ui/button.js';
import { EmptyState } from '../ui/card.js';
import { AlertIcon } from '../ui/icons.js';

export function NotFoundPage() {
  const { t } = useI18n();
  usePageTitle(t('notFound.title'));
  return (
    <EmptyState
      icon={<AlertIcon className="size-6" />}
      title={<span role="heading" aria-level={1}>{t('notFound.title')}</span>}
      action={
        <Link to="/" className={buttonClasses('primary')}>
          {t('notFound.back')}
        </Link>
      }
    >
      {t('notFound.body')}
    </EmptyState>
  );
}
