import { useCallback, useSyncExternalStore, type RefObject } from 'react';

export interface RowWindow {
  /** First row to render. */
  start: number;
  /** One past the last row to render. */
  end: number;
}

/**
 * Which rows of a list that scrolls with the page are on screen, plus `overscan` rows on each
 * side. `listTop` is the list's distance from the top of the document.
 */
export function visibleRows({
  scrollY,
  viewportHeight,
  listTop,
  rowHeight,
  rowCount,
  overscan,
}: {
  scrollY: number;
  viewportHeight: number;
  listTop: number;
  rowHeight: number;
  rowCount: number;
  overscan: number;
}): RowWindow {
  if (rowCount === 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor((scrollY - listTop) / rowHeight);
  const last = Math.ceil((scrollY + viewportHeight - listTop) / rowHeight);
  const start = Math.min(rowCount, Math.max(0, first - overscan));
  const end = Math.min(rowCount, Math.max(start, last + overscan));
  return { start, end };
}

function subscribeToViewport(onChange: () => void): () => void {
  window.addEventListener('scroll', onChange, { passive: true });
  window.addEventListener('resize', onChange);
  return () => {
    window.removeEventListener('scroll', onChange);
    window.removeEventListener('resize', onChange);
  };
}

/**
 * Windowing for a long list in the page's own scroll: only the rows near the viewport are
 * rendered, the rest is empty space of the same height. Re-renders only when the window moves
 * by a row, not on every scroll event. `rowHeight` includes the gap between rows.
 */
export function useWindowRows(listRef: RefObject<HTMLElement | null>, rowCount: number, rowHeight: number, overscan = 2): RowWindow {
  const snapshot = useCallback(() => {
    // Before the list is in the DOM, assume it starts at the top of the viewport.
    const top = listRef.current?.getBoundingClientRect().top ?? 0;
    const { start, end } = visibleRows({ scrollY: -top, viewportHeight: window.innerHeight, listTop: 0, rowHeight, rowCount, overscan });
    // One number, so React compares by value and skips renders while the window stays put.
    return start * 1_000_000 + end;
  }, [listRef, rowHeight, rowCount, overscan]);

  const packed = useSyncExternalStore(subscribeToViewport, snapshot, snapshot);
  return { start: Math.floor(packed / 1_000_000), end: packed % 1_000_000 };
}
