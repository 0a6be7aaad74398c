import type { HistoryValues } from '@farol/protocol';
import { gaugeFamily, labelSet, type MetricsTextTarget } from '../../infra/metrics-text.js';
import { yieldToEventLoop } from '../../infra/pause.js';
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

type Summary = Awaited<ReturnType<AgentsService['listSummaries']>>[number];

/**
 * Per-agent gauges computed at scrape time from the fleet's current state, so an existing
 * Prometheus/Grafana can scrape the whole fleet from the hub. Rendered as text directly, from one
 * fleet snapshot per scrape: through prom-client, 10,000 machines cost ~250 ms of event loop a
 * scrape, as text ~55 ms (issue #16).
 *
 * Several hubs (issue #14): each hub reports the machines connected to it, and the leader also
 * the machines connected nowhere, so every machine appears on exactly one hub and a sum across
 * hubs counts it once. (Reading the whole fleet from the shared database on every hub would
 * report each machine once per hub.) During a leader change the offline ones may be reported by
 * two hubs, or none, for one scrape.
 */
export function registerFleetMetrics(target: MetricsTextTarget, agents: Pick<AgentsService, 'listSummaries'>, scope?: FleetMetricsScope): void {
  const latestValue = (metric: keyof HistoryValues) => (agent: Summary) => agent.values?.[metric] ?? null;
  // Held here means connected here: up is 1 for those, 0 for the offline ones the leader reports.
  const perAgent: Array<{ name: string; help: string; value: (agent: Summary) => number | null }> = [
    { name: 'farol_agent_up', help: '1 when the agent is connected (to the hub in the hub label)', value: (a) => (a.status === 'online' ? 1 : 0) },
    { name: 'farol_agent_cpu_percent', help: 'CPU use, percent', value: latestValue('cpu') },
    { name: 'farol_agent_memory_percent', help: 'Memory use, percent', value: latestValue('memory') },
    { name: 'farol_agent_disk_percent', help: 'Fullest filesystem, percent', value: latestValue('disk') },
    { name: 'farol_agent_last_seen_seconds', help: 'Last message from the agent, unix seconds', value: (a) => (a.lastSeen === null ? null : a.lastSeen / 1000) },
  ];

  target.addTextSection(async () => {
    const agentsNow = await agents.listSummaries();
    await yieldToEventLoop();
    // No scope: one hub, which holds every online agent and reports every offline one.
    const heldHere = scope ? (agent: Summary) => scope.heldHere(agent.id) : (agent: Summary) => agent.status === 'online';
    const reportsUnheld = scope?.reportsUnheld() ?? true;
    const held = agentsNow.filter(heldHere);
    const unheld = reportsUnheld ? agentsNow.filter((agent) => agent.status === 'offline' && !heldHere(agent)) : [];
    const reported = [...held, ...unheld];
    const labels = reported.map((agent) => labelSet([['agent_id', agent.id], ['name', agent.name]], target.hubId));
    const families: string[] = [];
    for (const family of perAgent) {
      await yieldToEventLoop();
      families.push(gaugeFamily(family.name, family.help, reported.map((agent, i) => [labels[i]!, family.value(agent)] as const)));
    }
    return [
      ...families,
      gaugeFamily('farol_agents', 'Agents by status: online ones connected to this hub; offline ones on the leader hub only (sum across hubs for the fleet)', [
        [labelSet([['status', 'online']], target.hubId), held.length],
        [labelSet([['status', 'offline']], target.hubId), unheld.length],
      ]),
      gaugeFamily('farol_hub_reports_offline_agents', '1 when this hub reports the agents connected to no hub (the leader, or the only hub)', [[labelSet([], target.hubId), reportsUnheld ? 1 : 0]]),
    ].join('');
  });
}
