import { useEffect, useMemo, useRef, useState } from 'react';
import { usePageTitle } from '../app/page-title.js';
import { usePersistentState } from '../app/persistent-state.js';
import { describeError } from '../app/query-client.js';
import { ContainerUpdatesPanel } from '../features/containers/components/container-updates-panel.js';
import { FleetTable } from '../features/fleet/components/fleet-table.js';
import { AgentUpdatesBar } from '../features/updates/components/agent-updates-bar.js';
import { CreateTokenDialog } from '../features/settings/components/create-token-dialog.js';
import { FleetToolbar, type FleetLayout } from '../features/fleet/components/fleet-toolbar.js';
import { MachineCard } from '../features/fleet/components/machine-card.js';
import { countByHealth, DEFAULT_FILTER, HEALTHS, labelOptions, selectRows, SORT_KEYS, type FleetFilter } from '../features/fleet/fleet-view.js';
import { useFleet, useFleetSnapshot } from '../features/fleet/hooks/use-fleet.js';
import { useI18n } from '../i18n/i18n.js';
import { Button } from '../ui/button.js';
import { EmptyState, ErrorNote, Spinner } from '../ui/card.js';
import { useNow } from '../ui/clock.js';
import { PlusIcon, ServerIcon } from '../ui/icons.js';
import { useMediaQuery } from '../ui/media-query.js';
import { useWindowRows } from '../ui/window-rows.js';

/** Marks when the first cards are on screen, for bench/dashboard.mjs (navigation start → cards). */
export const CARDS_VISIBLE_MARK = 'farol:fleet-cards-visible';

function parseFilter(stored: unknown): FleetFilter | undefined {
  if (typeof stored !== 'object' || stored === null) return undefined;
  const value = stored as Partial<FleetFilter>;
  if (typeof value.query !== 'string' || typeof value.label !== 'string') return undefined;
  if (value.health !== 'all' && !HEALTHS.includes(value.health as never)) return undefined;
  if (!SORT_KEYS.includes(value.sort as never)) return undefined;
  return value as FleetFilter;
}

const parseLayout = (stored: unknown): FleetLayout | undefined => (stored === 'cards' || stored === 'table' ? stored : undefined);

