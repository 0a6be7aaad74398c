import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { FAROL_VERSION, type IpAddress, type SystemInfo } from '@farol/protocol';
import { loadSystemInformation, type CollectorSource } from './collector.js';
import { parseOsRelease } from './procfs.js';

/** Expands an IPv6 address ("fd7a:115c:a1e0::1%tailscale0") to its eight 16-bit groups. */
export function ipv6Groups(address: string): number[] | null {
  let text = address.split('%')[0]!.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail].map((g) =>
    /^[0-9a-f]{1,4}$/.test(g) ? Number.parseInt(g, 16) : NaN,
  );
  return groups.some(Number.isNaN) ? null : groups;
}

/**
 * True for Tailscale addresses: IPv4 in the CGNAT range 100.64.0.0/10 that Tailscale assigns
 * from, IPv6 in its ULA prefix fd7a:115c:a1e0::/48. The dashboard prefers these for SSH links.
 */
export function isTailscaleAddress(address: string, family: 'IPv4' | 'IPv6'): boolean {
  if (family === 'IPv4') {
    const octets = address.split('.').map(Number);
    return octets.length === 4 && octets[0] === 100 && octets[1]! >= 64 && octets[1]! <= 127;
  }
  const groups = ipv6Groups(address);
  return groups !== null && groups[0] === 0xfd7a && groups[1] === 0x115c && groups[2] === 0xa1e0;
}

/** The netmask length of `10.0.0.5/24` (Node's `cidr`), when known: the hub groups machines by subnet. */
function prefixLengthOf(cidr: string | null | undefined): { prefixLength?: number } {
  const length = Number(cidr?.split('/')[1]);
  return cidr && Number.isInteger(length) && length >= 0 && length <= 128 ? { prefixLength: length } : {};
}

/** Non-internal addresses of every interface. */
export function listIpAddresses(
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): IpAddress[] {
  const ips: IpAddress[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      if (info.internal) continue;
      // Node 18.0-18.3 reported family as a number; accept both shapes.
      const family = (info.family as unknown) === 6 || info.family === 'IPv6' ? 'IPv6' : 'IPv4';
      ips.push({
        interface: name.slice(0, 128),
        address: info.address.slice(0, 64),
        family,
        isTailscale: isTailscaleAddress(info.address, family),
        ...prefixLengthOf(info.cidr),
      });
    }
  }
  return ips.slice(0, 256);
}

async function readDistro(source: CollectorSource): Promise<{ distro: string; release: string }> {
  if (source === 'procfs') {
    for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
      try {
        const values = parseOsRelease(await readFile(file, 'utf8'));
        return { distro: values.get('NAME') ?? 'Linux', release: values.get('VERSION_ID') ?? values.get('VERSION') ?? '' };
      } catch (error) {
        // os-release lives in one of two places (os-release(5)); try the next, then give up below.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return { distro: 'Linux', release: '' };
  }
  const si = await loadSystemInformation();
  const info = await si.osInfo();
  return { distro: info.distro || os.type(), release: info.release || '' };
}

/** Facts about the machine, sent at hello and whenever they change. */
export async function collectSystemInfo(source: CollectorSource): Promise<SystemInfo> {
  const { distro, release } = await readDistro(source);
  const cpus = os.cpus();
  return {
    hostname: os.hostname().slice(0, 255),
    os: process.platform,
    distro: distro.slice(0, 128),
    release: release.slice(0, 128),
    kernel: os.release().slice(0, 128),
    arch: os.arch().slice(0, 32),
    cpuModel: (cpus[0]?.model.trim() || 'unknown').slice(0, 256),
    cpuCores: cpus.length,
    memoryTotal: os.totalmem(),
    agentVersion: FAROL_VERSION.slice(0, 64),
    ips: listIpAddresses(),
  };
}
