import { describe, expect, it } from 'vitest';
import { createHubRotation, splitHubUrls } from './hub-rotation.js';

/** A deterministic random source (an LCG) so the spread below is the same on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const HUBS = ['https://a:8080', 'https://b:8080', 'https://c:8080'];

describe('hub URL list', () => {
  it('splits on commas, trims, drops trailing slashes, empty parts and duplicates', () => {
    expect(splitHubUrls(' https://a:8080/ ,https://b:8080,, https://a:8080')).toEqual(['https://a:8080', 'https://b:8080']);
    expect(splitHubUrls('http://hub:8080')).toEqual(['http://hub:8080']);
  });
});

describe('hub rotation', () => {
  it('visits every hub once before coming back to the first', () => {
    const rotation = createHubRotation(HUBS, seeded(7));
    const seen = [rotation.current(), rotation.advance(), rotation.advance()];
    expect([...seen].sort()).toEqual([...HUBS].sort());
    expect(rotation.advance()).toBe(seen[0]);
  });

  it('moves to a hub a rebalancing hub names only when it is one of its own, and walks on from there', () => {
    const rotation = createHubRotation(HUBS, () => 0.999_999);
    expect(rotation.current()).toBe('https://a:8080');
    expect(rotation.moveTo('https://c:8080/')).toBe(true);
    expect(rotation.current()).toBe('https://c:8080');
    // A URL not in the agent's list changes nothing: a hub cannot send it somewhere new.
    expect(rotation.moveTo('https://elsewhere:8080')).toBe(false);
    expect(rotation.current()).toBe('https://c:8080');
    // The order itself is unchanged: after c comes its own next hub.
    expect(rotation.advance()).toBe('https://a:8080');
  });

  it('follows the injected random source: the draw decides the starting hub', () => {
    // Fisher-Yates from the end: draws of 0 rotate the list left by one at each swap.
    expect(createHubRotation(HUBS, () => 0).current()).toBe('https://b:8080');
    // Draws just under 1 swap nothing.
    expect(createHubRotation(HUBS, () => 0.999_999).current()).toBe('https://a:8080');
    // A source returning exactly 1 still picks a hub in the list.
    expect(HUBS).toContain(createHubRotation(HUBS, () => 1).current());
  });

  it('spreads a fleet evenly over the hubs it starts on', () => {
    const random = seeded(42);
    const counts = new Map<string, number>();
    for (let agent = 0; agent < 3_000; agent++) {
      const first = createHubRotation(HUBS, random).current();
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    for (const hub of HUBS) {
      expect(counts.get(hub)).toBeGreaterThan(900);
      expect(counts.get(hub)).toBeLessThan(1_100);
    }
  });

  it('spreads the agents of a dead hub over all the others, not onto one neighbour', () => {
    const hubs = ['https://a', 'https://b', 'https://c', 'https://d'];
    const random = seeded(1234);
    const movedTo = new Map<string, number>();
    let onDead = 0;
    for (let agent = 0; agent < 8_000; agent++) {
      const rotation = createHubRotation(hubs, random);
      if (rotation.current() !== 'https://a') continue;
      onDead++;
      const next = rotation.advance();
      movedTo.set(next, (movedTo.get(next) ?? 0) + 1);
    }
    expect(movedTo.has('https://a')).toBe(false);
    for (const hub of ['https://b', 'https://c', 'https://d']) {
      // Each survivor takes about a third of the dead hub's agents.
      expect(movedTo.get(hub)! / onDead).toBeGreaterThan(0.28);
      expect(movedTo.get(hub)! / onDead).toBeLessThan(0.39);
    }
  });

  it('stays on a single hub', () => {
    const rotation = createHubRotation(['http://only:8080'], seeded(3));
    expect(rotation.current()).toBe('http://only:8080');
    expect(rotation.advance()).toBe('http://only:8080');
  });

  it('refuses an empty list', () => {
    expect(() => createHubRotation([], seeded(1))).toThrow('no hub URL');
  });
});
