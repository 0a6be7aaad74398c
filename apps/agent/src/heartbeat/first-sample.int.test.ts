import { describe, expect, it } from 'vitest';
import { useAgentHarness, waitFor } from '../testing/agent-harness.js';

const h = useAgentHarness();

describe('an agent that just connected', () => {
  it('sends its first sample at once, not one heartbeat interval later (#21)', async () => {
    void h.start({ interval: '10s' });
    await waitFor(() => h.hubState.hellos > 0, 15_000, 'the hello');
    const helloAt = Date.now();
    await waitFor(() => h.stored().length > 0, 5_000, 'the first sample');
    // Measured from the hello: with a 10 s interval the old agent sent nothing for 10 s.
    expect(Date.now() - helloAt).toBeLessThan(2_000);
    expect(h.stored()).toHaveLength(1);
  });
});
