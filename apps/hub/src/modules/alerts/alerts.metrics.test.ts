import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerAlertMetrics } from './alerts.metrics.js';

const counts = [
  { state: 'firing' as const, severity: 'critical' as const, count: 2 },
  { state: 'pending' as const, severity: 'warning' as const, count: 1 },
];

describe('farol_alerts (issue #20)', () => {
  it('exports every state and severity, 0 where there is none', async () => {
    const registry = new Registry();
    registerAlertMetrics(registry, { countActive: () => Promise.resolve(counts) });
    const text = await registry.metrics();
    const lines = text.split('\n').filter((line) => line.startsWith('farol_alerts{'));
    expect(lines).toHaveLength(6);
    expect(lines).toContain('farol_alerts{state="firing",severity="critical"} 2');
    expect(lines).toContain('farol_alerts{state="pending",severity="warning"} 1');
    expect(lines).toContain('farol_alerts{state="firing",severity="info"} 0');
  });

  it('is exported by the reporting hub only, so a sum across hubs counts each alert once', async () => {
    let leader = true;
    const registry = new Registry();
    registerAlertMetrics(registry, { countActive: () => Promise.resolve(counts) }, () => leader);
    expect(await registry.metrics()).toContain('farol_alerts{state="firing",severity="critical"} 2');
    leader = false;
    expect((await registry.metrics()).split('\n').filter((line) => line.startsWith('farol_alerts{'))).toEqual([]);
  });
});
