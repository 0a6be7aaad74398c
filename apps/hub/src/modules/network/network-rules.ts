import type { IpAddress, NetworkGroup, NetworkKind, TailscaleReport } from '@farol/protocol';

/**
 * The network view's rules (issue #19), pure so they are tested without a hub: which network a
 * machine is on, which address of another machine to ping, and when a link "got worse".
 */

/** What the rules know of one machine. */
export interface MachineNetworkFacts {
  agentId: string;
  ips: readonly IpAddress[];
  /** Its address as the hub saw it at connect. */
  remoteAddress: string | null;
  tailscale: TailscaleReport | null;
}

// ---- addresses ---------------------------------------------------------------------------------

/** `::ffff:10.0.0.1` (an IPv4 peer of a dual-stack socket) → `10.0.0.1`. */
export function plainAddress(address: string): string {
  return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1').split('%')[0]!;
}

function ipv4Number(address: string): number | null {
  const parts = address.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    const octet = Number(part);
    if (!/^\d{1,3}$/.test(part) || octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

const inV4 = (value: number, base: string, bits: number): boolean => {
  const start = ipv4Number(base)!;
  const size = 2 ** (32 - bits);
  return value >= start && value < start + size;
};

/** 100.64.0.0/10 or fd7a:115c:a1e0::/48: the ranges Tailscale assigns from. */
export function isTailnetAddress(address: string): boolean {
  const v4 = ipv4Number(address);
  if (v4 !== null) return inV4(v4, '100.64.0.0', 10);
  return /^fd7a:115c:a1e0:/i.test(address);
}

/** Private (RFC 1918, ULA), loopback, link-local or CGNAT: not reachable from the internet. */
export function isPrivateAddress(address: string): boolean {
  const v4 = ipv4Number(address);
  if (v4 !== null) {
    return [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
      ['127.0.0.0', 8],
      ['169.254.0.0', 16],
      ['100.64.0.0', 10],
      ['0.0.0.0', 8],
    ].some(([base, bits]) => inV4(v4, base as string, bits as number));
  }
  const lower = address.toLowerCase();
  return lower === '::1' || lower === '::' || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower);
}

/** The subnet of an IPv4 address, CIDR (`10.1.2.0/24`); a missing prefix length counts as /24. */
export function ipv4Subnet(address: string, prefixLength = 24): string | null {
  const value = ipv4Number(address);
  if (value === null || prefixLength < 8 || prefixLength > 32) return null;
  const size = 2 ** (32 - prefixLength);
  const network = Math.floor(value / size) * size;
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
  return `${octets.join('.')}/${prefixLength}`;
}

/** Private IPv4 subnets of the machine's interfaces, tailnet and link-local ones aside. */
export function lanSubnets(ips: readonly IpAddress[]): string[] {
  const subnets = new Set<string>();
  for (const ip of ips) {
    if (ip.family !== 'IPv4' || ip.isTailscale || isTailnetAddress(ip.address) || !isPrivateAddress(ip.address)) continue;
    if (ip.address.startsWith('127.') || ip.address.startsWith('169.254.')) continue;
    const subnet = ipv4Subnet(ip.address, ip.prefixLength ?? 24);
    if (subnet) subnets.add(subnet);
  }
  return [...subnets].sort();
}

/** Tailnet addresses: from its tailscale status when it reports one, else its interfaces. IPv4 first. */
export function tailscaleIps(machine: Pick<MachineNetworkFacts, 'ips' | 'tailscale'>): string[] {
  const ips = machine.tailscale?.self.tailscaleIps.length ? machine.tailscale.self.tailscaleIps : machine.ips.filter((ip) => ip.isTailscale || isTailnetAddress(ip.address)).map((ip) => plainAddress(ip.address));
  return [...new Set(ips)].sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}

/** Its public address: as the hub saw it when that is public, else a public address of its own. */
export function publicAddress(machine: Pick<MachineNetworkFacts, 'ips' | 'remoteAddress'>): string | null {
  const remote = machine.remoteAddress ? plainAddress(machine.remoteAddress) : null;
  if (remote && !isPrivateAddress(remote)) return remote;
  const own = machine.ips.find((ip) => !isPrivateAddress(plainAddress(ip.address)));
  return own ? plainAddress(own.address) : null;
}

/** The tailnet a machine is on: named by its own report, or by a report that lists it as a peer. */
export function tailnetOf(machine: MachineNetworkFacts, all: readonly MachineNetworkFacts[]): string | null {
  if (machine.tailscale && machine.tailscale.backendState === 'Running') return machine.tailscale.tailnet ?? 'tailnet';
  const mine = new Set(tailscaleIps(machine));
  if (mine.size === 0) return null;
  for (const other of all) {
    if (other.tailscale && other.tailscale.peers.some((peer) => peer.tailscaleIps.some((ip) => mine.has(ip)))) return other.tailscale.tailnet ?? 'tailnet';
  }
  return 'tailnet';
}

/**
 * Which of `to`'s addresses `from` should ping: its tailnet address when both are on the same
 * tailnet, else an address in a LAN subnet they share, else its public address. Null when none.
 */
export function chooseAddress(from: MachineNetworkFacts, to: MachineNetworkFacts, all: readonly MachineNetworkFacts[]): { address: string; kind: NetworkKind } | null {
  const fromTailnet = tailnetOf(from, all);
  const toTailnet = tailnetOf(to, all);
  const toTailscale = tailscaleIps(to);
  if (fromTailnet !== null && fromTailnet === toTailnet && toTailscale.length > 0) return { address: toTailscale[0]!, kind: 'tailnet' };
  const shared = new Set(lanSubnets(from.ips));
  for (const ip of to.ips) {
    if (ip.family !== 'IPv4' || ip.isTailscale) continue;
    const subnet = ipv4Subnet(ip.address, ip.prefixLength ?? 24);
    if (subnet && shared.has(subnet) && isPrivateAddress(ip.address)) return { address: plainAddress(ip.address), kind: 'lan' };
  }
  const reachable = publicAddress(to);
  return reachable ? { address: reachable, kind: 'public' } : null;
}

/** Machines grouped by tailnet, LAN subnet and public address (a machine may be in several). */
export function groupMachines(machines: readonly MachineNetworkFacts[]): NetworkGroup[] {
  const groups = new Map<string, NetworkGroup>();
  const add = (kind: NetworkKind, key: string, agentId: string): void => {
    const id = `${kind}\n${key}`;
    const group = groups.get(id) ?? { kind, key, agentIds: [] };
    if (!group.agentIds.includes(agentId)) group.agentIds.push(agentId);
    groups.set(id, group);
  };
  for (const machine of machines) {
    const tailnet = tailnetOf(machine, machines);
    if (tailnet) add('tailnet', tailnet, machine.agentId);
    for (const subnet of lanSubnets(machine.ips)) add('lan', subnet, machine.agentId);
    const address = publicAddress(machine);
    if (address) add('public', address, machine.agentId);
  }
  const order: Record<NetworkKind, number> = { tailnet: 0, lan: 1, public: 2 };
  return [...groups.values()].sort((a, b) => order[a.kind] - order[b.kind] || a.key.localeCompare(b.key));
}

// ---- "got worse" --------------------------------------------------------------------------------

/** The median of some numbers; null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The recent window and the baseline before it. */
export const RECENT_WINDOW_MS = 15 * 60_000;
export const BASELINE_WINDOW_MS = 24 * 3_600_000;
/** Minutes with measurements each window needs before the rule says anything. */
export const MIN_RECENT_MINUTES = 3;
export const MIN_BASELINE_MINUTES = 30;
/** Worse means at least this many times the baseline and at least this many ms more. */
export const WORSE_FACTOR = 2;
export const WORSE_MIN_INCREASE_MS = 20;

/**
 * Hub RTT got worse: the median of the last 15 minutes is at least twice the median of the 24
 * hours before and at least 20 ms above it (so a LAN machine going from 0.3 to 0.8 ms is not
 * flagged). Both windows need enough minutes measured. `recent` holds per-minute medians;
 * `baseline` per-minute or per-hour ones, `baselineMinutes` how many minutes they stand for.
 */
export function rttGotWorse(recent: readonly number[], baseline: readonly number[], baselineMinutes = baseline.length): { worse: boolean; recentP50: number | null; baselineP50: number | null } {
  const recentP50 = median(recent);
  const baselineP50 = median(baseline);
  const enough = recent.length >= MIN_RECENT_MINUTES && baselineMinutes >= MIN_BASELINE_MINUTES;
  const worse = enough && recentP50 !== null && baselineP50 !== null && recentP50 >= baselineP50 * WORSE_FACTOR && recentP50 - baselineP50 >= WORSE_MIN_INCREASE_MS;
  return { worse, recentP50, baselineP50 };
}

/** A tailnet link got worse: relayed now, and seen direct within the last 24 hours. */
export function linkGotWorse(link: { direct: boolean; online: boolean }, lastDirectAt: number | null, now: number): boolean {
  return link.online && !link.direct && lastDirectAt !== null && now - lastDirectAt <= BASELINE_WINDOW_MS;
}

/** A stable key for a tailnet peer across reports: its first tailnet address, else its DNS name. */
export function peerKey(peer: { tailscaleIps: readonly string[]; dnsName: string; hostName: string }): string {
  return (peer.tailscaleIps[0] ?? (peer.dnsName || peer.hostName)).slice(0, 255);
}
