import { Gauge, type Registry } from 'prom-client';
import type { HistoryValues } from '@farol/protocol';
import type { AgentsService } from '../agents/agents.service.js';

/** Which machines this hub's /metrics speaks for (issue #14). */
export interface FleetMetricsScope {
  /** The agent's connection is held by this hub (this process). */
  heldHere(agentId: string): boolean;
  /**
   * This hub also reports the machines no hub holds (offline ones): the leader does, so that
   * exactly one hub reports each. One hub: always.
   */
  reportsUnheld(): boolean;
}

/**
 * Per-agent gauges computed at scrape time from the fleet's current state, so an existing
 * Prometheus/Grafana can scrape the whole fleet from the hub. prom-client collects metrics
 * concurrently, so every gauge reads one fleet snapshot shared by the scrape.
 *
 * Several hubs (issue #14): each hub reports the machines connected to it, and the leader also
 * the machines connected nowhere, so every machine appears on exactly one hub and a sum across
 * hubs counts it once. (Reading the whole fleet from the shared database on every hub would
 * report each machine once per hub.) During a leader change the offline ones may be reported by
 * two hubs, or none, for one scrape.
 */
export function registerFleetMetrics(registry: Registry, agents: AgentsService, scope?: FleetMetricsScope): void {
  type Summary = Awaited<ReturnType<AgentsService['listSummaries']>>[number];
  let snapshot: Promise<Summary[]> | undefined;
  const fleet = (): Promise<Summary[]> => {
    snapshot ??= agents.listSummaries().finally(() => setImmediate(() => (snapshot = undefined)));
    return snapshot;
  };
  const labelNames = ['agent_id', 'name'] as const;

  /** The machines this hub speaks for, from the scrape's snapshot. */
  const reported = async (): Promise<{ held: Summary[]; unheld: Summary[] }> => {
    const agentsNow = await fleet();
    // No scope: one hub, which holds every online agent and reports every offline one.
    const heldHere = scope ? (agent: Summary) => scope.heldHere(agent.id) : (agent: Summary) => agent.status === 'online';
    const held = agentsNow.filter(heldHere);
    const unheld = (scope?.reportsUnheld() ?? true) ? agentsNow.filter((agent) => agent.status === 'offline' && !heldHere(agent)) : [];
    return { held, unheld };
  };

  const perAgent = (name: string, help: string, value: (agent: Summary) => number | null): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const { held, unheld } = await reported();
        this.reset();
        for (const agent of [...held, ...unheld]) {
          const v = value(agent);
          if (v !== null) this.set({ agent_id: agent.id, name: agent.name }, v);
        }
      },
    });
  };
  const latestValue = (metric: keyof HistoryValues) => (agent: Summary) => agent.values?.[metric] ?? null;

  // Held here means connected here: up is 1 for those, 0 for the offline ones the leader reports.
  perAgent('farol_agent_up', '1 when the agent is connected (to the hub in the hub label)', (a) => (a.status === 'online' ? 1 : 0));
  perAgent('farol_agent_cpu_percent', 'CPU use, percent', latestValue('cpu'));
  perAgent('farol_agent_memory_percent', 'Memory use, percent', latestValue('memory'));
  perAgent('farol_agent_disk_percent', 'Fullest filesystem, percent', latestValue('disk'));
  perAgent('farol_agent_last_seen_seconds', 'Last message from the agent, unix seconds', (a) => (a.lastSeen === null ? null : a.lastSeen / 1000));
  new Gauge({
    name: 'farol_agents',
    help: 'Agents by status: online ones connected to this hub; offline ones on the leader hub only (sum across hubs for the fleet)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const { held, unheld } = await reported();
      this.set({ status: 'online' }, held.length);
      this.set({ status: 'offline' }, unheld.length);
    },
  });
  new Gauge({
    name: 'farol_hub_reports_offline_agents',
    help: '1 when this hub reports the agents connected to no hub (the leader, or the only hub)',
    registers: [registry],
    collect() {
      this.set((scope?.reportsUnheld() ?? true) ? 1 : 0);
    },
  });
}
