import { useI18n } from '../../../i18n/i18n.js';
import { cn } from '../../../ui/cn.js';
import { Segmented, Select, TextInput } from '../../../ui/field.js';
import { GridIcon, ListIcon, SearchIcon } from '../../../ui/icons.js';
import { HEALTH_DOT } from '../../../ui/status.js';
import { HEALTHS, SORT_KEYS, type FleetFilter, type Health, type SortKey } from '../fleet-view.js';

export type FleetLayout = 'cards' | 'table';

/** Search, status (with counts), label, sort and layout of the fleet page. */
export function FleetToolbar({
  filter,
  onFilterChange,
  counts,
  total,
  labels,
  layout,
  onLayoutChange,
}: {
  filter: FleetFilter;
  onFilterChange(filter: FleetFilter): void;
  counts: Record<Health, number>;
  total: number;
  labels: readonly string[];
  layout: FleetLayout;
  onLayoutChange(layout: FleetLayout): void;
}) {
  const { t, locale } = useI18n();
  const number = new Intl.NumberFormat(locale);
  const set = (patch: Partial<FleetFilter>) => onFilterChange({ ...filter, ...patch });
  // Statuses nobody is in are hidden, except online, so the row does not jump.
  const shown = HEALTHS.filter((health) => health === 'online' || counts[health] > 0 || filter.health === health);

  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-col gap-3 lg:flex-row lg:items-center">
        <div className="relative flex-1 lg:max-w-sm">
          <SearchIcon className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-slate-400" />
          <TextInput
            type="search"
            value={filter.query}
            onChange={(event) => set({ query: event.target.value })}
            placeholder={t('fleet.searchPlaceholder')}
            aria-label={t('fleet.searchLabel')}
            className="pl-9"
          />
        </div>
        <div className="-mx-4 overflow-x-auto px-4 pb-1 sm:mx-0 sm:px-0 sm:pb-0">
          <Segmented<Health | 'all'>
            label={t('fleet.statusFilter')}
            value={filter.health}
            onChange={(health) => set({ health })}
            options={[
              {
                value: 'all',
                label: (
                  <>
                    {t('status.all')} <span className="text-slate-400 tabular-nums dark:text-slate-500">{number.format(total)}</span>
                  </>
                ),
              },
              ...shown.map((health) => ({
                value: health,
                label: (
                  <>
                    <span className={cn('size-2 rounded-full', HEALTH_DOT[health])} aria-hidden="true" />
                    {t(`status.${health}`)}
                    <span data-testid={`count-${health}`} className="text-slate-400 tabular-nums dark:text-slate-500">
                      {number.format(counts[health])}
                    </span>
                  </>
                ),
              })),
            ]}
          />
        </div>
        <div className="flex flex-1 items-center gap-2 lg:justify-end">
          <Select value={filter.label} onChange={(event) => set({ label: event.target.value })} aria-label={t('fleet.labelFilter')} className="min-w-0 flex-1 lg:max-w-48">
            <option value="">{t('fleet.anyLabel')}</option>
            {labels.map((term) => (
              <option key={term} value={term}>
                {term}
              </option>
            ))}
          </Select>
          <label className="flex min-w-0 flex-1 items-center gap-2 lg:max-w-52 lg:flex-none">
            <span className="hidden text-sm whitespace-nowrap text-slate-500 sm:inline dark:text-slate-400">{t('fleet.sortLabel')}</span>
            <Select value={filter.sort} onChange={(event) => set({ sort: event.target.value as SortKey })} className="min-w-0 flex-1">
              {SORT_KEYS.map((key) => (
                <option key={key} value={key}>
                  {t(`fleet.sort.${key}`)}
                </option>
              ))}
            </Select>
          </label>
          {/* The table needs a wide screen; phones and tablets always get cards. */}
          <div className="hidden lg:block">
            <Segmented<FleetLayout>
              label={t('fleet.viewLabel')}
              value={layout}
              onChange={onLayoutChange}
              options={[
                { value: 'cards', label: <GridIcon />, ariaLabel: t('fleet.viewCards') },
                { value: 'table', label: <ListIcon />, ariaLabel: t('fleet.viewTable') },
              ]}
            />
          </div>
        </div>
      </div>
    </div>
  );
}
