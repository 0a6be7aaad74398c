import {
  AgentContainersSchema,
  ContainerRolloutListSchema,
  ContainerUpdateRuleListSchema,
  ContainerUpdateRuleSchema,
  type AgentContainers,
  type ContainerRollout,
  type ContainerUpdateRule,
  type ContainerUpdateRuleCreate,
} from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/**
 * A machine's containers (issue #3). Acting on them (docker_restart, docker_logs ...) is a
 * command like any other: `FarolClient.runCommand`. Auto-update rules and rollouts (issue #18).
 * Throws FarolApiError on failure.
 */
export interface ContainersClient {
  /** The containers and Docker status from the machine's latest heartbeat. */
  listContainers(agentRef: string): Promise<AgentContainers>;
  listUpdateRules(): Promise<ContainerUpdateRule[]>;
  addUpdateRule(input: ContainerUpdateRuleCreate): Promise<ContainerUpdateRule>;
  removeUpdateRule(id: string): Promise<void>;
  listRollouts(): Promise<ContainerRollout[]>;
}

export function createContainersClient(options: FarolClientOptions): ContainersClient {
  const { request } = createTransport(options);
  return {
    listContainers: (agentRef) => request({ method: 'GET', path: `/api/agents/${segment(agentRef)}/containers`, schema: AgentContainersSchema }),
    listUpdateRules: async () => (await request({ method: 'GET', path: '/api/container-updates/rules', schema: ContainerUpdateRuleListSchema })).rules,
    addUpdateRule: (input) => request({ method: 'POST', path: '/api/container-updates/rules', body: input, schema: ContainerUpdateRuleSchema }),
    removeUpdateRule: (id) => request<void>({ method: 'DELETE', path: `/api/container-updates/rules/${segment(id)}` }),
    listRollouts: async () => (await request({ method: 'GET', path: '/api/container-updates/rollouts', schema: ContainerRolloutListSchema })).rollouts,
  };
}
