import * as DropdownMenu from '@radix-ui/react-dropdown-menu';
import type { ReactElement, ReactNode } from 'react';
import { cn } from './cn.js';
import { CheckIcon } from './icons.js';

const itemClasses = cn(
  'flex cursor-default items-center gap-2.5 rounded-md px-2.5 py-2 text-sm text-slate-700 outline-none select-none pointer-coarse:py-3',
  'data-[highlighted]:bg-slate-100 data-[highlighted]:text-slate-900 dark:text-slate-200 dark:data-[highlighted]:bg-slate-800 dark:data-[highlighted]:text-white',
);

/** A dropdown menu of actions or choices (Radix: keyboard navigation, focus return, typeahead). */
export function Menu({ trigger, children, align = 'end', label }: { trigger: ReactElement; children: ReactNode; align?: 'start' | 'end'; label?: string }) {
  return (
    <DropdownMenu.Root modal={false}>
      <DropdownMenu.Trigger asChild>{trigger}</DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content
          align={align}
          sideOffset={6}
          collisionPadding={8}
          aria-label={label}
          className="z-50 min-w-44 rounded-xl border border-slate-200 bg-white p-1 shadow-xl data-[state=open]:animate-[fade-in_120ms_ease-out] dark:border-slate-700 dark:bg-slate-900"
        >
          {children}
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}

export function MenuItem({ children, onSelect, danger = false, icon }: { children: ReactNode; onSelect(): void; danger?: boolean; icon?: ReactNode }) {
  return (
    <DropdownMenu.Item onSelect={onSelect} className={cn(itemClasses, danger && 'text-red-600 data-[highlighted]:text-red-700 dark:text-red-400 dark:data-[highlighted]:text-red-300')}>
      {icon && <span className="text-slate-400 dark:text-slate-500">{icon}</span>}
      {children}
    </DropdownMenu.Item>
  );
}

export function MenuLabel({ children }: { children: ReactNode }) {
  return <DropdownMenu.Label className="px-2.5 pt-1.5 pb-1 text-xs font-medium text-slate-500 dark:text-slate-400">{children}</DropdownMenu.Label>;
}

export function MenuSeparator() {
  return <DropdownMenu.Separator className="my-1 h-px bg-slate-100 dark:bg-slate-800" />;
}

/** One choice among several, checked when selected. */
export function MenuRadioGroup<T extends string>({ value, onChange, options }: { value: T; onChange(value: T): void; options: readonly { value: T; label: ReactNode; icon?: ReactNode }[] }) {
  return (
    <DropdownMenu.RadioGroup value={value} onValueChange={(next) => onChange(next as T)}>
      {options.map((option) => (
        <DropdownMenu.RadioItem key={option.value} value={option.value} className={cn(itemClasses, 'pr-8 relative')}>
          {option.icon && <span className="text-slate-400 dark:text-slate-500">{option.icon}</span>}
          {option.label}
          <DropdownMenu.ItemIndicator className="absolute right-2.5">
            <CheckIcon className="size-4 text-indigo-600 dark:text-indigo-400" />
          </DropdownMenu.ItemIndicator>
        </DropdownMenu.RadioItem>
      ))}
    </DropdownMenu.RadioGroup>
  );
}
