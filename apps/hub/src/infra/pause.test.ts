import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { pause } from './pause.js';

describe('pause', () => {
  it('leaves no abort listener behind when it ends by itself, however often it runs on one signal', async () => {
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      for (let i = 0; i < 50; i++) {
        const waited = pause(15_000, controller.signal);
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
        await vi.advanceTimersByTimeAsync(15_000);
        await waited;
      }
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('ends at once when the signal aborts, and at once when it already has', async () => {
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      let ended = false;
      const waited = pause(60_000, controller.signal).then(() => (ended = true));
      controller.abort();
      await waited;
      expect(ended).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
      await pause(60_000, controller.signal);
    } finally {
      vi.useRealTimers();
    }
  });
});
