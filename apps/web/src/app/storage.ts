/**
 * Browser storage that may be unavailable (private windows, blocked cookies, quota): every
 * read falls back to null and every failed write is reported, never thrown at the UI.
 */
export type StorageArea = 'local' | 'session';

function areaOf(area: StorageArea): Storage | null {
  try {
    return area === 'local' ? window.localStorage : window.sessionStorage;
  } catch (error) {
    console.warn(`farol: ${area}Storage is unavailable`, error);
    return null;
  }
}

export function readStored(area: StorageArea, key: string): string | null {
  try {
    return areaOf(area)?.getItem(key) ?? null;
  } catch (error) {
    console.warn(`farol: cannot read ${key} from ${area}Storage`, error);
    return null;
  }
}

export function writeStored(area: StorageArea, key: string, value: string | null): void {
  const storage = areaOf(area);
  if (!storage) return;
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, value);
  } catch (error) {
    console.warn(`farol: cannot write ${key} to ${area}Storage`, error);
  }
}
