import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorAck } from '@farol/protocol';
import { defaultCollectorSource } from '../collectors/collector.js';
import { collectSystemInfo } from '../collectors/system-info.collector.js';
import { useAgentHarness, waitFor } from '../testing/agent-harness.js';

describe('heartbeats (real agent against a real Socket.IO test hub)', () => {
  const h = useAgentHarness();

  it('backfills what was buffered during an outage, in order, once the hub is back', async () => {
    h.start();
    await waitFor(() => h.stored().length >= 1, 8_000, 'first heartbeat');
    await h.stopHub();
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    expect(h.stored().length).toBeLessThanOrEqual(2);
    await h.startHub();
    const restartedAt = Date.now();
    await waitFor(() => h.stored().some((s) => s.ts >= restartedAt), 8_000, 'a live heartbeat after the restart');

    const ts = h.stored().map((s) => s.ts);
    expect(ts.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < ts.length; i++) {
      expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
      // One sample per 1 s tick: a larger gap would mean a lost sample.
      expect(ts[i]! - ts[i - 1]!).toBeLessThan(1_600);
    }
  });

  it('drops a batch the hub calls invalid instead of resending it forever', async () => {
    let rejectedTs: number[] | null = null;
    h.hubState.onReport = (_agent, samples) => {
      if (rejectedTs !== null) return null;
      rejectedTs = samples.map((s) => s.ts);
      return errorAck('validation_failed', 'sample rejected');
    };
    h.start();
    await waitFor(() => h.stored().length >= 2, 8_000, 'heartbeats after the rejected one');
    const rejected = h.logs().filter((line) => String(line.msg).includes('rejected a metrics batch as invalid'));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.level).toBe(50);
    // The dropped sample is never sent again; the following ones arrive.
    const storedTs = h.stored().map((s) => s.ts);
    expect(rejectedTs!.length).toBeGreaterThan(0);
    for (const ts of rejectedTs!) expect(storedTs).not.toContain(ts);
    expect(Math.min(...storedTs)).toBeGreaterThan(Math.max(...rejectedTs!));
  });

  it('keeps a batch the hub could not store and delivers it on a later tick', async () => {
    let refusedTs: number | null = null;
    h.hubState.onReport = (_agent, samples) => {
      if (refusedTs !== null) return null;
      refusedTs = samples[0]!.ts;
      return errorAck('unavailable', 'database busy');
    };
    h.start();
    await waitFor(() => h.stored().length >= 2, 8_000, 'heartbeats after the refusal');
    // The refused sample arrives on the next tick, first, and the later one after it.
    expect(h.stored()[0]!.ts).toBe(refusedTs);
    expect(h.stored()[1]!.ts).toBeGreaterThan(refusedTs!);
    expect(h.messages()).toContain('hub refused a metrics report; will retry');
  });

  it('keeps identity.json in step when the hub renames the agent', async () => {
    h.hubState.renameTo = { name: 'renamed-box', labels: { role: 'db' } };
    h.start();
    await waitFor(() => h.stored().length >= 1, 8_000, 'first heartbeat');
    const identity = JSON.parse(readFileSync(path.join(h.stateDir, 'identity.json'), 'utf8')) as { name: string; labels: unknown };
    expect(identity).toMatchObject({ name: 'renamed-box', labels: { role: 'db' } });
  });

  it('tells the hub when the machine facts change, and only then', async () => {
    const real = await collectSystemInfo(defaultCollectorSource());
    let hostname = 'before';
    h.start({}, { systemInfo: async () => ({ ...real, hostname }), systemInfoIntervalMs: 300 });
    await waitFor(() => h.stored().length >= 1, 8_000, 'first heartbeat');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(h.hubState.infos).toHaveLength(0);
    hostname = 'after';
    await waitFor(() => h.hubState.infos.length >= 1, 3_000, 'agent:info');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(h.hubState.infos.map((info) => info.hostname)).toEqual(['after']);
  });
});
