import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import type { PinHost } from '@farol/probes';
import { embeddedIPv4 } from '../notify/net-guard.js';

/**
 * Where checks that the hub runs itself may connect. Loopback, private and tailnet addresses stay
 * reachable (watching the services beside the hub is the point), but link-local addresses are
 * refused: cloud metadata services live there (169.254.169.254 hands out the machine's credentials),
 * and anyone with `checks:manage` could otherwise read a bit of them through status and keyword
 * results. Also refused: AWS's IPv6 metadata address, unspecified, broadcast and multicast.
 * IPv6 forms that embed an IPv4 are judged by the IPv4 inside (#11, #19).
 */
const REFUSED_RANGES = new Set(['linkLocal', 'unspecified', 'broadcast', 'multicast']);
const METADATA_ADDRESSES = new Set(['fd00:ec2::254']);

export type HostResolver = (host: string) => Promise<Array<{ address: string }>>;

const systemResolver: HostResolver = (host) => lookup(host, { all: true, verbatim: true });

function refusalOf(address: string): string | null {
  const parsed = ipaddr.parse(address);
  const judged = parsed.kind() === 'ipv6' ? (embeddedIPv4(parsed as ipaddr.IPv6) ?? parsed) : parsed;
  if (METADATA_ADDRESSES.has(parsed.toNormalizedString()) || METADATA_ADDRESSES.has(parsed.toString())) return 'a cloud metadata address';
  const range = judged.range();
  return REFUSED_RANGES.has(range) ? `${range}${judged === parsed ? '' : ` (${judged.toString()} inside)`}` : null;
}

/** The pin used by the hub's own check runs: every address of the name must pass; the first is used. */
export function createCheckDestinationGuard(resolve: HostResolver = systemResolver): PinHost {
  return async (host) => {
    const answers = ipaddr.isValid(host) ? [{ address: host }] : await resolve(host);
    if (answers.length === 0) throw new Error(`${host} does not resolve`);
    for (const { address } of answers) {
      const refusal = refusalOf(address);
      if (refusal) throw new Error(`${host === address ? address : `${host} resolves to ${address}, which`} is ${refusal}; checks run by the hub never go there — run this check from a machine instead`);
    }
    return answers[0]!.address;
  };
}
