import { gaugeFamily, labelSet, type MetricsTextTarget } from '../../infra/metrics-text.js';
import type { NetworkService } from './network.service.js';

/**
 * `farol_agent_hub_rtt_seconds{agent_id, name}`: the newest hub ↔ agent round trip of each agent
 * connected to this hub, the labels of the other per-agent gauges. Each agent is held by one hub,
 * so with several hubs every machine appears once across them (as `farol_agent_up` does).
 * Rendered as text, a series per machine (infra/metrics-text.ts).
 */
export function registerNetworkMetrics(target: MetricsTextTarget, network: Pick<NetworkService, 'heldRtts'>): void {
  target.addTextSection(async () =>
    gaugeFamily(
      'farol_agent_hub_rtt_seconds',
      'Newest round trip between this hub and the agent (Engine.IO ping to pong), seconds',
      network.heldRtts().map((rtt) => [labelSet([['agent_id', rtt.agentId], ['name', rtt.name]], target.hubId), rtt.ms / 1000] as const),
    ),
  );
}
