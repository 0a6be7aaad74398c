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
    const range = parsed.range();
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
