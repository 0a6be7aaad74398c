import type { RandomSource } from '../runtime/clock.js';

/** At most this many hub URLs in `--hub` (a list, not a fleet directory). */
export const MAX_HUB_URLS = 16;

/** `https://a:8080/, https://b:8080` → `['https://a:8080', 'https://b:8080']` (trimmed, no trailing slash, no duplicates). */
export function splitHubUrls(text: string): string[] {
  const urls = text
    .split(',')
    .map((part) => part.trim().replace(/\/+$/, ''))
    .filter((part) => part !== '');
  return [...new Set(urls)];
}

/** The order in which an agent tries its hubs; it moves on when the current one fails. */
export interface HubRotation {
  /** The hub to try now (or the one linked to). */
  current(): string;
  /** The current hub failed or dropped the link: the next one in this agent's order. */
  advance(): string;
  /**
   * Makes `url` the current hub when it is one of this agent's own (a rebalancing hub's hint,
   * compared without trailing slashes); false, and nothing changes, when it is not.
   */
  moveTo(url: string): boolean;
  readonly size: number;
}

/**
 * Each agent walks its hubs in an order of its own: a uniformly random permutation drawn once
 * at start (Fisher-Yates with the injected random source). A fleet given the same `--hub a,b,c`
 * therefore starts spread evenly over the hubs, and when one hub dies, the hub after it in each
 * agent's order is equally likely to be any of the others, so its agents spread over the
 * survivors instead of all landing on the next hub of a shared list.
 */
export function createHubRotation(urls: readonly string[], random: RandomSource): HubRotation {
  if (urls.length === 0) throw new Error('no hub URL to connect to');
  const order = [...urls];
  for (let i = order.length - 1; i > 0; i--) {
    // min(): a random source returning exactly 1 must not index past the end.
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let index = 0;
  return {
    current: () => order[index]!,
    advance() {
      index = (index + 1) % order.length;
      return order[index]!;
    },
    moveTo(url) {
      const wanted = order.indexOf(url.trim().replace(/\/+$/, ''));
      if (wanted === -1) return false;
      index = wanted;
      return true;
    },
    size: order.length,
  };
}
