import { setFlagsFromString } from 'node:v8';

/**
 * Bounds how far V8 lets the hub's heap grow past its live set before the next full collection
 * (`FAROL_HEAP_GROWTH`, percent; 0 keeps V8's own choice).
 *
 * Left alone, V8 sizes the next old-generation limit from how fast it collects, up to four
 * times what survived: with 10,000 agents the hub held ~200 MiB live and ~490 MiB of heap, and
 * RSS followed the heap (issue #16, docs/adr/0030-hub-heap-and-connections.md). V8 reads this
 * factor at every collection, so setting it once the hub runs takes effect at the next one.
 * Only `farol hub` calls this: it is a process-wide setting, and tests or other programs that
 * start a hub in their own process keep theirs.
 */
export function limitHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growth must be a whole percentage, not ${percent}`);
  if (percent === 0) return;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
