import { createContext, useContext, useEffect, useMemo, useRef, useSyncExternalStore, type ReactNode } from 'react';
import { useI18n } from '../i18n/i18n.js';
import { formatAgo, formatDateTime } from './format.js';

/** One timer for every ticking text on the page, however many there are. */
export interface Ticker {
  now(): number;
  /**
   * Runs `task` every tick until the returned function is called. With an `element`, only
   * while that element is on screen (and once more when it comes back), so a thousand cards
   * below the fold cost nothing.
   */
  register(task: () => void, element?: Element): () => void;
}

export function createTicker(intervalMs = 1_000, clock: () => number = Date.now): Ticker {
  // A task maps to whether it is on screen; tasks without an element always are.
  const tasks = new Map<() => void, boolean>();
  const byElement = new Map<Element, () => void>();
  let observer: IntersectionObserver | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;
  let current = clock();
  const tick = () => {
    current = clock();
    tasks.forEach((visible, task) => visible && task());
  };
  const observe = (element: Element, task: () => void) => {
    observer ??= new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const owner = byElement.get(entry.target);
        if (!owner || !tasks.has(owner)) continue;
        tasks.set(owner, entry.isIntersecting);
        if (entry.isIntersecting) owner();
      }
    });
    byElement.set(element, task);
    observer.observe(element);
  };
  return {
    now: () => current,
    register(task, element) {
      const canObserve = element !== undefined && typeof IntersectionObserver !== 'undefined';
      tasks.set(task, !canObserve);
      if (canObserve) observe(element, task);
      if (timer === undefined) {
        current = clock();
        timer = setInterval(tick, intervalMs);
      }
      return () => {
        tasks.delete(task);
        if (element && byElement.get(element) === task) {
          byElement.delete(element);
          observer?.unobserve(element);
        }
        if (tasks.size === 0 && timer !== undefined) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
  };
}

const TickerContext = createContext<Ticker | null>(null);

export function TickerProvider({ children }: { children: ReactNode }) {
  const ticker = useMemo(() => createTicker(1_000), []);
  return <TickerContext.Provider value={ticker}>{children}</TickerContext.Provider>;
}

function useTicker(): Ticker {
  const ticker = useContext(TickerContext);
  if (!ticker) throw new Error('useTicker outside TickerProvider');
  return ticker;
}

/**
 * The current time, rounded down to `stepMs`; re-renders the caller once per step. For views
 * that derive state from the clock (a machine turning "late").
 */
export function useNow(stepMs: number): number {
  const ticker = useTicker();
  return useSyncExternalStore(
    (onChange) => ticker.register(onChange),
    () => Math.floor(Date.now() / stepMs) * stepMs,
  );
}

/**
 * "12 s ago", ticking. Many of these (one per machine card) share one timer, and each tick
 * rewrites only the text node whose words changed, without re-rendering React components.
 */
export function RelativeTime({ at, className }: { at: number | null; className?: string }) {
  const ticker = useTicker();
  const { messages, locale } = useI18n();
  const ref = useRef<HTMLTimeElement>(null);

  useEffect(() => {
    const update = () => {
      const node = ref.current?.firstChild;
      if (!node) return;
      const text = formatAgo(at, Date.now(), messages);
      if (node.nodeValue !== text) node.nodeValue = text;
    };
    update();
    return ticker.register(update, ref.current ?? undefined);
  }, [at, messages, ticker]);

  return (
    <time ref={ref} className={className} dateTime={at === null ? undefined : new Date(at).toISOString()} title={at === null ? undefined : formatDateTime(at, locale)}>
      {formatAgo(at, ticker.now(), messages)}
    </time>
  );
}
