import { Gauge, type Registry } from 'prom-client';
import type { ContainerSample } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';

type Kept = Pick<ContainerSample, 'name' | 'state' | 'health' | 'restartCount' | 'watched'>;

/**
 * Per-container Prometheus gauges: `farol_container_up` (1 running, 0 otherwise, incl.
 * `missing`), `farol_container_healthy` (1 healthy, 0 unhealthy or starting; absent without a
 * health check) and `farol_container_restarts`. Fed by the newest sample of each agent as it
 * arrives (the bus), keeping only these few fields, so a scrape reads no database. After a
 * hub restart a machine's containers appear with its next heartbeat.
 */
export function registerContainerMetrics(registry: Registry, bus: Bus): () => void {
  const byAgent = new Map<string, Kept[]>();
  const unsubscribe = [
    bus.subscribe('metrics.sample', ({ agentId, sample }) => {
      if (!sample.containers) {
        byAgent.delete(agentId);
        return;
      }
      byAgent.set(
        agentId,
        sample.containers.map(({ name, state, health, restartCount, watched }) => ({ name, state, health, restartCount, watched })),
      );
    }),
    bus.subscribe('agent.removed', ({ agentId }) => void byAgent.delete(agentId)),
  ];
  const labelNames = ['agent_id', 'container', 'watched'] as const;
  const gauge = (name: string, help: string, value: (container: Kept) => number | null): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [agentId, containers] of byAgent) {
          for (const container of containers) {
            const v = value(container);
            if (v !== null) this.set({ agent_id: agentId, container: container.name, watched: container.watched ? 'true' : 'false' }, v);
          }
        }
      },
    });
  };
  gauge('farol_container_up', '1 when the container is running (0: stopped, restarting, missing ...)', (c) => (c.state === 'running' ? 1 : 0));
  gauge('farol_container_healthy', '1 healthy, 0 unhealthy or starting; absent without a health check', (c) => (c.health === 'none' ? null : c.health === 'healthy' ? 1 : 0));
  gauge('farol_container_restarts', 'Restarts by the container\'s restart policy', (c) => (c.state === 'missing' ? null : c.restartCount));
  return () => {
    for (const stop of unsubscribe) stop();
  };
}
