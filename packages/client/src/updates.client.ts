import { AgentBuildListSchema, RolloutSchema, type AgentBuild, type AgentUpdateRequest, type Rollout } from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/** Agent updates (issue #15). Every method throws FarolApiError on failure. */
export interface UpdatesClient {
  listAgentBuilds(): Promise<AgentBuild[]>;
  /** Starts a rollout in waves; needs `agents:update` and every machine in the caller's scope. */
  updateAgents(input: AgentUpdateRequest): Promise<Rollout>;
  getRollout(id: string): Promise<Rollout>;
}

export function createUpdatesClient(options: FarolClientOptions): UpdatesClient {
  const { request } = createTransport(options);
  return {
    listAgentBuilds: async () => (await request({ method: 'GET', path: '/api/agent-updates/builds', schema: AgentBuildListSchema })).builds,
    updateAgents: (input) => request({ method: 'POST', path: '/api/agent-updates', body: input, schema: RolloutSchema }),
    getRollout: (id) => request({ method: 'GET', path: `/api/agent-updates/${segment(id)}`, schema: RolloutSchema }),
  };
}
