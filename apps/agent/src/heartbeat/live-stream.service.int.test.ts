import { describe, expect, it } from 'vitest';
import { HeartbeatSampleSchema } from '@farol/protocol';
import { useAgentHarness, waitFor } from '../testing/agent-harness.js';
import { createImpostorKey } from '../testing/test-hub.js';

describe('live mode (real agent against a real Socket.IO test hub)', () => {
  const h = useAgentHarness();

  it('streams samples at the asked pace while watched, without touching the stored heartbeats', async () => {
    h.hubState.liveIntervalMs = 250;
    h.start();
    await waitFor(() => (h.agent()?.liveSamples.length ?? 0) >= 4, 5_000, 'four live samples');
    const live = h.agent()!.liveSamples;
    for (const sample of live) expect(HeartbeatSampleSchema.safeParse(sample).success).toBe(true);
    // Live samples are relayed, not stored: the stored series keeps its 1 s pace.
    const storedTs = new Set(h.stored().map((s) => s.ts));
    expect(live.some((s) => storedTs.has(s.ts))).toBe(false);

    h.hub.requestLive(null);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const afterStop = h.agent()!.liveSamples.length;
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(h.agent()!.liveSamples.length).toBe(afterStop);
    expect(h.stored().length).toBeGreaterThanOrEqual(1);
  });

  it('does not stream for a hub that cannot prove the pinned key', async () => {
    h.start();
    await waitFor(() => h.stored().length >= 1, 8_000, 'first heartbeat');
    h.hubState.proofKey = await createImpostorKey();
    h.hubState.liveIntervalMs = 250;
    const hellos = h.hubState.hellos;
    await h.restartHub();
    await waitFor(() => h.hubState.hellos >= hellos + 2, 8_000, 'refused hellos');
    expect(h.agent()!.liveSamples).toHaveLength(0);
  });
});
