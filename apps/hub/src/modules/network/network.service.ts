import { performance } from 'node:perf_hooks';
import {
  DEFAULT_NETWORK_PING_COUNT,
  FarolError,
  type Labels,
  type NetworkLink,
  type NetworkMachine,
  type NetworkPingResult,
  type NetworkRttHistory,
  type NetworkStatus,
  type NetworkTopology,
  type NetworkWorseReason,
  type TailscaleReport,
} from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { AgentRecord, MachineLookup } from '../agents/machines.js';
import type { AuditService } from '../audit/audit.service.js';
import type { JobAccess, JobsService } from '../jobs/jobs.service.js';
import {
  BASELINE_WINDOW_MS,
  chooseAddress,
  groupMachines,
  lanSubnets,
  linkGotWorse,
  median,
  peerKey,
  plainAddress,
  publicAddress,
  RECENT_WINDOW_MS,
  rttGotWorse,
  tailnetOf,
  tailscaleIps,
  type MachineNetworkFacts,
} from './network-rules.js';
import type { NetworkRepository, RttMinute } from './network.repository.js';
import { yieldToEventLoop } from '../../infra/pause.js';

/** What the service needs of an Engine.IO connection: its heartbeat packets (every client answers them). */
export interface HeartbeatSource {
  on(event: 'packetCreate' | 'packet', listener: (packet: { type: string }) => void): unknown;
  off(event: 'packetCreate' | 'packet', listener: (packet: { type: string }) => void): unknown;
}

/** Who asks, for the one-machine job `network ping` creates. */
export type PingAccess = JobAccess;

export interface NetworkService {
  /**
   * An agent connected to this hub: its round trips are measured from the Engine.IO heartbeat
   * the hub already sends every 25 s (ping → pong), so every agent, including third-party
   * Socket.IO ones, is measured without a new message. Returns the function that stops it.
   */
  watchConnection(agent: { id: string; name: string }, connection: HeartbeatSource, remoteAddress: string | undefined): () => void;
  /** `tailscale:report` from an agent (validated by the gateway): stored with its direct links. */
  ingestTailscale(agentId: string, report: TailscaleReport): Promise<void>;
  /** Every machine the caller sees, with hub RTT and its links' state. */
  status(canSee: (labels: Labels) => boolean): Promise<NetworkStatus>;
  /** The same machines grouped by network, and the tailnet links between them. */
  topology(canSee: (labels: Labels) => boolean): Promise<NetworkTopology>;
  rttHistory(agentId: string, hours: number): Promise<NetworkRttHistory>;
  /** Resolves a machine by id or name (404 when unknown). */
  resolve(ref: string): Promise<AgentRecord>;
  /** Runs `network_ping` on `from` to `to`'s best address and waits for the figures. */
  ping(from: AgentRecord, to: AgentRecord, count: number | undefined, actor: string, access: PingAccess): Promise<NetworkPingResult>;
  /** The newest round trip of each agent connected to this hub (Prometheus). */
  heldRtts(): Array<{ agentId: string; name: string; ms: number }>;
  /** Writes the finished minutes now (the timer of `start` does it every `flushIntervalMs`). */
  flush(): Promise<void>;
  /**
   * Writes finished minutes every `flushIntervalMs`, prunes history once an hour (with the rows
   * of machines that no longer exist), and deletes a removed machine's rows at once.
   */
  start(): void;
  stop(): Promise<void>;
}

/** Minutes kept per minute (the 24 h baseline and two days of charts), hours kept per hour. */
const MINUTE_RETENTION_MS = 8 * 86_400_000;
const HOUR_RETENTION_MS = 90 * 86_400_000;
const PING_TTL_MS = 60_000;
const PING_WAIT_SLACK_MS = 5_000;
const WINDOWS_CACHE_MS = 10_000;
/** About 50 minutes of pings per agent (two numbers each). */
const MAX_HELD_SAMPLES = 120;
/** Machines whose round-trip minutes are stored per transaction. */
export const AGENTS_PER_RTT_WRITE = 1_000;

interface RttWindows {
  recent: Map<string, number[]>;
  baseline: Map<string, { p50s: number[]; minutes: number }>;
}

/**
 * Round trips held in memory as one flat array of numbers, `at` then `ms` for each sample: a
 * packed array of doubles, ~16 bytes a sample where an object per sample cost ~60 (issue #16).
 */
