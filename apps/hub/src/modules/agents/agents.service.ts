import {
  FarolError,
  matchesLabels,
  parseLabelSelector,
  type Agent,
  type AgentListQuery,
  type AgentPatch,
  type HistoryValues,
} from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { TelemetryService } from '../telemetry/telemetry.service.js';
import type { AgentRecord, AgentsRepository } from './agents.repository.js';
import type { PresenceService } from './presence.service.js';

/** The operator's view of machines: list, look up, rename, relabel, remove. */
export function createAgentsService({
  agents,
  presence,
  telemetry,
  bus,
  clock,
  logger,
}: {
  agents: AgentsRepository;
  presence: PresenceService;
  telemetry: TelemetryService;
  bus: Bus;
  clock: Clock;
  logger: Logger;
}) {
  const toAgent = (record: AgentRecord): Agent => ({
    id: record.id,
    name: record.name,
    hostname: record.hostname,
    status: presence.isOnline(record.id) ? 'online' : 'offline',
    labels: record.labels,
    createdAt: record.createdAt,
    lastSeen: record.lastSeen,
    system: record.system,
    keyFingerprint: record.keyFingerprint,
    heartbeatIntervalMs: record.heartbeatIntervalMs,
    latest: telemetry.latest(record.id),
  });

  async function find(ref: string): Promise<AgentRecord> {
    const record = await agents.findByIdOrName(ref);
    if (!record) throw new FarolError('not_found', `no agent with id or name "${ref}"`);
    return record;
  }

  return {
    async list(query: AgentListQuery): Promise<Agent[]> {
      let terms;
      try {
        terms = query.label === undefined ? [] : parseLabelSelector(query.label);
      } catch (error) {
        throw new FarolError('validation_failed', (error as Error).message, { cause: error });
      }
      const records = await agents.list();
      return records
        .map(toAgent)
        .filter((a) => (query.status === undefined || a.status === query.status) && matchesLabels(a.labels, terms));
    },

    /** A light view of every agent for metrics: no samples are rebuilt. */
    async listSummaries(): Promise<Array<Pick<Agent, 'id' | 'name' | 'status' | 'lastSeen'> & { values: HistoryValues | null }>> {
      return (await agents.list()).map((record) => ({
        id: record.id,
        name: record.name,
        status: presence.isOnline(record.id) ? 'online' : 'offline',
        lastSeen: record.lastSeen,
        values: telemetry.latestValues(record.id),
      }));
    },

    async get(ref: string): Promise<Agent> {
      return toAgent(await find(ref));
    },

    /** Resolves an id or name to the stored record (for other modules' routes). */
    find,

    async update(ref: string, patch: AgentPatch): Promise<Agent> {
      const record = await find(ref);
      if (patch.name !== undefined && patch.name !== record.name && (await agents.nameTakenByOther(patch.name, record.id))) {
        throw new FarolError('name_taken', `another agent is already named "${patch.name}"`);
      }
      await agents.update(record.id, patch);
      if (patch.name !== undefined) presence.rename(record.id, patch.name);
      logger.info({ agentId: record.id, patch }, 'agent updated');
      return toAgent(await find(record.id));
    },

    async remove(ref: string): Promise<void> {
      const record = await find(ref);
      await agents.deleteAndRevoke(record, clock.now());
      presence.kick(record.id);
      telemetry.forget(record.id);
      logger.info({ agentId: record.id, name: record.name }, 'agent removed and its key revoked');
      bus.publish('agent.removed', { agentId: record.id });
    },
  };
}
export type AgentsService = ReturnType<typeof createAgentsService>;
