import { useCallback, useState } from 'react';
import { readStored, writeStored, type StorageArea } from './storage.js';

/**
 * useState that survives navigation (session) or visits (local), for view preferences such as
 * the fleet's filters and layout. `parse` rejects stored values from older versions.
 */
export function usePersistentState<T>(area: StorageArea, key: string, initial: T, parse: (stored: unknown) => T | undefined): [T, (next: T) => void] {
  const [value, setValue] = useState<T>(() => {
    const stored = readStored(area, key);
    if (stored === null) return initial;
    try {
      return parse(JSON.parse(stored)) ?? initial;
    } catch (error) {
      console.warn(`farol: ignoring unreadable ${key}`, error);
      return initial;
    }
  });
  const update = useCallback(
    (next: T) => {
      writeStored(area, key, JSON.stringify(next));
      setValue(next);
    },
    [area, key],
  );
  return [value, update];
}