type Samples = number[];

/** Samples summed per minute: count, median, min, max, sum. */
function toMinutes(agentId: string, samples: Readonly<Samples>): RttMinute[] {
  const byMinute = new Map<number, number[]>();
  for (let i = 0; i < samples.length; i += 2) {
    const minute = Math.floor(samples[i]! / 60_000) * 60_000;
    const values = byMinute.get(minute);
    if (values) values.push(samples[i + 1]!);
    else byMinute.set(minute, [samples[i + 1]!]);
  }
  return [...byMinute].map(([ts, values]) => ({ agentId, ts, n: values.length, p50Ms: median(values)!, minMs: Math.min(...values), maxMs: Math.max(...values), sumMs: values.reduce((a, b) => a + b, 0) }));
}

/** The newest sample of held samples (two numbers each), or null when there is none. */
function newestOf(samples: Readonly<Samples>): { ms: number; at: number } | null {
  return samples.length === 0 ? null : { at: samples[samples.length - 2]!, ms: samples[samples.length - 1]! };
}

interface Held {
  name: string;
  samples: Samples;
  /** The newest round trip (NaN before the first), kept after its minute is written. */
  lastMs: number;
  lastAt: number;
  /** Connections of this agent here (a reconnect may overlap the old one for a moment). */
  connections: number;
}

/**
 * The network view (issue #19): hub ↔ agent round trips kept like metrics, each machine's
 * networks (tailnet, LAN subnets, public address), tailnet links from `tailscale status`, the
 * "got worse" flags, and `network ping` between two machines as a signed one-machine job.
 */
