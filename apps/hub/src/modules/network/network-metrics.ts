import { Gauge, type Registry } from 'prom-client';
import type { NetworkService } from './network.service.js';

/**
 * `farol_agent_hub_rtt_seconds{agent_id, name}`: the newest hub ↔ agent round trip of each agent
 * connected to this hub, the labels of the other per-agent gauges. Each agent is held by one hub,
 * so with several hubs every machine appears once across them (as `farol_agent_up` does).
 */
export function registerNetworkMetrics(registry: Registry, network: Pick<NetworkService, 'heldRtts'>): void {
  new Gauge({
    name: 'farol_agent_hub_rtt_seconds',
    help: 'Newest round trip between this hub and the agent (Engine.IO ping to pong), seconds',
    labelNames: ['agent_id', 'name'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const rtt of network.heldRtts()) this.set({ agent_id: rtt.agentId, name: rtt.name }, rtt.ms / 1000);
    },
  });
}
