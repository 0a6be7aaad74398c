import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Reads a file that holds a secret, or creates it (mode 0600) with `create()`'s value. */
export function readOrCreateSecretFile(file: string, create: () => string): { value: string; created: boolean } {
  if (existsSync(file)) {
    // Tighten permissions in case the file was copied around with a looser mode.
    chmodSync(file, 0o600);
    return { value: readFileSync(file, 'utf8').trim(), created: false };
  }
  const value = create();
  writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { value, created: true };
}
