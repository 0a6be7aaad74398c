import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Xauthority address families (Xauth.h). */
const FAMILY_INTERNET = 0;
const FAMILY_LOCAL = 256;
const FAMILY_WILD = 65535;

export interface XauthEntry {
  family: number;
  address: Buffer;
  number: string;
  name: string;
  data: Buffer;
}

/** Parses an Xauthority file: records of (family, address, display number, auth name, auth data). */
export function parseXauthority(file: Buffer): XauthEntry[] {
  const entries: XauthEntry[] = [];
  let offset = 0;
  const field = (): Buffer => {
    if (offset + 2 > file.length) throw new Error('truncated Xauthority entry');
    const length = file.readUInt16BE(offset);
    const value = file.subarray(offset + 2, offset + 2 + length);
    if (value.length !== length) throw new Error('truncated Xauthority entry');
    offset += 2 + length;
    return value;
  };
  while (offset + 2 <= file.length) {
    const family = file.readUInt16BE(offset);
    offset += 2;
    const address = field();
    const number = field().toString('latin1');
    const name = field().toString('latin1');
    const data = field();
    entries.push({ family, address: Buffer.from(address), number, name, data: Buffer.from(data) });
  }
  return entries;
}

/** Where the X client libraries look for cookies: $XAUTHORITY, else ~/.Xauthority. */
export function xauthorityPath(env: NodeJS.ProcessEnv): string | null {
  if (env.XAUTHORITY) return env.XAUTHORITY;
  const home = env.HOME ?? os.homedir();
  return home ? path.join(home, '.Xauthority') : null;
}

/**
 * The MIT-MAGIC-COOKIE-1 for a display, chosen as libXau does: an entry for this host (local
 * family with our hostname, or the IPv4 address for TCP) or a wildcard, with the same display
 * number (or none). Null when there is no file or no matching cookie: many X servers (Xvfb,
 * a local session with host access) need none.
 */
export function findCookie(
  env: NodeJS.ProcessEnv,
  target: { displayNumber: number; host: string | null },
  read: (file: string) => Buffer | null = (file) => (existsSync(file) ? readFileSync(file) : null),
): { name: string; data: Buffer } | null {
  const file = xauthorityPath(env);
  if (!file) return null;
  const content = read(file);
  if (!content) return null;
  const hostname = os.hostname();
  const local = target.host === null || target.host === 'localhost' || target.host === 'unix' || target.host === hostname;
  const ipv4 = !local && target.host && /^\d+\.\d+\.\d+\.\d+$/.test(target.host) ? Buffer.from(target.host.split('.').map(Number)) : null;
  for (const entry of parseXauthority(content)) {
    if (entry.name !== 'MIT-MAGIC-COOKIE-1') continue;
    if (entry.number !== '' && entry.number !== String(target.displayNumber)) continue;
    const matches =
      entry.family === FAMILY_WILD ||
      (local && entry.family === FAMILY_LOCAL && entry.address.toString('latin1') === hostname) ||
      (ipv4 !== null && entry.family === FAMILY_INTERNET && entry.address.equals(ipv4)) ||
      (!local && ipv4 === null && entry.family === FAMILY_LOCAL && entry.address.toString('latin1') === target.host);
    if (matches) return { name: entry.name, data: entry.data };
  }
  return null;
}
