import {
  CheckInputSchema,
  FarolError,
  matchesLabels,
  parseLabelSelector,
  toFieldIssues,
  type AgentServerToClientEvents,
  type Check,
  type CheckAssignment,
  type CheckHistory,
  type CheckInput,
  type CheckLocationState,
  type CheckProbe,
  type CheckResult,
  type CheckResultReport,
  type CheckResultsAck,
  type CheckRunOn,
  type CheckRunResponse,
  type CheckRunResult,
  type CheckSeries,
  type CheckSeriesQuery,
  type CheckSpec,
  type CheckStatus,
  type Labels,
  type Uptime,
} from '@farol/protocol';
import { createCheckScheduler, runProbe as defaultRunProbe } from '@farol/probes';
import { createCheckDestinationGuard } from './check-destinations.js';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { AuditService } from '../audit/audit.service.js';
import type { CheckRecord, ChecksRepository, CheckTier, ResultRecord } from './checks.repository.js';
import type { Db } from '../../infra/database.js';
import { yieldToEventLoop } from '../../infra/pause.js';

/** The location of checks the hub runs itself. */
export const HUB_LOCATION = 'hub';
const DAY_MS = 86_400_000;
/** A location counts for "down from N of M" while its newest result is this many intervals old at most. */
const FRESH_INTERVALS = 3;
/** Results stamped further ahead of the hub clock are refused (a wrong clock on the machine). */
const MAX_FUTURE_SKEW_MS = 120_000;
const HOUR_MS = 3_600_000;
/** Results rolled up per transaction (seq range): small transactions keep SQLite's event loop moving. */
const ROLLUP_CHUNK = 5_000;
/** How often a hub reads back the newest results other hubs stored, and how far it looks back (commits land out of order, clocks differ a little). */
const FOLLOW_EVERY_MS = 2_000;
const FOLLOW_OVERLAP_MS = 2_000;
const FOLLOW_BATCH = 10_000;

/** How long each tier of check history is kept (the metrics' FAROL_RETENTION_* settings). */
export interface ChecksRetention {
  /** Raw runs (FAROL_RETENTION_RAW). */
  rawMs: number;
  /** 1-minute rollups (FAROL_RETENTION_1M, at least the raw retention). */
  minuteMs: number;
  /** 1-hour rollups behind uptime and status pages (FAROL_RETENTION_1H, at least 31 days). */
  hourMs: number;
}

/**
 * The tier a chart reads, as for metrics: every run up to 3 h, 1-minute rollups up to 2 days,
 * hourly beyond (7 d and 30 d charts read at most 720 points per location).
 */
export function pickCheckTier(from: number, to: number, now: number, retention: ChecksRetention): CheckTier {
  const span = to - from;
  if (span <= 3 * HOUR_MS && from >= now - retention.rawMs) return 'raw';
  if (span <= 2 * DAY_MS && from >= now - retention.minuteMs) return '1m';
  return '1h';
}

export interface AgentFacts {
  id: string;
  name: string;
  labels: Labels;
}

type Send = <E extends keyof AgentServerToClientEvents>(agentId: string, event: E, payload: Parameters<AgentServerToClientEvents[E]>[0]) => boolean;

const NO_CHECKS: ReadonlySet<string> = new Set();

const STATUS_RANK: Record<CheckStatus, number> = { ok: 0, unknown: 1, warning: 2, critical: 3 };

function covers(runOn: CheckRunOn, agent: AgentFacts): boolean {
  if ('hub' in runOn) return false;
  if ('agents' in runOn) return runOn.agents.includes(agent.id) || runOn.agents.includes(agent.name);
  return matchesLabels(agent.labels, parseLabelSelector(runOn.selector));
}

function toAssignment(check: CheckRecord): CheckAssignment {
  return { id: check.id, name: check.name, probe: check.probe, intervalMs: check.intervalMs, timeoutMs: check.timeoutMs };
}

function percent(up: number, down: number): number | null {
  return up + down === 0 ? null : Math.round((up / (up + down)) * 100_000) / 1000;
}

