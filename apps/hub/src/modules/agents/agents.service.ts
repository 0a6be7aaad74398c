import {
  FarolError,
  matchesLabels,
  parseLabelSelector,
  toHistoryValues,
  type Agent,
  type AgentListQuery,
  type AgentPatch,
  type AgentSummary,
  type HeartbeatSample,
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
  const toAgent = (record: AgentRecord, latest: HeartbeatSample | null): Agent => ({
    id: record.id,
    name: record.name,
    hostname: record.hostname,
    status: presence.isOnline(record.id) ? 'online' : 'offline',
    labels: record.labels,
    createdAt: record.createdAt,
    lastSeen: presence.lastHeard(record.id) ?? record.lastSeen,
    system: record.system,
    keyFingerprint: record.keyFingerprint,
    heartbeatIntervalMs: record.heartbeatIntervalMs,
    latest,
  });

  async function find(ref: string): Promise<AgentRecord> {
    const record = await agents.findByIdOrName(ref);
    if (!record) throw new FarolError('not_found', `no agent with id or name "${ref}"`);
    return record;
  }

  async function getAgent(ref: string): Promise<Agent> {
    const record = await find(ref);
    return toAgent(record, (await telemetry.latestSamples([record.seq])).get(record.seq) ?? null);
  }

  return {
    async list(query: AgentListQuery): Promise<Agent[]> {
      let terms;
      try {
        terms = query.label === undefined ? [] : parseLabelSelector(query.label);
      } catch (error) {
        throw new FarolError('validation_failed', (error as Error).message, { cause: error });
      }
      const [records, samples] = await Promise.all([agents.list(), telemetry.latestSamples()]);
      return records
        .map((record) => toAgent(record, samples.get(record.seq) ?? null))
        .filter((a) => (query.status === undefined || a.status === query.status) && matchesLabels(a.labels, terms));
    },

    /**
     * The fleet page's view (`view=summary`): no full samples are read or sent. The newest
     * figures come from memory; only machines not heard since the hub started are read from
     * their stored latest sample.
     */
    async listSummaryView(query: AgentListQuery): Promise<AgentSummary[]> {
      let terms;
      try {
        terms = query.label === undefined ? [] : parseLabelSelector(query.label);
      } catch (error) {
        throw new FarolError('validation_failed', (error as Error).message, { cause: error });
      }
      const records = (await agents.list()).filter((record) => {
        const status = presence.isOnline(record.id) ? 'online' : 'offline';
        return (query.status === undefined || status === query.status) && matchesLabels(record.labels, terms);
      });
      const missing = records.filter((record) => telemetry.latestPoint(record.id) === null).map((record) => record.seq);
      const stored = missing.length > 0 ? await telemetry.latestSamples(missing) : new Map<number, HeartbeatSample>();
      return records.map((record) => {
        const sample = stored.get(record.seq);
        const point = telemetry.latestPoint(record.id) ?? (sample ? { ts: sample.ts, values: toHistoryValues(sample) } : null);
        const system = record.system;
        return {
          id: record.id,
          name: record.name,
          hostname: record.hostname,
          status: presence.isOnline(record.id) ? 'online' : 'offline',
          labels: record.labels,
          lastSeen: presence.lastHeard(record.id) ?? record.lastSeen,
          heartbeatIntervalMs: record.heartbeatIntervalMs,
          os: system ? system.os : null,
          distro: system ? [system.distro, system.release].filter(Boolean).join(' ') || null : null,
          arch: system?.arch ?? null,
          cpuCores: system?.cpuCores ?? null,
          sampleTs: point?.ts ?? null,
          cpu: point?.values.cpu ?? null,
          memory: point?.values.memory ?? null,
          disk: point?.values.disk ?? null,
        };
      });
    },

    /** A light view of every agent for metrics: no samples are rebuilt. */
    async listSummaries(): Promise<Array<Pick<Agent, 'id' | 'name' | 'status' | 'lastSeen'> & { values: HistoryValues | null }>> {
      return (await agents.list()).map((record) => ({
        id: record.id,
        name: record.name,
        status: presence.isOnline(record.id) ? 'online' : 'offline',
        lastSeen: presence.lastHeard(record.id) ?? record.lastSeen,
        values: telemetry.latestValues(record.id),
      }));
    },

    get: getAgent,

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
      const updated = await getAgent(record.id);
      bus.publish('agent.updated', { agentId: updated.id, name: updated.name, labels: updated.labels, at: clock.now() });
      return updated;
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
