import type { AgentContainers } from '@farol/protocol';
import type { AgentsService } from '../agents/agents.service.js';
import type { TelemetryService } from '../telemetry/telemetry.service.js';

/**
 * An agent's containers as its latest heartbeat reported them. The hub keeps no container
 * state of its own: the stored latest sample is the one source, so the table, the alerts and
 * the gauges agree.
 */
export function createContainersService({ agents, telemetry }: { agents: Pick<AgentsService, 'find'>; telemetry: Pick<TelemetryService, 'latestSamples'> }) {
  return {
    async forAgent(ref: string): Promise<AgentContainers> {
      const record = await agents.find(ref);
      const sample = (await telemetry.latestSamples([record.seq])).get(record.seq) ?? null;
      return {
        agentId: record.id,
        ts: sample?.ts ?? null,
        docker: sample?.docker ?? null,
        containers: sample?.containers ?? [],
      };
    },
  };
}
export type ContainersService = ReturnType<typeof createContainersService>;
