import type { ContainerSample } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import { gaugeFamily, labelSet, type MetricsTextTarget } from '../../infra/metrics-text.js';

type Kept = Pick<ContainerSample, 'name' | 'state' | 'health' | 'restartCount' | 'watched' | 'availableDigest'>;

/**
 * Per-container Prometheus gauges: `farol_container_up` (1 running, 0 otherwise, incl.
 * `missing`), `farol_container_healthy` (1 healthy, 0 unhealthy or starting; absent without a
 * health check), `farol_container_restarts` and `farol_container_update_available` (issue #18). Fed by the newest sample of each agent as it
 * arrives (the bus), keeping only these few fields, so a scrape reads no database. After a
 * hub restart a machine's containers appear with its next heartbeat. Several hubs (issue #14):
 * only the machines connected to this hub (`heldHere`), so a machine that moved to another hub
 * is reported there alone. Rendered as text, a series per container (infra/metrics-text.ts).
 */
export function registerContainerMetrics(target: MetricsTextTarget, bus: Bus, heldHere: (agentId: string) => boolean = () => true): () => void {
  const byAgent = new Map<string, Kept[]>();
  const unsubscribe = [
    bus.subscribe('metrics.sample', ({ agentId, sample }) => {
      if (!sample.containers) {
        byAgent.delete(agentId);
        return;
      }
      byAgent.set(
        agentId,
        sample.containers.map(({ name, state, health, restartCount, watched, availableDigest }) => ({ name, state, health, restartCount, watched, availableDigest })),
      );
    }),
    bus.subscribe('agent.removed', ({ agentId }) => void byAgent.delete(agentId)),
  ];
  const families: Array<{ name: string; help: string; value: (container: Kept) => number | null }> = [];
  const gauge = (name: string, help: string, value: (container: Kept) => number | null): void => void families.push({ name, help, value });
  target.addTextSection(async () => {
    const held: Array<{ labels: string; container: Kept }> = [];
    for (const [agentId, containers] of byAgent) {
      if (!heldHere(agentId)) continue;
      for (const container of containers) held.push({ labels: labelSet([['agent_id', agentId], ['container', container.name], ['watched', container.watched ? 'true' : 'false']], target.hubId), container });
    }
    return families.map((family) => gaugeFamily(family.name, family.help, held.map(({ labels, container }) => [labels, family.value(container)] as const))).join('');
  });
  gauge('farol_container_up', '1 when the container is running (0: stopped, restarting, missing ...)', (c) => (c.state === 'running' ? 1 : 0));
  gauge('farol_container_healthy', '1 healthy, 0 unhealthy or starting; absent without a health check', (c) => (c.health === 'none' ? null : c.health === 'healthy' ? 1 : 0));
  // Issue #18: one series per reported container (the same set as the gauges above, at most
  // MAX_CONTAINERS_PER_SAMPLE per machine); absent until the agent checked the container's tag.
  gauge('farol_container_update_available', '1 when the registry holds a newer digest of the container\'s image tag; absent until checked', (c) =>
    c.availableDigest === undefined ? null : c.availableDigest === null ? 0 : 1,
  );
  gauge('farol_container_restarts', 'Restarts by the container\'s restart policy', (c) => (c.state === 'missing' ? null : c.restartCount));
  return () => {
    for (const stop of unsubscribe) stop();
  };
}
