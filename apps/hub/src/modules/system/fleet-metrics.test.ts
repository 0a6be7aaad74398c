import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createObservability } from '../../infra/observability.js';
import type { AgentsService } from '../agents/agents.service.js';
import { registerFleetMetrics, type FleetMetricsScope } from './fleet-metrics.js';

type Summary = Awaited<ReturnType<AgentsService['listSummaries']>>[number];

const fleet: Summary[] = [
  { id: 'ag_here', name: 'here', status: 'online', lastSeen: 1_000, values: { cpu: 10, memory: 20, disk: 30 } as Summary['values'] },
  { id: 'ag_there', name: 'there', status: 'online', lastSeen: 2_000, values: { cpu: 50, memory: 60, disk: 70 } as Summary['values'] },
  { id: 'ag_gone', name: 'gone', status: 'offline', lastSeen: 3_000, values: null },
];

/** One hub's /metrics over `fleet`, as Prometheus would scrape it. */
async function scrape(hubId: string, scope?: FleetMetricsScope): Promise<string> {
  const observability = createObservability({ hubId });
  registerFleetMetrics(observability, { listSummaries: async () => fleet }, scope);
  return observability.metricsText();
}

/** The value of one series, or undefined when absent. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('fleet metrics per hub (issue #14)', () => {
  it('one hub reports every machine: online ones up, offline ones down', async () => {
    const text = await scrape('solo');
    expect(value(text, 'farol_agent_up', { agent_id: 'ag_here', hub: 'solo' })).toBe(1);
    expect(value(text, 'farol_agent_up', { agent_id: 'ag_there' })).toBe(1);
    expect(value(text, 'farol_agent_up', { agent_id: 'ag_gone' })).toBe(0);
    expect(value(text, 'farol_agents', { status: 'online' })).toBe(2);
    expect(value(text, 'farol_agents', { status: 'offline' })).toBe(1);
    expect(value(text, 'farol_hub_reports_offline_agents', { hub: 'solo' })).toBe(1);
  });

  it('with several hubs, summing every hub\'s series counts each machine once', async () => {
    // hub-a holds ag_here and is the leader; hub-b holds ag_there. Both read the same fleet.
    const a = await scrape('hub-a', { heldHere: (id) => id === 'ag_here', reportsUnheld: () => true });
    const b = await scrape('hub-b', { heldHere: (id) => id === 'ag_there', reportsUnheld: () => false });

    expect(value(a, 'farol_agent_up', { agent_id: 'ag_here', hub: 'hub-a' })).toBe(1);
    expect(value(a, 'farol_agent_up', { agent_id: 'ag_there' })).toBeUndefined();
    expect(value(b, 'farol_agent_up', { agent_id: 'ag_there', hub: 'hub-b' })).toBe(1);
    expect(value(b, 'farol_agent_up', { agent_id: 'ag_here' })).toBeUndefined();
    // The machine connected nowhere: on the leader only.
    expect(value(a, 'farol_agent_up', { agent_id: 'ag_gone' })).toBe(0);
    expect(value(b, 'farol_agent_up', { agent_id: 'ag_gone' })).toBeUndefined();
    expect(value(b, 'farol_agent_cpu_percent', { agent_id: 'ag_there' })).toBe(50);
    expect(value(a, 'farol_agent_cpu_percent', { agent_id: 'ag_there' })).toBeUndefined();

    const sum = (status: string): number => (value(a, 'farol_agents', { status }) ?? 0) + (value(b, 'farol_agents', { status }) ?? 0);
    expect(sum('online')).toBe(2);
    expect(sum('offline')).toBe(1);
    expect(value(a, 'farol_hub_reports_offline_agents', {})).toBe(1);
    expect(value(b, 'farol_hub_reports_offline_agents', {})).toBe(0);
  });
});

describe('fleet metrics as text (#16)', () => {
  const odd: Summary[] = [
    { id: 'ag_odd', name: 'we"ird\\box\nline', status: 'online', lastSeen: 1_500, values: { cpu: 12.5, memory: null, disk: Number.NaN } as unknown as Summary['values'] },
  ];

  it('escapes label values, leaves out unknown values and parses as the text format', async () => {
    const observability = createObservability({ hubId: 'hub-"x"' });
    registerFleetMetrics(observability, { listSummaries: async () => odd });
    const text = await observability.metricsText();
    expect(text).toContain('farol_agent_cpu_percent{agent_id="ag_odd",name="we\\"ird\\\\box\\nline",hub="hub-\\"x\\""} 12.5\n');
    expect(text).toContain('farol_agent_last_seen_seconds{agent_id="ag_odd",name="we\\"ird\\\\box\\nline",hub="hub-\\"x\\""} 1.5\n');
    expect(text).not.toMatch(/^farol_agent_memory_percent\{/m);
    expect(text).not.toMatch(/^farol_agent_disk_percent\{/m);
    expect(text).toContain('farol_hub_reports_offline_agents{hub="hub-\\"x\\""} 1\n');
    // The registry's own series come first, each family once.
    expect(text.indexOf('farol_heartbeats_received_total')).toBeLessThan(text.indexOf('farol_agent_up'));
    expect(text.match(/^# TYPE farol_agent_up gauge$/gm)).toHaveLength(1);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error) return; // promtool is not installed here (Debian's prometheus package)
    expect(`${promtool.stdout}${promtool.stderr}`.trim()).toBe('');
    expect(promtool.status).toBe(0);
  });

  it('without a hub id, no hub label', async () => {
    const observability = createObservability();
    registerFleetMetrics(observability, { listSummaries: async () => fleet });
    const text = await observability.metricsText();
    expect(text).toContain('farol_agent_up{agent_id="ag_gone",name="gone"} 0\n');
    expect(text).toContain('farol_hub_reports_offline_agents 1\n');
  });
});
