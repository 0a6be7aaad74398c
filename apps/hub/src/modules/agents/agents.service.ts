import {
  canonicalJson,
  countUpdatesAvailable,
  FarolError,
  isIdShaped,
  matchesLabels,
  parseLabelSelector,
  toHistoryValues,
  type Agent,
  type AgentListQuery,
  type AgentPatch,
  type AgentSummary,
  type HeartbeatSample,
  type HistoryValues,
  type Labels,
  type SystemInfo,
} from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { AuditInput, AuditService } from '../audit/audit.service.js';
import type { TelemetryService } from '../telemetry/telemetry.service.js';
import type { AgentRecord, AgentsRepository } from './agents.repository.js';
import type { PresenceService } from './presence.service.js';

export type { AgentRecord };

/** A machine as other modules name and scope it. */
export type AgentRef = Pick<AgentRecord, 'id' | 'name' | 'labels'>;

/** The operator's view of machines: list, look up, rename, relabel, remove. */
export function createAgentsService({
  agents,
  presence,
  telemetry,
  bus,
  clock,
  logger,
  audit,
}: {
  agents: AgentsRepository;
  presence: PresenceService;
  telemetry: TelemetryService;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /** Where renames, relabels and removals are recorded (main.ts always wires the audit log). */
  audit?: Pick<AuditService, 'record'>;
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
    hub: presence.holderOf(record.id),
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
    /**
     * What an agent said in its hello, stored; the machine as stored now (undefined: removed
     * meanwhile). For the agent link, which reaches machines only through this service.
     */
    recordHello(seq: number, system: SystemInfo, heartbeatIntervalMs: number): Promise<AgentRecord | undefined> {
      return agents.recordHello(seq, system, heartbeatIntervalMs);
    },

    /** A machine as stored, by id (undefined: no such machine). */
    findRecord(agentId: string): Promise<AgentRecord | undefined> {
      return agents.findById(agentId);
    },

    /** An agent's system information changed (`agent:info`). */
    setSystem(seq: number, system: SystemInfo): Promise<void> {
      return agents.setSystem(seq, system, null);
    },

    /** A machine's labels by id (undefined: no such machine), for scope checks outside this module. */
    async labelsOf(agentId: string): Promise<Labels | undefined> {
      return (await agents.findById(agentId))?.labels;
    },

    /** A machine's id, name and labels by id or name (undefined: no such machine), for other modules that target or scope by machine. */
    async lookup(ref: string): Promise<AgentRef | undefined> {
      const record = await agents.findByIdOrName(ref);
      return record && { id: record.id, name: record.name, labels: record.labels };
    },

    /** Every machine's id, name and labels; no presence or samples are read. */
    async directory(): Promise<AgentRef[]> {
      return (await agents.list()).map((record) => ({ id: record.id, name: record.name, labels: record.labels }));
    },

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
        const point = telemetry.latestPoint(record.id) ?? (sample ? { ts: sample.ts, values: toHistoryValues(sample), updatesAvailable: countUpdatesAvailable(sample.containers) } : null);
        const system = record.system;
        return {
          id: record.id,
          name: record.name,
          hostname: record.hostname,
          status: presence.isOnline(record.id) ? 'online' : 'offline',
          labels: record.labels,
          lastSeen: presence.lastHeard(record.id) ?? record.lastSeen,
          heartbeatIntervalMs: record.heartbeatIntervalMs,
          hub: presence.holderOf(record.id),
          os: system ? system.os : null,
          distro: system ? [system.distro, system.release].filter(Boolean).join(' ') || null : null,
          arch: system?.arch ?? null,
          cpuCores: system?.cpuCores ?? null,
          agentVersion: system?.agentVersion ?? null,
          sampleTs: point?.ts ?? null,
          cpu: point?.values.cpu ?? null,
          memory: point?.values.memory ?? null,
          disk: point?.values.disk ?? null,
          updatesAvailable: point?.updatesAvailable ?? null,
        };
      });
    },

    /** A light view of every agent for metrics: no samples are rebuilt. */
    async listSummaries(): Promise<Array<Pick<Agent, 'id' | 'name' | 'status' | 'lastSeen'> & { values: HistoryValues | null }>> {
      return (await agents.listBrief()).map((record) => ({
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

    /**
     * Renames or relabels. `allow` (issue #11: the caller's scope, object-scope.ts checkRelabel)
     * sees the labels before and after and throws to refuse.
     */
    async update(ref: string, patch: AgentPatch, allow?: (before: Labels, after: Labels) => void, actor = 'hub'): Promise<Agent> {
      const record = await find(ref);
      allow?.(record.labels, patch.labels ?? record.labels);
      if (patch.name !== undefined && patch.name !== record.name && (await agents.nameTakenByOther(patch.name, record.id))) {
        throw new FarolError('name_taken', `another agent is already named "${patch.name}"`);
      }
      await agents.update(record.id, patch);
      if (patch.name !== undefined) presence.rename(record.id, patch.name);
      logger.info({ agentId: record.id, patch }, 'agent updated');
      // Issue #11: renames and relabels are in the audit log, with what they were before.
      const changes: AuditInput[] = [];
      if (patch.name !== undefined && patch.name !== record.name) changes.push({ actor, action: 'agent.rename', agentId: record.id, details: { from: record.name, to: patch.name } });
      if (patch.labels !== undefined && canonicalJson(patch.labels) !== canonicalJson(record.labels)) {
        changes.push({ actor, action: 'agent.relabel', agentId: record.id, details: { name: patch.name ?? record.name, from: record.labels, to: patch.labels } });
      }
      if (changes.length > 0) await audit?.record(...changes);
      const updated = await getAgent(record.id);
      bus.publish('agent.updated', { agentId: updated.id, name: updated.name, labels: updated.labels, at: clock.now() });
      return updated;
    },

    /**
     * Issue #11: a name given before names could not look like ids (`ag_…`) is replaced once,
     * at start, by `machine`, `machine-2`, …; each rename is audited. Returns how many.
     */
    async renameIdShapedNames(): Promise<number> {
      let renamed = 0;
      for (const record of await agents.list()) {
        if (!isIdShaped(record.name)) continue;
        const taken = await agents.namesStartingWith('machine');
        let name = 'machine';
        for (let n = 2; taken.has(name); n++) name = `machine-${n}`;
        await agents.update(record.id, { name });
        presence.rename(record.id, name);
        await audit?.record({ actor: 'hub', action: 'agent.rename', agentId: record.id, details: { from: record.name, to: name, reason: 'names cannot look like ids' } });
        bus.publish('agent.updated', { agentId: record.id, name, labels: record.labels, at: clock.now() });
        logger.warn({ agentId: record.id, from: record.name, to: name }, 'renamed a machine whose name looked like an id');
        renamed++;
      }
      return renamed;
    },

    async remove(ref: string, actor = 'hub'): Promise<void> {
      const record = await find(ref);
      await agents.deleteAndRevoke(record, clock.now());
      await audit?.record({ actor, action: 'agent.delete', agentId: record.id, details: { name: record.name, labels: record.labels, keyFingerprint: record.keyFingerprint } });
      presence.kick(record.id);
      telemetry.forget(record.id);
      logger.info({ agentId: record.id, name: record.name }, 'agent removed and its key revoked');
      bus.publish('agent.removed', { agentId: record.id });
    },
  };
}
export type AgentsService = ReturnType<typeof createAgentsService>;
