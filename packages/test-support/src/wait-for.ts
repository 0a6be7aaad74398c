/**
 * Polls `probe` until it returns something other than `undefined` or `false`, and returns that;
 * throws `timed out after N ms waiting for <what>` after `timeoutMs`. For conditions that come
 * from another process or a socket (integration and e2e tests); unit tests use fake clocks.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'a condition',
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
