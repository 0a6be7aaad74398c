import type { AgentStatus, Labels, SystemInfo } from '@farol/protocol';

/** A machine (agent) as the hub knows it: the agents module's model, which its repository stores. */
export interface AgentRecord {
  seq: number;
  id: string;
  name: string;
  hostname: string;
  publicKey: string;
  keyFingerprint: string;
  labels: Labels;
  system: SystemInfo | null;
  heartbeatIntervalMs: number | null;
  status: AgentStatus;
  createdAt: number;
  lastSeen: number | null;
}

/**
 * What other modules may read about machines (issue #14's shape). They depend on this port, not
 * on the agents repository, so how machines are stored stays the agents module's business;
 * `main.ts` gives them the repository, which provides it.
 */
export interface MachineLookup {
  findById(id: string): Promise<AgentRecord | undefined>;
  /** By id, else by name (what the CLI and the API accept as a machine reference). */
  findByIdOrName(ref: string): Promise<AgentRecord | undefined>;
  list(status?: AgentStatus): Promise<AgentRecord[]>;
  /** The machine was removed (its key revoked): a connect with its id is refused for good. */
  wasDeleted(agentId: string): Promise<boolean>;
}
