import { Gauge, type Registry } from 'prom-client';
import type { HistoryValues } from '@farol/protocol';
import type { AgentsService } from '../agents/agents.service.js';

/**
 * Per-agent gauges computed at scrape time from the fleet's current state, so an existing
 * Prometheus/Grafana can scrape the whole fleet from the hub. prom-client collects metrics
 * concurrently, so every gauge reads one fleet snapshot shared by the scrape.
 */
export function registerFleetMetrics(registry: Registry, agents: AgentsService): void {
  type Summary = Awaited<ReturnType<AgentsService['listSummaries']>>[number];
  let snapshot: Promise<Summary[]> | undefined;
  const fleet = (): Promise<Summary[]> => {
    snapshot ??= agents.listSummaries().finally(() => setImmediate(() => (snapshot = undefined)));
    return snapshot;
  };
  const labelNames = ['agent_id', 'name'] as const;

  const perAgent = (name: string, help: string, value: (agent: Summary) => number | null): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const agentsNow = await fleet();
        this.reset();
        for (const agent of agentsNow) {
          const v = value(agent);
          if (v !== null) this.set({ agent_id: agent.id, name: agent.name }, v);
        }
      },
    });
  };
  const latestValue = (metric: keyof HistoryValues) => (agent: Summary) => agent.values?.[metric] ?? null;

  perAgent('farol_agent_up', '1 when the agent is connected', (a) => (a.status === 'online' ? 1 : 0));
  perAgent('farol_agent_cpu_percent', 'CPU use, percent', latestValue('cpu'));
  perAgent('farol_agent_memory_percent', 'Memory use, percent', latestValue('memory'));
  perAgent('farol_agent_disk_percent', 'Fullest filesystem, percent', latestValue('disk'));
  perAgent('farol_agent_last_seen_seconds', 'Last message from the agent, unix seconds', (a) => (a.lastSeen === null ? null : a.lastSeen / 1000));
  new Gauge({
    name: 'farol_agents',
    help: 'Agents by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const agentsNow = await fleet();
      const online = agentsNow.filter((a) => a.status === 'online').length;
      this.set({ status: 'online' }, online);
      this.set({ status: 'offline' }, agentsNow.length - online);
    },
  });
}
