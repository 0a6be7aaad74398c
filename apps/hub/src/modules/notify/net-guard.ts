import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { FarolError } from '@farol/protocol';

/**
 * The SSRF guard of outgoing notifications: a channel or webhook URL may only reach public
 * unicast addresses unless the operator allowed a network (FAROL_NOTIFY_ALLOW_NETWORKS). The
 * check runs when a URL is saved and again at every send, on the addresses the connection then
 * uses: `lookup` hands the socket exactly the addresses it checked, so a DNS answer that changes
 * between check and connect (rebinding) cannot slip through.
 */
export interface NetworkGuard {
  /** Throws `destination_refused` unless the address is public unicast or allowed. */
  checkAddress(address: string, host?: string): void;
  /** Resolves a host (or takes an IP literal) and checks every address; returns them. */
  resolve(host: string): Promise<Array<{ address: string; family: 4 | 6 }>>;
  /** Checks an http(s) URL's host now (at save time). */
  checkUrl(url: string): Promise<void>;
  /** For node:http's `lookup` option: resolves, checks, and connects only to what it checked. */
  lookup: LookupFunction;
}

export type Resolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Parses a comma-separated CIDR list ("100.64.0.0/10, 127.0.0.1/32, fd7a:115c:a1e0::/48"). */
export function parseNetworks(text: string): Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const cidr = part.includes('/') ? part : `${part}/${ipaddr.parse(part).kind() === 'ipv4' ? 32 : 128}`;
      return ipaddr.parseCIDR(cidr);
    });
}

export function createNetworkGuard({ allow = [], resolver = systemResolver }: { allow?: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>; resolver?: Resolver } = {}): NetworkGuard {
  function checkAddress(address: string, host = address): void {
    let parsed: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      parsed = ipaddr.parse(address);
    } catch (error) {
      throw new FarolError('destination_refused', `${host}: "${address}" is not an IP address`, { cause: error });
    }
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    const allowed = allow.some(([network, bits]) => network.kind() === parsed.kind() && parsed.match([network, bits] as never));
    if (allowed) return;
    if (parsed.kind() === 'ipv6') {
      // An IPv6 form that carries an IPv4 address may be routed to that IPv4 by some stacks
      // (compatible ::a.b.c.d, NAT64, 6to4, Teredo, SIIT): judge the IPv4 inside as well (#11).
      const embedded = embeddedIPv4(parsed as ipaddr.IPv6);
      if (embedded && embedded.range() !== 'unicast') {
        throw new FarolError(
          'destination_refused',
          `${host} resolves to ${parsed.toString()}, which embeds ${embedded.toString()} (${embedded.range()}); notifications only go to public addresses unless FAROL_NOTIFY_ALLOW_NETWORKS allows it`,
        );
      }
    }
    const range = parsed.kind() === 'ipv6' && isIPv4Compatible(parsed as ipaddr.IPv6) ? 'ipv4Compatible' : parsed.range();
    if (range !== 'unicast') {
      throw new FarolError(
        'destination_refused',
        `${host} resolves to ${parsed.toString()} (${range}); notifications only go to public addresses unless FAROL_NOTIFY_ALLOW_NETWORKS allows it`,
      );
    }
  }

  async function resolve(host: string): Promise<Array<{ address: string; family: 4 | 6 }>> {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (ipaddr.isValid(bare)) {
      checkAddress(bare, host);
      return [{ address: bare, family: ipaddr.parse(bare).kind() === 'ipv4' ? 4 : 6 }];
    }
    const answers = await resolver(bare);
    if (answers.length === 0) throw new FarolError('destination_refused', `${host} does not resolve`);
    // Every address must pass: a name that also points inside is refused as a whole.
    for (const answer of answers) checkAddress(answer.address, host);
    return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  }

  const lookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 4),
    );
  };

  return {
    checkAddress,
    resolve,
    lookup,
    async checkUrl(url) {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new FarolError('destination_refused', `${url}: only http and https URLs are allowed`);
      try {
        await resolve(parsed.hostname);
      } catch (error) {
        if (error instanceof FarolError) throw error;
        throw new FarolError('destination_refused', `${parsed.hostname} does not resolve (${(error as Error).message})`, { cause: error });
      }
    },
  };
}

/** `::a.b.c.d` (deprecated by RFC 4291), apart from `::` and `::1`, which have their own ranges. */
function isIPv4Compatible(address: ipaddr.IPv6): boolean {
  const parts = address.parts;
  return parts.slice(0, 6).every((part) => part === 0) && (parts[6] !== 0 || parts[7]! > 1);
}

function ipv4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * The IPv4 address an IPv6 address carries, for every form that embeds one: IPv4-compatible
 * `::/96`, SIIT `::ffff:0:0:0/96`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48` (RFC 6052 puts the
 * IPv4 in the last 32 bits of a /96), 6to4 `2002::/16` (bits 16-47) and Teredo `2001::/32`
 * (the client address, inverted, in the last 32 bits).
 */
export function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = address.parts as number[];
  const zeros = (from: number, to: number): boolean => p.slice(from, to).every((part) => part === 0);
  if (address.isIPv4MappedAddress()) return address.toIPv4Address();
  if (isIPv4Compatible(address)) return ipv4FromWords(p[6]!, p[7]!);
  if (zeros(0, 4) && p[4] === 0xffff && p[5] === 0) return ipv4FromWords(p[6]!, p[7]!);
  if (p[0] === 0x64 && p[1] === 0xff9b && (zeros(2, 6) || p[2] === 1)) return ipv4FromWords(p[6]!, p[7]!);
  if (p[0] === 0x2002) return ipv4FromWords(p[1]!, p[2]!);
  if (p[0] === 0x2001 && p[1] === 0) return ipv4FromWords(p[6]! ^ 0xffff, p[7]! ^ 0xffff);
  return undefined;
}
