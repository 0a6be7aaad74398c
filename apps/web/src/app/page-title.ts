import { useEffect } from 'react';

/** Sets the tab title for the page being shown. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Farol`;
  }, [title]);
}
