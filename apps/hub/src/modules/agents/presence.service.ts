import { MAX_HEARTBEAT_INTERVAL_MS, type AgentServerToClientEvents, type AgentStatusEvent } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import { createMemoryPresenceDirectory, type PresenceDirectory } from '../../infra/presence-directory.js';
import { isStorageFailure } from '../../infra/storage-health.js';
import type { AgentRecord, AgentsRepository } from './agents.repository.js';

/** The live connection of an agent, as presence needs it (transport-neutral). */
export interface AgentSession {
  sessionId: string;
  disconnect(): void;
  /** Sends an event to the agent on this connection. */
  send<E extends keyof AgentServerToClientEvents>(event: E, payload: Parameters<AgentServerToClientEvents[E]>[0]): void;
}

interface LiveAgent {
  agent: Pick<AgentRecord, 'seq' | 'id' | 'name'>;
  session: AgentSession;
  intervalMs: number;
  lastHeard: number;
  /** When this connection was made (rebalancing moves the newest first). */
  since: number;
}

/**
 * An agent asked to move to another hub (rebalancing): its connection here is closed, and it is
 * offline only if no hub holds it once its `deadline` passes, so a machine that moved never
 * flaps offline.
 */
interface MovingAgent {
  entry: LiveAgent;
  deadline: number;
}

const DEFAULT_INTERVAL_MS = 10_000;

/** The agent's default `--reconnect-max`: after a hub crash an agent may sleep this long before it tries again. */
export const AGENT_RECONNECT_CAP_MS = 60_000;
/** A draining hub asks its agents back between 2 s and 2 s + this, spread evenly (issue #12). */
export const DRAIN_SPREAD_MAX_MS = 20_000;
const DRAIN_FIRST_MS = 2_000;
/** Agents per second a restarted hub is asked to take at most when spreading returns. */
const DRAIN_RETURNS_PER_SECOND = 250;

/**
 * How long machines that were online get after a hub start before offline rules may fire: the
 * longest an agent can stay away without anything being wrong. After a crash that is its
 * reconnect backoff cap plus the connect itself; after a drain, the spread; and never less
 * than a silent connection gets (`missedHeartbeats` intervals). Operators who raise the agents'
 * `--reconnect-max` see docs/operations.md.
 */
export function restartGraceMs(missedHeartbeats: number): number {
  return Math.max(missedHeartbeats * DEFAULT_INTERVAL_MS, AGENT_RECONNECT_CAP_MS + 30_000, DRAIN_FIRST_MS + DRAIN_SPREAD_MAX_MS + 30_000);
}

/** The `hub:draining` retry-after of the `index`-th of `count` agents: spread evenly, oldest first. */
export function drainRetryAfterMs(index: number, count: number): number {
  const spread = Math.min(DRAIN_SPREAD_MAX_MS, Math.ceil((count / DRAIN_RETURNS_PER_SECOND) * 1000));
  return DRAIN_FIRST_MS + (count <= 1 ? 0 : Math.round((index / (count - 1)) * spread));
}
/** The interval an agent asks for, capped (#11): an agent cannot push its offline detection out by hours. */
const honouredInterval = (intervalMs: number): number => Math.min(intervalMs, MAX_HEARTBEAT_INTERVAL_MS);

/**
 * Who is online. Online on connect; offline at once on disconnect, or after `missedHeartbeats`
 * intervals of silence when a connection hangs without closing. Every change is stored and
 * published on the bus as `agent.status`.
 *
 * The connections themselves are this process's; which hub holds each agent is the
 * `directory`'s (issue #14): with several hubs an agent connected to another hub is online
 * here too, an agent that moved to another hub is not marked offline when its old connection
 * closes, and the agents of a hub that died go offline when its lease expires.
 */