/**
 * Service checks (issue #19): definitions, who runs what (the hub itself, named machines, a
 * selector), results from agents and from the hub's own runs, history and uptime. Agents get
 * their complete list with `checks:assign` after every hello and whenever it changes (any hub
 * hears of a change through the bus). Every stored result updates the check's state, which the
 * alerts engine reads from the bus (`check.state`).
 */

/** Where the hub's own check runs may connect (check-destinations.ts). */
const hubDestinations = createCheckDestinationGuard();
export function createChecksService({
  repo,
  agents,
  send,
  bus,
  clock,
  logger,
  audit,
  retention,
  runProbe = (probe: CheckProbe, timeoutMs: number) =>
    defaultRunProbe(probe, timeoutMs, { allowCommand: false, refusal: 'command checks never run on the hub', pinHost: hubDestinations }),
  timers = true,
  rollupEveryMs = 60_000,
  fence,
  followStored = false,
}: {
  repo: ChecksRepository;
  agents: { list(): Promise<AgentFacts[]>; findByIdOrName(ref: string): Promise<AgentFacts | undefined> };
  /** Sends an event to a connected agent; false when it is not connected to this hub. */
  send: Send;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  audit: Pick<AuditService, 'record'>;
  retention: ChecksRetention;
  /** How the hub runs its own checks (tests replace it). */
  runProbe?: (probe: CheckProbe, timeoutMs: number) => Promise<CheckRunResult>;
  /** false: no hub scheduler, rollup timer or follower (tests drive them). */
  timers?: boolean;
  /** How often the leader rolls results up and applies retention (FAROL_ROLLUP_INTERVAL). */
  rollupEveryMs?: number;
  /** Several hubs: a rollup commits only while this hub's term holds the leader lease. */
  fence?: (trx: Db) => Promise<void>;
  /** Several hubs: read back what the other hubs stored in `check_latest`, so every hub (and the leader's alerts engine) sees every location. */
  followStored?: boolean;
}) {
  const checks = new Map<string, CheckRecord>();
  /** checkId → location → newest state. */
  const latest = new Map<string, Map<string, Omit<CheckLocationState, 'location'> & { location: string }>>();
  /** What each agent connected to this hub was last told to run. */
  const assigned = new Map<string, ReadonlySet<string>>();
  /** Machine names by id, for the locations of alerts (kept current from results and renames). */
  const agentNames = new Map<string, string>();
  const unsubscribers: Array<() => void> = [];
  let rollupTimer: NodeJS.Timeout | undefined;
  let rollupRunning: Promise<void> | undefined;
  let followTimer: NodeJS.Timeout | undefined;
  let following: Promise<void> | undefined;
  let followCursor = 0;
  let stopped = false;
  let writing: Promise<void> = Promise.resolve();
  /** Whether this hub runs the hub-located checks and the retention pass (several hubs: the leader only, issue #14). */
  let runsHubDuties = false;

  function assignHubChecks(): void {
    if (!timers) return;
    hubScheduler.assign(runsHubDuties ? [...checks.values()].filter((c) => c.enabled && 'hub' in c.runOn).map(toAssignment) : []);
  }

  const hubScheduler = createCheckScheduler({
    run: (check) => runProbe(check.probe, check.timeoutMs),
    onResult: (check, result, ts) => {
      writing = writing
        .then(() => store([{ ...result, checkId: check.id, location: HUB_LOCATION, agentId: null, ts }]))
        .catch((error: unknown) => logger.error({ err: error, checkId: check.id }, 'storing a hub check result failed'));
    },
    now: () => clock.now(),
  });

  function find(ref: string): CheckRecord {
    const byId = checks.get(ref);
    if (byId) return byId;
    for (const check of checks.values()) if (check.name === ref) return check;
    throw new FarolError('not_found', `no check "${ref}"`);
  }

  async function reload(): Promise<void> {
    const list = await repo.list();
    checks.clear();
    for (const check of list) checks.set(check.id, check);
    assignHubChecks();
  }

  function assignmentsFor(agent: AgentFacts): CheckAssignment[] {
    const list: CheckAssignment[] = [];
    for (const check of checks.values()) if (check.enabled && covers(check.runOn, agent)) list.push(toAssignment(check));
    return list;
  }

  function tell(agent: AgentFacts): void {
    const list = assignmentsFor(agent);
    // Most machines run no check: they share one empty set (10,000 of them held 1.5 MiB of empty sets, #16).
    if (send(agent.id, 'checks:assign', { checks: list })) assigned.set(agent.id, list.length === 0 ? NO_CHECKS : new Set(list.map((c) => c.id)));
    else assigned.delete(agent.id);
  }

  /** Re-sends every connected agent its list (after any change to the checks). */
  async function tellEveryone(): Promise<void> {
    for (const agent of await agents.list()) {
      if (assigned.has(agent.id) || assignmentsFor(agent).length > 0) tell(agent);
    }
  }

  function stateOf(checkId: string, now: number): CheckLocationState[] {
    const check = checks.get(checkId);
    const byLocation = latest.get(checkId);
    if (!check || !byLocation) return [];
    const freshAfter = now - Math.max(FRESH_INTERVALS * check.intervalMs, 60_000) - check.timeoutMs;
    return [...byLocation.values()].filter((state) => state.at >= freshAfter);
  }

  function publishState(checkId: string): void {
    const check = checks.get(checkId);
    if (!check) return;
    const locations = stateOf(checkId, clock.now()).map((state) => ({ ...state, location: state.agentId ? (agentNames.get(state.agentId) ?? state.agentId) : HUB_LOCATION }));
    bus.publish('check.state', { checkId, checkName: check.name, kind: check.probe.kind, locations, deleted: false });
  }

  /** Keeps a location's newest result; true when `r` is newer than what this hub held. */
  function remember(r: Omit<ResultRecord, 'perfdata'>): boolean {
    let byLocation = latest.get(r.checkId);
    if (!byLocation) latest.set(r.checkId, (byLocation = new Map()));
    const previous = byLocation.get(r.location);
    if (previous && previous.at >= r.ts) return false;
    byLocation.set(r.location, { location: r.location, agentId: r.agentId, status: r.status, latencyMs: r.latencyMs, message: r.message, certDaysLeft: r.certDaysLeft, at: r.ts });
    return true;
  }

  async function store(results: ResultRecord[]): Promise<void> {
    await repo.record(results, clock.now());
    const touched = new Set<string>();
    for (const r of results) if (remember(r)) touched.add(r.checkId);
    for (const checkId of touched) publishState(checkId);
  }

  /**
   * Several hubs (issue #14): the newest results the other hubs stored. Each hub holds the
   * state of the locations whose results it received; this merges in everyone else's, so the
   * leader's alerts engine judges "down from N of M" on every location, not on its own share.
   */
  async function followOnce(): Promise<void> {
    const rows = await repo.latestStoredSince(followCursor - FOLLOW_OVERLAP_MS, FOLLOW_BATCH);
    // A machine enrolled through another hub: its name, for the alert's words.
    if (rows.some((row) => row.agentId !== null && !agentNames.has(row.agentId))) await namesById();
    const touched = new Set<string>();
    for (const row of rows) {
      if (row.storedAt > followCursor) followCursor = row.storedAt;
      if (checks.has(row.checkId) && remember(row)) touched.add(row.checkId);
    }
    for (const checkId of touched) publishState(checkId);
  }

  function scheduleFollow(): void {
    if (stopped || !timers || !followStored) return;
    followTimer = setTimeout(() => {
      followTimer = undefined;
      following = followOnce()
        .catch((error: unknown) => logger.error({ err: error }, 'reading check results stored by other hubs failed'))
        .finally(() => {
          following = undefined;
          scheduleFollow();
        });
    }, FOLLOW_EVERY_MS);
    followTimer.unref();
  }

  /**
   * A new leader (issue #14) takes the state from the database, not from its own memory: every
   * location's newest stored result, then one `check.state` per check, so its alerts engine
   * carries on from the former leader's view (an open "down" stays open, nothing re-fires).
   */
  async function takeOverState(): Promise<void> {
    await namesById();
    for (const row of await repo.latest()) remember(row);
    for (const [checkId, check] of checks) if (check.enabled && latest.has(checkId)) publishState(checkId);
  }

  function validate(input: CheckInput): ReturnType<typeof CheckInputSchema.parse> {
    const parsed = CheckInputSchema.safeParse(input);
    if (!parsed.success) throw new FarolError('validation_failed', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), { issues: toFieldIssues(parsed.error) });
    const spec = parsed.data;
    if ('selector' in spec.runOn) {
      try {
        parseLabelSelector(spec.runOn.selector);
      } catch (error) {
        throw new FarolError('validation_failed', `runOn.selector: ${(error as Error).message}`, { issues: [{ path: 'runOn.selector', message: (error as Error).message }] });
      }
    }
    return spec;
  }

  async function checkMachinesExist(runOn: CheckRunOn): Promise<void> {
    if (!('agents' in runOn)) return;
    for (const ref of runOn.agents) {
      if (!(await agents.findByIdOrName(ref))) throw new FarolError('validation_failed', `runOn.agents: no machine "${ref}"`, { issues: [{ path: 'runOn.agents', message: `no machine "${ref}"` }] });
    }
  }

  async function namesById(): Promise<Map<string, string>> {
    const list = await agents.list();
    for (const agent of list) agentNames.set(agent.id, agent.name);
    return new Map(list.map((agent) => [agent.id, agent.name]));
  }

  async function uptimeOf(checkId: string | undefined, now: number): Promise<Map<string, { perLocation: Map<string, Uptime>; overall: Uptime }>> {
    const windows = [
      ['h24', now - DAY_MS],
      ['d7', now - 7 * DAY_MS],
      ['d30', now - 30 * DAY_MS],
    ] as const;
    const out = new Map<string, { perLocation: Map<string, Uptime>; overall: Uptime }>();
    const entry = (id: string): { perLocation: Map<string, Uptime>; overall: Uptime } => {
      let found = out.get(id);
      if (!found) out.set(id, (found = { perLocation: new Map(), overall: { h24: null, d7: null, d30: null } }));
      return found;
    };
    for (const [key, since] of windows) {
      const totals = new Map<string, { up: number; down: number }>();
      for (const row of await repo.counts(since, checkId)) {
        const item = entry(row.checkId);
        const uptime = item.perLocation.get(row.location) ?? { h24: null, d7: null, d30: null };
        uptime[key] = percent(row.up, row.down);
        item.perLocation.set(row.location, uptime);
        const total = totals.get(row.checkId) ?? { up: 0, down: 0 };
        total.up += row.up;
        total.down += row.down;
        totals.set(row.checkId, total);
      }
      for (const [id, total] of totals) entry(id).overall[key] = percent(total.up, total.down);
    }
    return out;
  }

  function view(check: CheckRecord, names: Map<string, string>, uptime: Uptime): Check {
    const locations = [...(latest.get(check.id)?.values() ?? [])]
      .map((state) => ({ ...state, location: state.agentId ? (names.get(state.agentId) ?? state.agentId) : HUB_LOCATION }))
      .sort((a, b) => a.location.localeCompare(b.location));
    const fresh = stateOf(check.id, clock.now());
    const status = fresh.length === 0 ? null : fresh.reduce<CheckStatus>((worst, s) => (STATUS_RANK[s.status] > STATUS_RANK[worst] ? s.status : worst), 'ok');
    return {
      id: check.id,
      name: check.name,
      description: check.description,
      probe: check.probe,
      intervalMs: check.intervalMs,
      timeoutMs: check.timeoutMs,
      runOn: check.runOn,
      enabled: check.enabled,
      source: check.source,
      createdAt: check.createdAt,
      updatedAt: check.updatedAt,
      status,
      locations,
      uptime,
    };
  }

  function refuseFileCheck(check: CheckRecord): void {
    if (check.source === 'file') throw new FarolError('conflict', `check "${check.name}" comes from FAROL_CHECKS_FILE: change it there`);
  }

  function recordFromSpec(spec: CheckSpec, base: Pick<CheckRecord, 'id' | 'createdAt' | 'source'>, now: number): CheckRecord {
    return {
      ...base,
      name: spec.name,
      description: spec.description ?? null,
      probe: spec.probe,
      runOn: spec.runOn,
      intervalMs: spec.interval,
      timeoutMs: spec.timeout,
      enabled: spec.enabled,
      updatedAt: now,
    };
  }

  function changed(checkIds: string[]): void {
    bus.publish('checks.changed', { checkIds });
  }

  async function onChanged(checkIds: string[]): Promise<void> {
    await reload();
    for (const id of checkIds) {
      const check = checks.get(id);
      if (!check) latest.delete(id);
      // Deleted or disabled: its alerts end quietly (nothing watches it any more).
      if (!check?.enabled) bus.publish('check.state', { checkId: id, checkName: check?.name ?? id, kind: check?.probe.kind ?? 'http', locations: [], deleted: true });
    }
    await tellEveryone();
  }

  /**
   * The leader's pass (like the metrics' rollup service): every result not rolled up yet is
   * added to its 1-minute and 1-hour buckets, then retention. Raw runs are pruned by whole hours,
   * and a result older than the raw retention is refused at ingest, so a late result never
   * lands in a bucket whose other raw runs are gone.
   */
  async function rollupAndPrune(): Promise<void> {
    if (rollupRunning) return rollupRunning;
    rollupRunning = (async () => {
      const rolled = { minutes: 0, hours: 0 };
      const progress = await repo.rollupProgress();
      const newest = progress.newest;
      let done = progress.done;
      while (done < newest) {
        const counts = await repo.rollup(Math.min(newest, done + ROLLUP_CHUNK), fence);
        rolled.minutes += counts.minutes;
        rolled.hours += counts.hours;
        done = counts.to;
        await yieldToEventLoop();
      }
      const now = clock.now();
      const removed = await repo.prune({ raw: Math.floor((now - retention.rawMs) / HOUR_MS) * HOUR_MS, minute: now - retention.minuteMs, hour: now - retention.hourMs });
      logger.debug({ rolled, removed }, 'check rollup and retention pass');
    })().finally(() => {
      rollupRunning = undefined;
    });
    return rollupRunning;
  }

  function startRollups(): void {
    if (!timers || rollupTimer) return;
    rollupTimer = setInterval(() => {
      rollupAndPrune().catch((error: unknown) => logger.error({ err: error }, 'check rollup pass failed'));
    }, rollupEveryMs);
    rollupTimer.unref();
  }

  const service = {
    /**
     * `hubDuties: false` (several hubs): the hub's own check runs and the retention pass wait for
     * `leadHubDuties`, which main.ts calls while this hub holds the leader lease.
     */
    async start({ hubDuties = true }: { hubDuties?: boolean } = {}): Promise<void> {
      runsHubDuties = hubDuties;
      await reload();
      await namesById();
      for (const row of await repo.latest()) {
        let byLocation = latest.get(row.checkId);
        if (!byLocation) latest.set(row.checkId, (byLocation = new Map()));
        byLocation.set(row.location, { location: row.location, agentId: row.agentId, status: row.status, latencyMs: row.latencyMs, message: row.message, certDaysLeft: row.certDaysLeft, at: row.ts });
      }
      unsubscribers.push(
        bus.subscribe('checks.changed', ({ checkIds }) => {
          onChanged(checkIds).catch((error: unknown) => logger.error({ err: error }, 'applying changed checks failed'));
        }),
        // Changes announced while Redis was away were missed: every check is read again, and
        // those gone meanwhile end their alerts.
        bus.subscribe('broadcasts.resumed', () => {
          onChanged([...checks.keys()]).catch((error: unknown) => logger.error({ err: error }, 're-reading the checks after Redis came back failed'));
        }),
        bus.subscribe('agent.updated', ({ agentId, name, labels }) => {
          agentNames.set(agentId, name);
          // A relabel can move a machine into or out of a selector.
          if (assigned.has(agentId)) tell({ id: agentId, name, labels });
        }),
        bus.subscribe('agent.removed', ({ agentId }) => {
          assigned.delete(agentId);
          agentNames.delete(agentId);
        }),
      );
      if (runsHubDuties) startRollups();
      stopped = false;
      followCursor = clock.now() - FOLLOW_EVERY_MS;
      scheduleFollow();
      logger.info({ checks: checks.size }, 'checks started');
    },

    /**
     * This hub leads (issue #14): it takes the check state from the database, runs the
     * hub-located checks and the rollup and retention pass.
     */
    async leadHubDuties(): Promise<void> {
      // The hub checks must run even if this read fails (several hubs: the follower catches up within seconds).
      await takeOverState().catch((error: unknown) => logger.error({ err: error }, 'reading the stored check state on taking the lead failed'));
      runsHubDuties = true;
      assignHubChecks();
      startRollups();
    },

    /** This hub no longer leads: another one runs them. */
    async stopHubDuties(): Promise<void> {
      runsHubDuties = false;
      assignHubChecks();
      clearInterval(rollupTimer);
      rollupTimer = undefined;
      await rollupRunning;
    },

    async stop(): Promise<void> {
      stopped = true;
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
      clearInterval(rollupTimer);
      clearTimeout(followTimer);
      await hubScheduler.stop();
      await following;
      await rollupRunning;
      await writing;
    },

    /** An agent said hello: its list goes out, from the record its hello stored (issue #14: no read of its own). */
    agentReady(agent: AgentFacts): void {
      tell(agent);
    },

    agentGone(agentId: string): void {
      assigned.delete(agentId);
    },

    /** `check:results` from an agent: results of checks it was not told to run are dropped. */
    async ingest(agent: { id: string; name: string }, results: readonly CheckResultReport[]): Promise<CheckResultsAck> {
      const now = clock.now();
      for (const r of results) {
        if (r.ts > now + MAX_FUTURE_SKEW_MS) throw new FarolError('validation_failed', `a result is stamped ${r.ts - now} ms in the future: fix this machine's clock (NTP)`);
      }
      let mine = assigned.get(agent.id);
      if (!mine) {
        const facts = await agents.findByIdOrName(agent.id);
        mine = new Set(facts ? assignmentsFor(facts).map((c) => c.id) : []);
      }
      const oldest = now - retention.rawMs;
      const kept = results.filter((r) => mine.has(r.checkId) && checks.has(r.checkId) && r.ts >= oldest);
      const rows: ResultRecord[] = kept.map((r) => ({
        checkId: r.checkId,
        location: agent.id,
        agentId: agent.id,
        ts: r.ts,
        status: r.status,
        latencyMs: r.latencyMs,
        message: r.message,
        certDaysLeft: r.certDaysLeft,
        perfdata: r.perfdata,
      }));
      agentNames.set(agent.id, agent.name);
      await store(rows);
      return { stored: rows.length, ignored: results.length - rows.length };
    },

    async list(): Promise<Check[]> {
      const names = await namesById();
      const uptime = await uptimeOf(undefined, clock.now());
      return [...checks.values()].sort((a, b) => a.name.localeCompare(b.name)).map((check) => view(check, names, uptime.get(check.id)?.overall ?? { h24: null, d7: null, d30: null }));
    },

    async get(ref: string): Promise<Check> {
      const check = find(ref);
      const uptime = await uptimeOf(check.id, clock.now());
      return view(check, await namesById(), uptime.get(check.id)?.overall ?? { h24: null, d7: null, d30: null });
    },

    /** The stored definition, for permission checks. */
    definition(ref: string): CheckRecord {
      return find(ref);
    },

    async create(input: CheckInput, actor: string): Promise<Check> {
      const spec = validate(input);
      if ([...checks.values()].some((c) => c.name === spec.name)) throw new FarolError('name_taken', `a check named "${spec.name}" exists`);
      await checkMachinesExist(spec.runOn);
      const now = clock.now();
      const record: CheckRecord = {
        id: randomId('chk'),
        name: spec.name,
        description: spec.description ?? null,
        probe: spec.probe,
        runOn: spec.runOn,
        intervalMs: spec.interval,
        timeoutMs: spec.timeout,
        enabled: spec.enabled,
        source: 'api',
        createdAt: now,
        updatedAt: now,
      };
      await repo.insert(record);
      await audit.record({ actor, action: 'check.create', details: { checkId: record.id, name: record.name, probe: record.probe, runOn: record.runOn } });
      checks.set(record.id, record);
      changed([record.id]);
      return service.get(record.id);
    },

    /** Replaces a check's definition (PUT): results and history stay. */
    async replace(ref: string, input: CheckInput, actor: string): Promise<Check> {
      const current = find(ref);
      refuseFileCheck(current);
      const spec = validate(input);
      if ([...checks.values()].some((c) => c.name === spec.name && c.id !== current.id)) throw new FarolError('name_taken', `a check named "${spec.name}" exists`);
      await checkMachinesExist(spec.runOn);
      const record: CheckRecord = {
        ...current,
        name: spec.name,
        description: spec.description ?? null,
        probe: spec.probe,
        runOn: spec.runOn,
        intervalMs: spec.interval,
        timeoutMs: spec.timeout,
        enabled: spec.enabled,
        updatedAt: clock.now(),
      };
      await repo.update(record);
      await audit.record({ actor, action: 'check.update', details: { checkId: record.id, name: record.name, before: { probe: current.probe, runOn: current.runOn, enabled: current.enabled }, after: { probe: record.probe, runOn: record.runOn, enabled: record.enabled } } });
      checks.set(record.id, record);
      changed([record.id]);
      return service.get(record.id);
    },

    async remove(ref: string, actor: string): Promise<void> {
      const check = find(ref);
      refuseFileCheck(check);
      await repo.delete(check.id);
      await audit.record({ actor, action: 'check.delete', details: { checkId: check.id, name: check.name } });
      checks.delete(check.id);
      changed([check.id]);
    },

    async history(ref: string, query: { since?: number | undefined; location?: string | undefined; limit: number }): Promise<CheckHistory> {
      const check = find(ref);
      const now = clock.now();
      const names = await namesById();
      const byName = new Map([...names].map(([id, name]) => [name, id]));
      const location = query.location === undefined ? undefined : query.location === HUB_LOCATION ? HUB_LOCATION : (byName.get(query.location) ?? query.location);
      const rows = await repo.results(check.id, { since: query.since ?? now - DAY_MS, location, limit: query.limit });
      const uptime = (await uptimeOf(check.id, now)).get(check.id);
      const results: CheckResult[] = rows.map((r) => ({ ...r, location: r.agentId ? (names.get(r.agentId) ?? r.agentId) : HUB_LOCATION }));
      return {
        results,
        uptime: uptime?.overall ?? { h24: null, d7: null, d30: null },
        locations: [...(uptime?.perLocation ?? new Map<string, Uptime>())].map(([loc, value]) => ({
          location: loc === HUB_LOCATION ? HUB_LOCATION : (names.get(loc) ?? loc),
          agentId: loc === HUB_LOCATION ? null : loc,
          uptime: value,
        })),
      };
    },

    /**
     * Runs and latency per location over a range, from the tier that fits it (pickCheckTier):
     * 7-day and 30-day charts read hourly rollups, never every run. Rollups trail the newest
     * results by up to one rollup interval.
     */
    async series(ref: string, query: CheckSeriesQuery): Promise<CheckSeries> {
      const check = find(ref);
      const now = clock.now();
      const to = query.until ?? now;
      const from = query.since ?? to - DAY_MS;
      if (from > to) throw new FarolError('validation_failed', 'since is after until', { issues: [{ path: 'since', message: 'must be before until' }] });
      const tier = query.resolution ?? pickCheckTier(from, to, now, retention);
      const names = await namesById();
      const byName = new Map([...names].map(([id, name]) => [name, id]));
      const location = query.location === undefined ? undefined : query.location === HUB_LOCATION ? HUB_LOCATION : (byName.get(query.location) ?? query.location);
      const buckets = await repo.buckets(check.id, tier, { from, to, location });
      return {
        resolution: tier,
        points: buckets.map((b) => ({ ...b, location: b.agentId ? (names.get(b.agentId) ?? b.agentId) : HUB_LOCATION })),
      };
    },

    /** `farol checks run`: the hub runs its own at once; connected target machines are asked to. */
    async runNow(ref: string, actor: string): Promise<CheckRunResponse> {
      const check = find(ref);
      const response: CheckRunResponse = { results: [], requested: [], offline: [] };
      if ('hub' in check.runOn) {
        const ts = clock.now();
        const result = await runProbe(check.probe, check.timeoutMs);
        const row: ResultRecord = { ...result, checkId: check.id, location: HUB_LOCATION, agentId: null, ts };
        await store([row]);
        response.results.push({ ...row, location: HUB_LOCATION });
      } else {
        for (const agent of await agents.list()) {
          if (!covers(check.runOn, agent)) continue;
          if (!assigned.get(agent.id)?.has(check.id)) tell(agent);
          if (send(agent.id, 'checks:run', { checkIds: [check.id] })) response.requested.push(agent.name);
          else response.offline.push(agent.name);
        }
      }
      await audit.record({ actor, action: 'check.run', details: { checkId: check.id, name: check.name, requested: response.requested } });
      return response;
    },

    /**
     * FAROL_CHECKS_FILE at start (configuration as code): its checks are created or replaced by
     * name, file checks no longer in it are deleted; a check of the same name made through the
     * API is taken over by the file (audited). Machines named in `runOn.agents` need not exist
     * yet: a machine enrolled later under that name runs the check.
     */
    async applyFileChecks(specs: readonly CheckSpec[], file: string): Promise<{ created: number; updated: number; deleted: number }> {
      const counts = { created: 0, updated: 0, deleted: 0 };
      const actor = `file:${file}`;
      const touched: string[] = [];
      const now = clock.now();
      for (const input of specs) {
        const spec = validate(input);
        const existing = [...checks.values()].find((c) => c.name === spec.name);
        if (existing) {
          const record = recordFromSpec(spec, { id: existing.id, createdAt: existing.createdAt, source: 'file' }, now);
          if (JSON.stringify({ ...record, updatedAt: 0 }) === JSON.stringify({ ...existing, updatedAt: 0 })) continue;
          await repo.update(record);
          await audit.record({ actor, action: 'check.update', details: { checkId: record.id, name: record.name, before: { probe: existing.probe, runOn: existing.runOn, enabled: existing.enabled }, after: { probe: record.probe, runOn: record.runOn, enabled: record.enabled } } });
          checks.set(record.id, record);
          touched.push(record.id);
          counts.updated++;
        } else {
          const record = recordFromSpec(spec, { id: randomId('chk'), createdAt: now, source: 'file' }, now);
          await repo.insert(record);
          await audit.record({ actor, action: 'check.create', details: { checkId: record.id, name: record.name, probe: record.probe, runOn: record.runOn } });
          checks.set(record.id, record);
          touched.push(record.id);
          counts.created++;
        }
      }
      const names = new Set(specs.map((s) => s.name));
      for (const check of [...checks.values()]) {
        if (check.source !== 'file' || names.has(check.name)) continue;
        await repo.delete(check.id);
        await audit.record({ actor, action: 'check.delete', details: { checkId: check.id, name: check.name } });
        checks.delete(check.id);
        touched.push(check.id);
        counts.deleted++;
      }
      if (touched.length > 0) changed(touched);
      return counts;
    },

    /** Up and down runs per check and hour (status pages). */
    hourlyTotals: (checkIds: readonly string[], since: number) => repo.hourlyTotals(checkIds, since),

    /** The rollup and retention pass (the leader's timer runs it every FAROL_ROLLUP_INTERVAL; tests call it). */
    rollupAndPrune,
    /** One read of what other hubs stored (the follower's timer runs it; tests call it). */
    followStored: followOnce,
    /** Waits for hub runs being stored (tests). */
    settle: () => writing,
  };
  return service;
}
export type ChecksService = ReturnType<typeof createChecksService>;
