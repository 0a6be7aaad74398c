import { AgentContainersSchema, type AgentContainers } from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/**
 * A machine's containers (issue #3). Acting on them (docker_restart, docker_logs ...) is a
 * command like any other: `FarolClient.runCommand`. Throws FarolApiError on failure.
 */
export interface ContainersClient {
  /** The containers and Docker status from the machine's latest heartbeat. */
  listContainers(agentRef: string): Promise<AgentContainers>;
}

export function createContainersClient(options: FarolClientOptions): ContainersClient {
  const { request } = createTransport(options);
  return {
    listContainers: (agentRef) => request({ method: 'GET', path: `/api/agents/${segment(agentRef)}/containers`, schema: AgentContainersSchema }),
  };
}