export function createPresenceService({
  agents,
  bus,
  clock,
  logger,
  missedHeartbeats,
  directory = createMemoryPresenceDirectory('local'),
}: {
  agents: AgentsRepository;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  missedHeartbeats: number;
  directory?: PresenceDirectory;
}) {
  const live = new Map<string, LiveAgent>();
  /** Agents this hub asked to move (rebalancing), until another hub holds them or their deadline passes. */
  const moving = new Map<string, MovingAgent>();
  /** Agents asked to move that came back to this hub since the rebalancer last asked (`takeReturned`). */
  const returned = new Set<string>();
  let movingTimer: NodeJS.Timeout | undefined;
  const unsubscribers: Array<() => void> = [];
  let sweeper: NodeJS.Timeout | undefined;
  let persister: NodeJS.Timeout | undefined;
  /** Status changes the disk refused (full, read-only), stored again by the sweeper (issue #12). */
  const unsaved = new Map<number, { status: 'online' | 'offline'; lastSeen: number }>();

  /**
   * Status changes waiting for the next write, newest per agent. A reconnect storm changes
   * thousands at once: one statement stores all that came meanwhile (one commit on PostgreSQL,
   * where a commit per agent made the storm wait on the disk).
   */
  const statusQueue = new Map<number, { status: 'online' | 'offline'; lastSeen: number; waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> }>();
  let statusWriting = false;
  /** Set by stop(): the hub is closing, so connections arriving now are turned away unrecorded. */
  let stopping = false;
  /** Woken once the status writer has nothing left (stop() waits for it). */
  let statusDrained: Array<() => void> = [];

  /** Stores an agent's status; resolves once it is written (or kept for later when the disk refused). */
  function saveStatus(seq: number, status: 'online' | 'offline', lastSeen: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const queued = statusQueue.get(seq);
      if (queued) {
        queued.status = status;
        queued.lastSeen = lastSeen;
        queued.waiters.push({ resolve, reject });
      } else {
        statusQueue.set(seq, { status, lastSeen, waiters: [{ resolve, reject }] });
      }
      if (!statusWriting) {
        statusWriting = true;
        // After the current turn: the changes of one burst of connects go together.
        setImmediate(() => void writeStatuses());
      }
    });
  }

  async function writeStatuses(): Promise<void> {
    while (statusQueue.size > 0) {
      const batch = [...statusQueue];
      statusQueue.clear();
      let failure: unknown = null;
      try {
        await agents.setStatuses(batch.map(([seq, { status, lastSeen }]) => ({ seq, status, lastSeen })));
      } catch (error) {
        failure = error;
      }
      for (const [seq, { status, lastSeen, waiters }] of batch) {
        if (failure === null) unsaved.delete(seq);
        // The connection is real whatever the disk says: keep the agent online and store it later.
        else if (isStorageFailure(failure)) unsaved.set(seq, { status, lastSeen });
        for (const waiter of waiters) {
          if (failure === null || isStorageFailure(failure)) waiter.resolve();
          else waiter.reject(failure);
        }
      }
    }
    statusWriting = false;
    const drained = statusDrained;
    statusDrained = [];
    drained.forEach((wake) => wake());
  }

  /** Resolves once every queued status change is written (shutdown: before the database closes). */
  function statusesWritten(): Promise<void> {
    if (!statusWriting && statusQueue.size === 0) return Promise.resolve();
    return new Promise((resolve) => statusDrained.push(resolve));
  }

  async function changeStatus(entry: LiveAgent, status: 'online' | 'offline', reason: AgentStatusEvent['reason']): Promise<void> {
    const at = clock.now();
    const lastSeen = status === 'online' ? at : entry.lastHeard;
    await saveStatus(entry.agent.seq, status, lastSeen);
    logger.info({ agentId: entry.agent.id, name: entry.agent.name, status, reason }, 'agent presence changed');
    bus.publish('agent.status', { agentId: entry.agent.id, name: entry.agent.name, status, lastSeen, at, reason });
  }

  async function goOffline(agentId: string, reason: AgentStatusEvent['reason']): Promise<void> {
    const entry = live.get(agentId);
    if (!entry) return;
    live.delete(agentId);
    if (!(await directory.release(agentId, entry.session.sessionId))) {
      logger.info({ agentId, name: entry.agent.name, reason }, 'agent connection closed here; it is connected elsewhere, so it stays online');
      return;
    }
    await changeStatus(entry, 'offline', reason);
  }

  /** Agents the directory learned about (a dead hub's, or ours again after a lapsed lease). */
  async function statusFromDirectory(agentIds: string[], status: 'online' | 'offline'): Promise<void> {
    for (const agentId of agentIds) {
      const record = live.get(agentId)?.agent ?? (await agents.findById(agentId));
      if (!record) continue;
      const at = clock.now();
      const lastSeen = status === 'online' ? at : (directory.holderOf(agentId)?.lastHeard ?? at);
      await saveStatus(record.seq, status, lastSeen);
      logger.info({ agentId, name: record.name, status }, status === 'offline' ? 'agent offline: its hub stopped renewing its lease' : 'agent online again after this hub renewed its lease');
      bus.publish('agent.status', { agentId, name: record.name, status, lastSeen, at, reason: status === 'offline' ? 'heartbeat_missed' : 'connected' });
    }
  }

  const service = {
    async connected(agent: Pick<AgentRecord, 'seq' | 'id' | 'name' | 'heartbeatIntervalMs'>, session: AgentSession): Promise<void> {
      if (stopping) {
        // Arrived between the drain notice and the sockets closing (an agent whose retry came
        // early): not recorded online, as nothing would record it offline again; it reconnects
        // to another hub, or to this one when it is back.
        session.disconnect();
        return;
      }
      const previous = live.get(agent.id);
      const entry: LiveAgent = {
        agent: { seq: agent.seq, id: agent.id, name: agent.name },
        session,
        intervalMs: honouredInterval(agent.heartbeatIntervalMs ?? DEFAULT_INTERVAL_MS),
        lastHeard: clock.now(),
        since: clock.now(),
      };
      live.set(agent.id, entry);
      // Asked to move, it came back here (a load balancer may send it anywhere): online all along.
      if (moving.delete(agent.id)) returned.add(agent.id);
      if (previous && previous.session.sessionId !== session.sessionId) {
        logger.info({ agentId: agent.id }, 'agent reconnected; closing its previous connection');
        previous.session.disconnect();
      }
      await directory.hold(agent.id, { sessionId: session.sessionId, lastHeard: entry.lastHeard, intervalMs: entry.intervalMs });
      // The connection closed (or the hub began stopping, or a newer connection replaced it)
      // while the directory was written: whoever ended it stored the status that is true now,
      // and an online written after it would stay until another hub swept the machine.
      if (live.get(agent.id) !== entry) return;
      await changeStatus(entry, 'online', 'connected');
    },

    heard(agentId: string, intervalMs?: number): void {
      const entry = live.get(agentId);
      if (!entry) return;
      entry.lastHeard = clock.now();
      if (intervalMs !== undefined) entry.intervalMs = honouredInterval(intervalMs);
      directory.heard(agentId, entry.lastHeard, entry.intervalMs);
    },

    async disconnected(agentId: string, sessionId: string): Promise<void> {
      const entry = live.get(agentId);
      // A replaced connection closing late must not mark the new one offline.
      if (!entry || entry.session.sessionId !== sessionId) return;
      const move = moving.get(agentId);
      if (move?.entry === entry) {
        // Asked to move: handed over, not released. The directory keeps it under this hub until
        // the hub it reaches next holds it; offline only if none does by the deadline
        // (settleMoves), or when this hub dies meanwhile (its lease's expiry on the others).
        live.delete(agentId);
        directory.handOver(agentId, sessionId);
        return;
      }
      await goOffline(agentId, 'disconnected');
    },

    /**
     * Rebalancing (modules/agents/rebalance.ts): asks these agents, connected here, to reconnect
     * after `retryAfterMs(index)`, to `hubUrl(index)` when given (`hub:draining` with reason
     * `rebalance`, then the connection is closed). An agent that no hub holds `graceMs` after it was asked goes offline.
     * Returns how many were asked.
     */
    shed(agentIds: readonly string[], retryAfterMs: (index: number) => number, graceMs: number, hubUrl: (index: number) => string | undefined = () => undefined): number {
      let asked = 0;
      for (const agentId of agentIds) {
        const entry = live.get(agentId);
        if (!entry || moving.has(agentId)) continue;
        const wait = retryAfterMs(asked);
        const target = hubUrl(asked);
        moving.set(agentId, { entry, deadline: clock.now() + wait + graceMs });
        try {
          entry.session.send('hub:draining', { retryAfterMs: wait, reason: 'rebalance', ...(target ? { hubUrl: target } : {}) });
        } catch (error) {
          logger.debug({ err: error, agentId }, 'could not ask an agent to move; closing its connection all the same');
        }
        entry.session.disconnect();
        asked++;
      }
      if (asked > 0 && !movingTimer) {
        movingTimer = setInterval(() => void service.settleMoves().catch((error: unknown) => logger.error({ err: error }, 'settling moved agents failed')), 1_000);
        movingTimer.unref();
      }
      return asked;
    },

    /**
     * The agents asked to move that connected to this hub again instead (behind a load balancer
     * that has not yet seen the hub they were meant for), since the last call; the list is emptied.
     */
    takeReturned(): string[] {
      const agentIds = [...returned];
      returned.clear();
      return agentIds;
    },

    /** Agents asked to move that have not reached a hub yet (their connection here may still be closing). */
    movingCount(): number {
      return moving.size;
    },

    /**
     * Ends the moves whose deadline passed (or all of them, at stop): an agent some hub holds
     * (another, or this one again) stays online without a word; one that no hub holds is offline.
     */
    async settleMoves(all = false): Promise<void> {
      const now = clock.now();
      for (const [agentId, move] of [...moving]) {
        const holder = directory.holderOf(agentId);
        // Held by a newer connection (another hub's, or this one's again): it arrived.
        if (live.has(agentId) || (holder !== undefined && holder.sessionId !== move.entry.session.sessionId)) {
          moving.delete(agentId);
          continue;
        }
        if (!all && now < move.deadline) continue;
        moving.delete(agentId);
        logger.warn({ agentId, name: move.entry.agent.name }, 'an agent asked to move to another hub did not reach one; it is offline');
        await directory.release(agentId, move.entry.session.sessionId);
        await changeStatus(move.entry, 'offline', 'disconnected');
      }
      if (moving.size === 0 && movingTimer) {
        clearInterval(movingTimer);
        movingTimer = undefined;
      }
    },

    /** This hub's connected agents, newest connection first, with when each connected. */
    connections(): Array<{ agentId: string; since: number }> {
      return [...live.values()].map((entry) => ({ agentId: entry.agent.id, since: entry.since })).sort((a, b) => b.since - a.since);
    },

    /** Marks silent agents offline and drops their hung connections. */
    async sweep(): Promise<void> {
      const now = clock.now();
      // One retry per pass; while the disk stays full the first failure ends the pass.
      for (const [seq, { status, lastSeen }] of [...unsaved]) {
        await saveStatus(seq, status, lastSeen);
        if (unsaved.has(seq)) break;
      }
      // Every second over every connection: the silent ones are collected first (usually none),
      // not the whole map copied (10,000 entries a second was a third of a hub's idle garbage).
      const silent: Array<[string, LiveAgent]> = [];
      for (const [agentId, entry] of live) if (now - entry.lastHeard > missedHeartbeats * entry.intervalMs) silent.push([agentId, entry]);
      for (const [agentId, entry] of silent) {
        if (live.get(agentId) !== entry) continue;
        logger.warn({ agentId, silentMs: now - entry.lastHeard }, 'agent missed heartbeats; marking offline');
        await goOffline(agentId, 'heartbeat_missed');
        entry.session.disconnect();
      }
    },

    /** Forgets an agent that was removed, closing its connection. */
    kick(agentId: string): void {
      returned.delete(agentId);
      const move = moving.get(agentId);
      if (move) {
        // Removed while on its way to another hub: nothing to settle, and its entry goes now.
        moving.delete(agentId);
        if (!live.has(agentId)) {
          directory.release(agentId, move.entry.session.sessionId).catch((error: unknown) => logger.error({ err: error, agentId }, 'could not drop a removed agent from the presence directory'));
        }
      }
      const entry = live.get(agentId);
      if (!entry) return;
      live.delete(agentId);
      entry.session.disconnect();
      directory.release(agentId, entry.session.sessionId).catch((error: unknown) => logger.error({ err: error, agentId }, 'could not drop a removed agent from the presence directory'));
    },

    rename(agentId: string, name: string): void {
      const entry = live.get(agentId);
      if (entry) entry.agent.name = name;
    },

    /** The live connection of an agent, if it has one on this hub. */
    sessionOf(agentId: string): AgentSession | undefined {
      return live.get(agentId)?.session;
    },

    /** When a connected agent was last heard from, here or on the hub that holds it; undefined when it is offline. */
    lastHeard(agentId: string): number | undefined {
      return live.get(agentId)?.lastHeard ?? directory.holderOf(agentId)?.lastHeard;
    },

    /** The id of the agent's connection, here or on the hub that holds it; null while it is offline. */
    connectionOf(agentId: string): string | null {
      return live.get(agentId)?.session.sessionId ?? directory.holderOf(agentId)?.sessionId ?? null;
    },

    /** The hub holding the agent's connection (FAROL_HUB_ID); null while it is offline. */
    holderOf(agentId: string): string | null {
      if (live.has(agentId)) return directory.hubId;
      return directory.holderOf(agentId)?.hubId ?? null;
    },

    /**
     * At start, before any agent connects: agents stored as online that no hub holds are
     * offline. One hub: all of them (its own connections died with its previous process);
     * several: not those another live hub holds (a hub starting must not take them offline).
     */
    async reconcileAtStart(): Promise<number> {
      const elsewhere = await directory.heldElsewhere();
      if (elsewhere.size === 0) return agents.markAllOffline();
      return agents.markOfflineExcept(elsewhere);
    },

    /**
     * Stores `last_seen` of connected agents. Heartbeats update it in memory only; it is written
     * on every status change and by this periodic pass, so a crash loses at most one period.
     */
    async persistLastSeen(): Promise<void> {
      await agents.touchLastSeen([...live.values()].map((entry) => ({ seq: entry.agent.seq, lastSeen: entry.lastHeard })));
    },

    /** Connected to this hub or to another live one. */
    isOnline(agentId: string): boolean {
      return live.has(agentId) || directory.holderOf(agentId) !== undefined;
    },

    onlineCount(): number {
      return live.size;
    },

    /**
     * The directory's lease, mirror and dead-hub sweep (several hubs; nothing for one hub), and
     * what other hubs decide about agents connected here: a removal closes the connection, a
     * rename shows in its later status events.
     */
    async startDirectory(): Promise<void> {
      unsubscribers.push(
        bus.subscribe('agent.removed', ({ agentId }) => service.kick(agentId)),
        bus.subscribe('agent.updated', ({ agentId, name }) => service.rename(agentId, name)),
      );
      await directory.start({
        lost: (agentIds) => statusFromDirectory(agentIds.filter((agentId) => !live.has(agentId)), 'offline'),
        regained: (agentIds) => statusFromDirectory(agentIds.filter((agentId) => live.has(agentId)), 'online'),
      });
    },

    start(sweepEveryMs = 1_000, persistEveryMs = 60_000): void {
      sweeper = setInterval(() => {
        service.sweep().catch((error: unknown) => logger.error({ err: error }, 'presence sweep failed'));
      }, sweepEveryMs);
      sweeper.unref();
      persister = setInterval(() => {
        service.persistLastSeen().catch((error: unknown) => logger.error({ err: error }, 'storing last_seen failed'));
      }, persistEveryMs);
      persister.unref();
    },

    /**
     * Hub shutdown: every agent is told when to come back (`hub:draining`, spread so a restart
     * is not met by the whole fleet in one second), then becomes offline.
     */
    async stop(): Promise<void> {
      if (sweeper) clearInterval(sweeper);
      if (persister) clearInterval(persister);
      await service.settleMoves(true);
      const entries = [...live.values()];
      entries.forEach((entry, index) => {
        try {
          entry.session.send('hub:draining', { retryAfterMs: drainRetryAfterMs(index, entries.length), reason: 'shutdown' });
        } catch (error) {
          // A socket already closing: that agent just reconnects with its own backoff.
          logger.debug({ err: error, agentId: entry.agent.id }, 'could not tell an agent the hub is draining');
        }
      });
      stopping = true;
      // All at once: their status changes go to the database in one write, not one each.
      const results = await Promise.allSettled([...live.keys()].map((agentId) => goOffline(agentId, 'hub_shutdown')));
      const failed = results.filter((result) => result.status === 'rejected');
      if (failed.length > 0) logger.error({ err: failed[0]!.reason, agents: failed.length }, 'could not record agents as offline at shutdown');
      await statusesWritten();
      unsubscribers.forEach((unsubscribe) => unsubscribe());
      await directory.stop();
    },
  };
  return service;
}
export type PresenceService = ReturnType<typeof createPresenceService>;