export function createNetworkService({
  repo,
  agents,
  jobs,
  audit,
  bus,
  clock,
  logger,
  flushIntervalMs = 60_000,
  monotonic = () => performance.now(),
}: {
  repo: NetworkRepository;
  agents: Pick<MachineLookup, 'list' | 'findByIdOrName'>;
  jobs: Pick<JobsService, 'create' | 'isConnected' | 'waitForFinal' | 'get'>;
  audit: Pick<AuditService, 'record'>;
  bus: Pick<Bus, 'subscribe'>;
  clock: Clock;
  logger: Logger;
  flushIntervalMs?: number;
  /** A clock for durations that never jumps (performance.now); injected so tests set round trips. */
  monotonic?: () => number;
}): NetworkService {
  const held = new Map<string, Held>();
  let flushTimer: NodeJS.Timeout | undefined;
  let lastPrune = 0;
  let flushing: Promise<void> | null = null;
  /** Writes of a disconnected agent's last samples, awaited before a removed machine's rows go. */
  const disconnectWrites = new Set<Promise<void>>();
  let unsubscribe: (() => void) | undefined;

  /** Addresses of agents that connected since the last write: one statement for a burst of connects. */
  const addressQueue = new Map<string, string | null>();
  let addressWrite: Promise<void> | null = null;
  function storeAddress(agentId: string, address: string | null): void {
    addressQueue.set(agentId, address);
    if (addressWrite) return;
    addressWrite = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      while (addressQueue.size > 0) {
        const rows = [...addressQueue].map(([id, value]) => ({ agentId: id, address: value }));
        addressQueue.clear();
        await repo.setRemoteAddresses(rows).catch((error: unknown) => logger.error({ err: error, agents: rows.length }, 'storing the agents\' addresses failed'));
      }
      addressWrite = null;
    });
  }

  function record(agentId: string, ms: number): void {
    const entry = held.get(agentId);
    if (!entry) return;
    const at = clock.now();
    const rounded = Math.round(ms * 1000) / 1000;
    entry.samples.push(at, rounded);
    // Flushed every minute; if the database stays away, memory stays bounded (oldest dropped).
    if (entry.samples.length > 2 * MAX_HELD_SAMPLES) entry.samples.splice(0, entry.samples.length - 2 * MAX_HELD_SAMPLES);
    entry.lastMs = rounded;
    entry.lastAt = at;
  }

  /**
   * The held round trips of machines that disconnected, stored together on the next turn of the
   * event loop: a hub's agents leaving at once (the hub stopping, a network blip, a rebalance)
   * make one write, not a transaction per machine.
   */
  let departed: { minutes: RttMinute[]; last: Map<string, { ms: number; at: number }> } | null = null;

  function storeDeparted(agentId: string, samples: Samples, newest: { ms: number; at: number }): void {
    if (!departed) {
      const batch = (departed = { minutes: [], last: new Map() });
      const write = yieldToEventLoop()
        .then(() => {
          if (departed === batch) departed = null;
          return repo.addRttMinutes(batch.minutes, batch.last);
        })
        .catch((error: unknown) => logger.error({ err: error, agents: batch.last.size }, 'storing the round trips of disconnected agents failed'))
        .finally(() => disconnectWrites.delete(write));
      disconnectWrites.add(write);
    }
    departed.minutes.push(...toMinutes(agentId, samples));
    departed.last.set(agentId, newest);
    // As the minute flush: at most so many machines per transaction, heartbeats in between.
    if (departed.last.size >= AGENTS_PER_RTT_WRITE) departed = null;
  }

  /** Finished minutes out of memory into the database (the current minute stays to fill up). */
  async function flush(all = false): Promise<void> {
    const currentMinute = Math.floor(clock.now() / 60_000) * 60_000;
    let minutes: RttMinute[] = [];
    let last = new Map<string, { ms: number; at: number }>();
    // One transaction per 1,000 machines, each group gathered and stored before the next, heartbeats in
    // between: 10,000 machines in one step held the event loop for 0.1-0.2 s a minute (#16).
    const store = async (): Promise<void> => {
      const group = { minutes, last };
      minutes = [];
      last = new Map();
      await repo.addRttMinutes(group.minutes, group.last);
      await yieldToEventLoop();
    };
    for (const [agentId, entry] of held) {
      const done: Samples = [];
      const kept: Samples = [];
      for (let i = 0; i < entry.samples.length; i += 2) (all || entry.samples[i]! < currentMinute ? done : kept).push(entry.samples[i]!, entry.samples[i + 1]!);
      if (done.length === 0) continue;
      entry.samples = kept;
      minutes.push(...toMinutes(agentId, done));
      last.set(agentId, newestOf(done)!);
      if (last.size === AGENTS_PER_RTT_WRITE) await store();
    }
    if (last.size > 0 || minutes.length > 0) await store();
    const now = clock.now();
    if (now - lastPrune >= 3_600_000) {
      lastPrune = now;
      await repo.prune(now - MINUTE_RETENTION_MS, now - HOUR_RETENTION_MS);
      await sweepRemoved();
    }
  }

  /**
   * Rows of machines that no longer exist: normally deleted on `agent.removed`, this catches a
   * hub that was down then, or a last write that landed after the delete. The stored ids are
   * read before the machines, so a machine enrolled in between is never taken for a removed one.
   */
  async function sweepRemoved(): Promise<void> {
    const stored = await repo.agentIds();
    if (stored.length === 0) return;
    const existing = new Set((await agents.list()).map((record) => record.id));
    for (const agentId of stored) {
      if (existing.has(agentId) || held.has(agentId)) continue;
      await repo.deleteAgent(agentId);
      logger.info({ agentId }, 'deleted the network rows of a machine that no longer exists');
    }
  }

  /** A machine was removed: forget it here and delete its rows once no write of its is in flight. */
  async function forgetAgent(agentId: string): Promise<void> {
    held.delete(agentId);
    addressQueue.delete(agentId);
    await flushing;
    await Promise.allSettled([...disconnectWrites]);
    if (addressWrite) await addressWrite;
    await repo.deleteAgent(agentId);
  }

  function runFlush(all = false): Promise<void> {
    flushing ??= flush(all)
      .catch((error: unknown) => logger.error({ err: error }, 'storing hub round-trip times failed; the figures of the minutes it held are lost'))
      .finally(() => {
        flushing = null;
      });
    return flushing;
  }

  async function factsOf(): Promise<{ records: AgentRecord[]; facts: Map<string, MachineNetworkFacts>; rows: Awaited<ReturnType<NetworkRepository['agents']>> }> {
    const [records, rows] = await Promise.all([agents.list(), repo.agents()]);
    const byAgent = new Map(rows.map((row) => [row.agentId, row]));
    const facts = new Map<string, MachineNetworkFacts>();
    for (const record of records) {
      const row = byAgent.get(record.id);
      facts.set(record.id, { agentId: record.id, ips: record.system?.ips ?? [], remoteAddress: row?.remoteAddress ?? null, tailscale: row?.tailscale ?? null });
    }
    return { records, facts, rows };
  }

  let windows: { at: number; value: Promise<RttWindows> } | null = null;
  /**
   * The last 15 minutes per minute, and the 24 hours before per hour (whole hours before the
   * recent window): about 40 rows a machine, not 1,455. Shared for 10 s by every page polling.
   */
  function rttWindows(now: number): Promise<RttWindows> {
    if (windows && now - windows.at < WINDOWS_CACHE_MS) return windows.value;
    const recentSince = now - RECENT_WINDOW_MS;
    const lastWholeHour = Math.floor(recentSince / 3_600_000) * 3_600_000;
    const value = Promise.all([repo.minuteP50s(recentSince), repo.hourP50s(lastWholeHour - BASELINE_WINDOW_MS, lastWholeHour)]).then(([minutes, hours]) => {
      const recent = new Map<string, number[]>();
      for (const m of minutes) recent.set(m.agentId, [...(recent.get(m.agentId) ?? []), m.p50Ms]);
      const baseline = new Map<string, { p50s: number[]; minutes: number }>();
      for (const h of hours) {
        const entry = baseline.get(h.agentId) ?? { p50s: [], minutes: 0 };
        entry.p50s.push(h.p50Ms);
        entry.minutes += h.minutes;
        baseline.set(h.agentId, entry);
      }
      return { recent, baseline };
    });
    windows = { at: now, value };
    value.catch(() => (windows = null));
    return value;
  }

  async function overview(canSee: (labels: Labels) => boolean): Promise<{ machines: NetworkMachine[]; links: NetworkLink[]; visibleFacts: MachineNetworkFacts[] }> {
    const now = clock.now();
    const { records, facts, rows } = await factsOf();
    const visible = records.filter((r) => canSee(r.labels));
    const visibleIds = new Set(visible.map((r) => r.id));
    const visibleFacts = visible.map((r) => facts.get(r.id)!);
    const rowOf = new Map(rows.map((row) => [row.agentId, row]));
    const [{ recent, baseline }, peerLinks] = await Promise.all([rttWindows(now), repo.peerLinks()]);
    const lastDirect = new Map(peerLinks.map((l) => [`${l.agentId}\n${l.peerKey}`, l.lastDirectAt]));
    // Which Farol machine owns a tailnet address (every machine: a link to one out of scope is hidden, not misnamed).
    const ownerOf = new Map<string, string>();
    for (const f of facts.values()) for (const ip of tailscaleIps(f)) ownerOf.set(ip, f.agentId);

    const links: NetworkLink[] = [];
    for (const record of visible) {
      const report = facts.get(record.id)!.tailscale;
      const at = rowOf.get(record.id)?.tailscaleAt ?? now;
      for (const peer of report?.peers ?? []) {
        const to = peer.tailscaleIps.map((ip) => ownerOf.get(ip)).find((id) => id !== undefined) ?? null;
        if (to !== null && !visibleIds.has(to)) continue;
        const direct = peer.curAddr !== '';
        const lastDirectAt = lastDirect.get(`${record.id}\n${peerKey(peer)}`) ?? null;
        links.push({
          from: record.id,
          to,
          peerName: peer.hostName || peer.dnsName,
          peerIps: peer.tailscaleIps,
          online: peer.online,
          direct,
          relay: peer.relay || null,
          curAddr: peer.curAddr || null,
          latencyMs: peer.latencyMs,
          lastDirectAt,
          worse: linkGotWorse({ direct, online: peer.online }, lastDirectAt, now),
          updatedAt: at,
        });
      }
    }

    const machines: NetworkMachine[] = visible.map((record) => {
      const f = facts.get(record.id)!;
      const row = rowOf.get(record.id);
      const entry = held.get(record.id);
      const mine = entry && !Number.isNaN(entry.lastAt) ? { ms: entry.lastMs, at: entry.lastAt } : null;
      const last = mine ?? (row?.rttLastMs != null && row.rttLastAt != null ? { ms: row.rttLastMs, at: row.rttLastAt } : null);
      const base = baseline.get(record.id);
      const rtt = rttGotWorse(recent.get(record.id) ?? [], base?.p50s ?? [], base?.minutes ?? 0);
      const own = links.filter((l) => l.from === record.id);
      const reasons: NetworkWorseReason[] = [];
      if (rtt.worse) reasons.push({ code: 'hub_rtt_up', recentP50Ms: rtt.recentP50!, baselineP50Ms: rtt.baselineP50! });
      for (const l of own.filter((link) => link.worse)) reasons.push({ code: 'link_relayed', peerName: l.peerName, relay: l.relay });
      return {
        agentId: record.id,
        name: record.name,
        status: record.status === 'online' ? 'online' : 'offline',
        labels: record.labels,
        hubRtt: { lastMs: last?.ms ?? null, lastAt: last?.at ?? null, recentP50Ms: rtt.recentP50, baselineP50Ms: rtt.baselineP50 },
        tailnet: tailnetOf(f, visibleFacts),
        tailscaleIps: tailscaleIps(f),
        lanSubnets: lanSubnets(f.ips),
        publicAddress: publicAddress(f),
        directLinks: own.filter((l) => l.online && l.direct).length,
        relayedLinks: own.filter((l) => l.online && !l.direct).length,
        worse: reasons.length > 0,
        reasons,
      };
    });
    machines.sort((a, b) => a.name.localeCompare(b.name));
    return { machines, links, visibleFacts };
  }

  const service: NetworkService = {
    watchConnection(agent, connection, remoteAddress) {
      const entry = held.get(agent.id) ?? { name: agent.name, samples: [], lastMs: Number.NaN, lastAt: Number.NaN, connections: 0 };
      entry.connections += 1;
      entry.name = agent.name;
      held.set(agent.id, entry);
      if (remoteAddress) storeAddress(agent.id, plainAddress(remoteAddress));
      // A monotonic clock: a duration must not jump with the wall clock.
      let pingAt: number | null = null;
      const onCreate = (packet: { type: string }): void => {
        if (packet.type === 'ping') pingAt = monotonic();
      };
      const onPacket = (packet: { type: string }): void => {
        if (packet.type !== 'pong' || pingAt === null) return;
        record(agent.id, monotonic() - pingAt);
        pingAt = null;
      };
      connection.on('packetCreate', onCreate);
      connection.on('packet', onPacket);
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        connection.off('packetCreate', onCreate);
        connection.off('packet', onPacket);
        const current = held.get(agent.id);
        if (!current) return;
        current.connections -= 1;
        if (current.connections > 0) return;
        // Its samples still go to the database with the next flush; then it is forgotten.
        const pending = current.samples;
        held.delete(agent.id);
        const newest = newestOf(pending);
        if (newest) storeDeparted(agent.id, pending, newest);
      };
    },

    async ingestTailscale(agentId, report) {
      const keys = report.peers.map(peerKey);
      const direct = report.peers.filter((peer) => peer.curAddr !== '').map(peerKey);
      await repo.setTailscale(agentId, report, clock.now(), direct, [...new Set(keys)]);
    },

    async status(canSee) {
      const { machines } = await overview(canSee);
      return { machines, generatedAt: clock.now() };
    },

    async topology(canSee) {
      const { machines, links, visibleFacts } = await overview(canSee);
      return { groups: groupMachines(visibleFacts), links, machines, generatedAt: clock.now() };
    },

    async rttHistory(agentId, hours) {
      const resolution = hours <= 48 ? '1m' : '1h';
      const points = await repo.rttHistory(agentId, clock.now() - hours * 3_600_000, resolution);
      // The minutes this hub holds but has not written yet (up to a minute and a half) are
      // added, so a chart shows the newest heartbeat, not the one before the last flush.
      const pending = held.get(agentId)?.samples ?? [];
      if (pending.length === 0) return { agentId, resolution, points };
      const bucketMs = resolution === '1m' ? 60_000 : 3_600_000;
      const buckets = new Map<number, { p50s: number[]; minMs: number; maxMs: number; n: number }>();
      for (const minute of toMinutes(agentId, pending)) {
        const ts = Math.floor(minute.ts / bucketMs) * bucketMs;
        const bucket = buckets.get(ts);
        if (!bucket) buckets.set(ts, { p50s: [minute.p50Ms], minMs: minute.minMs, maxMs: minute.maxMs, n: minute.n });
        else Object.assign(bucket, { p50s: [...bucket.p50s, minute.p50Ms], minMs: Math.min(bucket.minMs, minute.minMs), maxMs: Math.max(bucket.maxMs, minute.maxMs), n: bucket.n + minute.n });
      }
      const merged = new Map(points.map((point) => [point.ts, point]));
      for (const [ts, bucket] of buckets) {
        // An hour's p50 is the mean of its minutes' medians, as stored.
        const p50Ms = bucket.p50s.reduce((a, b) => a + b, 0) / bucket.p50s.length;
        const other = merged.get(ts);
        // A stored row for the same bucket: minutes written before (or by another hub, the agent
        // moved). Its medians are weighted by samples: about two a minute on either side.
        merged.set(
          ts,
          other
            ? { ts, p50Ms: other.p50Ms === null ? p50Ms : (other.p50Ms * other.n + p50Ms * bucket.n) / (other.n + bucket.n), minMs: Math.min(other.minMs, bucket.minMs), maxMs: Math.max(other.maxMs, bucket.maxMs), n: other.n + bucket.n }
            : { ts, p50Ms, minMs: bucket.minMs, maxMs: bucket.maxMs, n: bucket.n },
        );
      }
      return { agentId, resolution, points: [...merged.values()].sort((a, b) => a.ts - b.ts) };
    },

    async resolve(ref) {
      const record = await agents.findByIdOrName(ref);
      if (!record) throw new FarolError('not_found', `no machine "${ref}"`);
      return record;
    },

    async ping(from, to, count, actor, access) {
      if (from.id === to.id) throw new FarolError('bad_request', 'pick two different machines: network ping measures from one to another');
      const { facts } = await factsOf();
      const choice = chooseAddress(facts.get(from.id)!, facts.get(to.id)!, [...facts.values()]);
      if (!choice) {
        throw new FarolError('conflict', `no address of ${to.name} that ${from.name} could reach is known (no shared tailnet, no shared LAN subnet, no public address); is ${to.name} online with a recent agent?`);
      }
      if (!jobs.isConnected(from.id)) throw new FarolError('agent_offline', `${from.name} is not connected; network ping runs on it`);
      const pings = count ?? DEFAULT_NETWORK_PING_COUNT;
      const timeoutMs = (pings + 5) * 1_000;
      const job = await jobs.create({ command: { kind: 'network_ping', host: choice.address, count: pings }, targets: { agents: [from.id] }, ttlMs: PING_TTL_MS, timeoutMs }, actor, access);
      const commandId = job.targets[0]!.commandId;
      await jobs.waitForFinal(commandId, timeoutMs + PING_WAIT_SLACK_MS);
      const target = (await jobs.get(job.id)).targets[0]!;
      const data = target.data?.kind === 'network_ping' ? target.data : null;
      const result: NetworkPingResult = {
        from: { agentId: from.id, name: from.name },
        to: { agentId: to.id, name: to.name },
        address: choice.address,
        addressKind: choice.kind,
        jobId: job.id,
        state: target.state,
        sent: data?.sent ?? pings,
        received: data?.received ?? 0,
        rttMinMs: data?.rttMinMs ?? null,
        rttAvgMs: data?.rttAvgMs ?? null,
        rttMaxMs: data?.rttMaxMs ?? null,
        error: target.error,
      };
      await audit.record({
        actor,
        action: 'network.ping',
        agentId: from.id,
        jobId: job.id,
        details: { from: from.name, to: to.name, toAgentId: to.id, address: choice.address, addressKind: choice.kind, state: target.state, received: result.received, rttAvgMs: result.rttAvgMs },
      });
      return result;
    },

    heldRtts() {
      const out: Array<{ agentId: string; name: string; ms: number }> = [];
      for (const [agentId, entry] of held) if (!Number.isNaN(entry.lastAt)) out.push({ agentId, name: entry.name, ms: entry.lastMs });
      return out;
    },

    flush: () => runFlush(),

    start() {
      flushTimer = setInterval(() => void runFlush(), flushIntervalMs);
      flushTimer.unref();
      unsubscribe = bus.subscribe('agent.removed', ({ agentId }) => {
        forgetAgent(agentId).catch((error: unknown) => logger.error({ err: error, agentId }, 'deleting the network rows of a removed machine failed; the hourly sweep tries again'));
      });
    },

    async stop() {
      clearInterval(flushTimer);
      unsubscribe?.();
      await flushing;
      await runFlush(true);
      await Promise.allSettled([...disconnectWrites]);
    },
  };
  return service;
}