export function FleetPage() {
  const { t, plural } = useI18n();
  const { list } = useFleet();
  const snapshot = useFleetSnapshot();
  const [filter, setFilter] = usePersistentState<FleetFilter>('session', 'farol.fleet.filter', DEFAULT_FILTER, parseFilter);
  const [layout, setLayout] = usePersistentState<FleetLayout>('local', 'farol.fleet.layout', 'cards', parseLayout);
  // Health depends on the clock (a machine turns "late"); re-evaluated every 5 s.
  const now = useNow(5_000);
  // The table needs room; phones and tablets always get cards.
  const isWide = useMediaQuery('(min-width: 1024px)');
  const [addingMachine, setAddingMachine] = useState(false);
  usePageTitle(t('fleet.title'));

  const rows = useMemo(() => selectRows(snapshot.machines.values(), filter, now), [snapshot, filter, now]);
  const shownMachines = useMemo(() => rows.map((row) => row.machine), [rows]);
  const counts = useMemo(() => countByHealth(snapshot.machines.values(), now), [snapshot, now]);
  const labels = useMemo(() => labelOptions(snapshot.machines.values()), [snapshot]);
  const total = snapshot.machines.size;

  useEffect(() => {
    if (rows.length > 0 && performance.getEntriesByName(CARDS_VISIBLE_MARK).length === 0) {
      requestAnimationFrame(() => performance.mark(CARDS_VISIBLE_MARK));
    }
  }, [rows.length]);

  let body;
  if (!snapshot.loaded && list.error) {
    body = <ErrorNote onRetry={() => void list.refetch()} retryLabel={t('common.retry')}>{t('fleet.loadError', { detail: describeError(list.error) })}</ErrorNote>;
  } else if (!snapshot.loaded) {
    body = (
      <div className="flex items-center justify-center gap-3 py-24 text-sm text-slate-500 dark:text-slate-400">
        <Spinner /> {t('fleet.loading')}
      </div>
    );
  } else if (total === 0) {
    body = (
      <div className="rounded-xl border border-dashed border-slate-300 dark:border-slate-700">
        <EmptyState
          icon={<ServerIcon className="size-6" />}
          title={t('fleet.emptyTitle')}
          action={
            <Button variant="primary" onClick={() => setAddingMachine(true)}>
              <PlusIcon /> {t('fleet.emptyAction')}
            </Button>
          }
        >
          {t('fleet.emptyBody')}
        </EmptyState>
      </div>
    );
  } else if (rows.length === 0) {
    body = (
      <EmptyState
        title={t('fleet.noMatch')}
        action={
          <Button onClick={() => setFilter({ ...DEFAULT_FILTER, sort: filter.sort })}>{t('fleet.clearFilters')}</Button>
        }
      />
    );
  } else if (layout === 'table' && isWide) {
    body = <FleetTable rows={rows} />;
  } else {
    body = <CardGrid rows={rows} />;
  }

  return (
    <div className="flex flex-col gap-5">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{t('fleet.title')}</h1>
          <p className="mt-1 text-sm text-slate-500 dark:text-slate-400" aria-live="polite">
            {snapshot.loaded ? (rows.length === total ? plural('fleet.machines', total) : t('fleet.showing', { shown: rows.length, total })) : '\u00a0'}
          </p>
        </div>
        <Button onClick={() => setAddingMachine(true)}>
          <PlusIcon /> {t('fleet.emptyAction')}
        </Button>
      </div>
      {/* A join token and the install lines that use it, without leaving the fleet (#21). */}
      {addingMachine && <CreateTokenDialog open onOpenChange={setAddingMachine} />}
      {total > 0 && <FleetToolbar filter={filter} onFilterChange={setFilter} counts={counts} total={total} labels={labels} layout={layout} onLayoutChange={setLayout} />}
      {snapshot.loaded && <AgentUpdatesBar machines={shownMachines} />}
      {body}
      <ContainerUpdatesPanel />
    </div>
  );
}

/** Cards per row at each Tailwind breakpoint, matching the grid's classes below. */
function useGridColumns(): number {
  const sm = useMediaQuery('(min-width: 640px)');
  const xl = useMediaQuery('(min-width: 1280px)');
  const xxl = useMediaQuery('(min-width: 1536px)');
  return xxl ? 4 : xl ? 3 : sm ? 2 : 1;
}

const GRID_GAP = 16;
const CARD_HEIGHT_ESTIMATE = 220;

/**
 * The cards, windowed: only the rows near the viewport are in the DOM, so a fleet of thousands
 * renders and updates like a fleet of thirty. Cards have one height (labels stay on one line),
 * measured from the first one rendered.
 */
function CardGrid({ rows }: { rows: ReturnType<typeof selectRows> }) {
  const columns = useGridColumns();
  const listRef = useRef<HTMLDivElement>(null);
  const gridRef = useRef<HTMLDivElement>(null);
  const [cardHeight, setCardHeight] = useState(CARD_HEIGHT_ESTIMATE);
  const rowCount = Math.ceil(rows.length / columns);
  const rowHeight = cardHeight + GRID_GAP;
  const { start, end } = useWindowRows(listRef, rowCount, rowHeight);

  useEffect(() => {
    const grid = gridRef.current;
    if (!grid) return;
    const observer = new ResizeObserver(() => {
      const first = grid.firstElementChild as HTMLElement | null;
      if (first && first.offsetHeight > 0) setCardHeight(first.offsetHeight);
    });
    observer.observe(grid);
    return () => observer.disconnect();
  }, []);

  return (
    <div ref={listRef} style={{ paddingTop: start * rowHeight, paddingBottom: Math.max(0, rowCount - end) * rowHeight }}>
      <div ref={gridRef} data-testid="fleet-grid" className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3 2xl:grid-cols-4">
        {rows.slice(start * columns, end * columns).map((row) => (
          <MachineCard key={row.machine.id} machine={row.machine} health={row.health} />
        ))}
      </div>
    </div>
  );
}
