import type { ReactNode, TdHTMLAttributes } from 'react';
import { cn } from './cn.js';

/**
 * A table that fills a Panel's body edge to edge and scrolls sideways on narrow screens.
 * `head` is the header row's cells ({@link HeadCell}); `children` the body rows.
 */
export function PanelTable({ head, children, className }: { head: ReactNode; children: ReactNode; className?: string }) {
  return (
    <div className={cn('-mx-4 overflow-x-auto px-4 sm:-mx-5 sm:px-5', className)}>
      <table className="w-full text-sm">
        <thead>
          <tr>{head}</tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">{children}</tbody>
      </table>
    </div>
  );
}

/** A column header of a {@link PanelTable}; `className` adds to the shared look (e.g. `hidden md:table-cell`). */
export function HeadCell({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <th scope="col" className={cn('px-3 py-2 text-left text-xs font-medium whitespace-nowrap text-slate-500 first:pl-0 last:pr-0 dark:text-slate-400', className)}>
      {children}
    </th>
  );
}

/** A body cell of a {@link PanelTable}, vertically centred. */
export function Cell({ className, ...rest }: TdHTMLAttributes<HTMLTableCellElement>) {
  return <td className={cn('px-3 py-2.5 first:pl-0 last:pr-0 align-middle', className)} {...rest} />;
}
