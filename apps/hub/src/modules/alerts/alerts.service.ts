import {
  AlertRuleInputSchema,
  FarolError,
  isFinalTargetState,
  parseLabelSelector,
  toFieldIssues,
  type Alert,
  type AlertAck,
  type AlertDetail,
  type AlertEventKind,
  type AlertList,
  type AlertListQuery,
  type AlertNotice,
  type AlertState,
  type AlertRule,
  type AlertRuleInput,
  type AlertRulePatch,
  type AlertRuleSpec,
  type AgentStatusEvent,
  type FleetReport,
  type HeartbeatSample,
  type HistoryValues,
  type JobTargetEvent,
  type Notification,
  type RuleCondition,
  type Silence,
  type SilenceCreate,
  AlertRulePatchSchema,
  SilenceCreateSchema,
} from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { UnitOfWork } from '../../infra/repositories.js';
import {
  checkRule,
  compileMetric,
  compileScope,
  compileSilence,
  containerIsDown,
  DEFAULT_RULES,
  formatSpan,
  formatValue,
  metricHolds,
  selectContainers,
  type AgentFacts,
  type MetricReader,
} from './alert-conditions.js';
import type { AlertRecord, AlertsRepository, NewAlertEvent, RuleRecord, SilenceRecord } from './alerts.repository.js';

/**
 * The delivery side (the notify module) as the engine sees it: durable once `notify` returns
 * (its outbox rows are committed); rendering and sending per channel are its business.
 */
export interface Notifier {
  notify(channelRefs: string[], notification: Notification): Promise<void>;
}

/** Samples older than this when they arrive are backfill from an agent's buffer: history, not news. */
const STALE_SAMPLE_MS = 60_000;
/** A failed hand-over to the notifier is tried again after this long. */
const DELIVERY_RETRY_MS = 30_000;
/** Job targets already alerted on, remembered to ignore a late second result of the same command. */
const JOB_MEMORY = 10_000;
const MAX_REPORT_FIRING = 100;
/** A container alert's firing notice waits at most this long for the container's log lines. */
const LOG_WAIT_MS = 8_000;
/** Log fetches in flight at once; beyond this, container alerts go out without lines. */
const MAX_LOG_FETCHES = 10;

interface CompiledRule {
  rule: RuleRecord;
  covers: (agent: AgentFacts) => boolean;
  reader: MetricReader | undefined;
  cooldownMs: number;
  channels: string[];
}

interface AgentEntry extends AgentFacts {
  lastSeen: number | null;
}

/** An alert in memory: its record plus what the last sample said about it. */
interface LiveAlert extends AlertRecord {
  latest?: HeartbeatSample;
  /** The firing notice was held back by a silence; sent when the silence ends. */
  held?: boolean;
  /** The container's log lines are being fetched; the firing notice waits for them (bounded). */
  fetchingLogs?: boolean;
  awaitingLogs?: boolean;
}

interface Change {
  op: 'insert' | 'update' | 'delete';
  alert: AlertRecord;
  event?: Omit<NewAlertEvent, 'alertId'> & { notice: string | null };
  /** The bus `alert.changed` event, if this change is one followers should see. */
  publish?: AlertEventKind;
}

interface Delivery {
  seq: number;
  channels: string[];
  notice: AlertNotice;
}

export interface AlertsServiceOptions {
  /** Repeat a still-firing alert after this long, for rules that do not say (FAROL_ALERTS_COOLDOWN). */
  defaultCooldownMs: number;
  /** Channels for rules that name none (FAROL_ALERTS_CHANNELS). */
  defaultChannels: string[];
  /** Notices produced within this window go out together, one message per channel. */
  groupWindowMs: number;
  /** After a hub start, machines not back within this long count as offline. */
  startupGraceMs: number;
  report: { everyMs: number; channels: string[] } | null;
  /** FAROL_PUBLIC_URL: notices link to the dashboard's Alerts page when it is known. */
  publicUrl?: string | undefined;
  /** false in tests that drive `tick()` and `settle()` by hand. */
  timers?: boolean;
}

const keyOf = (ruleId: string, agentId: string | null, instance: string): string => `${ruleId}|${agentId ?? ''}|${instance}`;

function cloneAlert(alert: LiveAlert): AlertRecord {
  const { latest: _latest, held: _held, fetchingLogs: _fetching, awaitingLogs: _awaiting, ...record } = alert;
  return { ...record, details: { ...record.details, notifiedChannels: [...record.details.notifiedChannels] } };
}

/**
 * The alerts engine (issue #4). Evaluation is in memory and incremental: each heartbeat is
 * checked against the rules that cover its machine (cached per machine), presence changes and
 * failed jobs arrive from the bus, and one timer wakes at the next moment something is due
 * (a `for` elapsing, a repeat, an escalation, a silence ending, the periodic report). Only
 * state changes touch the database, in one transaction per evaluation; the notices of one
 * evaluation are handed to the notifier as one message per channel.
 */
export function createAlertsService({
  alerts,
  unitOfWork,
  agents,
  isOnline,
  latestValues,
  notifier,
  fetchContainerLogs,
  bus,
  clock,
  logger,
  options,
}: {
  alerts: AlertsRepository;
  unitOfWork: UnitOfWork;
  agents: { list(): Promise<Array<{ id: string; name: string; labels: Record<string, string>; lastSeen: number | null }>> };
  isOnline: (agentId: string) => boolean;
  latestValues: (agentId: string) => HistoryValues | null;
  notifier: Notifier;
  /** The last log lines of a container on a machine (the agent's docker_logs); optional. */
  fetchContainerLogs?: (agentId: string, container: string) => Promise<string[]>;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  options: AlertsServiceOptions;
}) {
  const timersEnabled = options.timers !== false;
  const rules = new Map<string, CompiledRule>();
  const directory = new Map<string, AgentEntry>();
  const sampleRulesByAgent = new Map<string, CompiledRule[]>();
  const active = new Map<string, LiveAlert>();
  const activeByAgent = new Map<string, Set<string>>();
  let silences: Array<{ silence: SilenceRecord; matches: ReturnType<typeof compileSilence> }> = [];
  const knownOffline = new Set<string>();
  const restartHistory = new Map<string, Array<{ at: number; count: number }>>();
  const jobsAlerted = new Set<string>();
  const logFetches = new Set<Promise<void>>();

  let writing: Promise<void> = Promise.resolve();
  let deliveries: Delivery[] = [];
  let retries: { at: number; items: Delivery[] } | undefined;
  let delivering: Promise<void> = Promise.resolve();
  let flushTimer: NodeJS.Timeout | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let tickAt = Infinity;
  let graceEndsAt: number | null = null;
  let reportLastAt = 0;
  let stopped = true;
  let reloading: Promise<void> | undefined;
  const unsubscribers: Array<() => void> = [];

  // ---- rules and machines ----------------------------------------------------------------------

  function compile(rule: RuleRecord): CompiledRule {
    return {
      rule,
      covers: compileScope(rule.scope),
      reader: rule.condition.kind === 'metric' ? compileMetric(rule.condition.metric) : undefined,
      cooldownMs: rule.cooldown ?? options.defaultCooldownMs,
      channels: rule.channels.length > 0 ? rule.channels : options.defaultChannels,
    };
  }

  function enabledRules(kind: RuleCondition['kind']): CompiledRule[] {
    const found: CompiledRule[] = [];
    for (const compiled of rules.values()) if (compiled.rule.enabled && compiled.rule.condition.kind === kind) found.push(compiled);
    return found;
  }

  /** Rules a heartbeat is checked against, per machine, computed once per rule or label change. */
  function sampleRulesFor(agent: AgentEntry): CompiledRule[] {
    let found = sampleRulesByAgent.get(agent.id);
    if (!found) {
      found = [];
      for (const compiled of rules.values()) {
        const kind = compiled.rule.condition.kind;
        if (compiled.rule.enabled && (kind === 'metric' || kind === 'container') && compiled.covers(agent)) found.push(compiled);
      }
      sampleRulesByAgent.set(agent.id, found);
    }
    return found;
  }

  async function reloadDirectory(): Promise<void> {
    const list = await agents.list();
    const seen = new Set<string>();
    for (const agent of list) {
      seen.add(agent.id);
      directory.set(agent.id, { id: agent.id, name: agent.name, labels: agent.labels, lastSeen: agent.lastSeen });
    }
    for (const id of [...directory.keys()]) if (!seen.has(id)) directory.delete(id);
    sampleRulesByAgent.clear();
  }

  /** A machine the engine has not heard of (just enrolled): known by id now, labels shortly. */
  function agentFor(agentId: string, name?: string): AgentEntry {
    let agent = directory.get(agentId);
    if (!agent) {
      agent = { id: agentId, name: name ?? agentId, labels: {}, lastSeen: null };
      directory.set(agentId, agent);
      reloading ??= reloadDirectory()
        .catch((error: unknown) => logger.error({ err: error }, 'reloading machines for alerts failed'))
        .finally(() => {
          reloading = undefined;
        });
    }
    return agent;
  }

  // ---- silences -----------------------------------------------------------------------------------

  function silencedBy(alert: AlertRecord, now: number): string | null {
    if (silences.length === 0) return null;
    const agent = alert.agentId ? (directory.get(alert.agentId) ?? { id: alert.agentId, name: alert.agentName ?? alert.agentId, labels: alert.details.labels }) : null;
    for (const { silence, matches } of silences) {
      if (silence.startsAt <= now && now < silence.endsAt && matches(agent, { id: alert.ruleId, name: alert.ruleName })) return silence.id;
    }
    return null;
  }

  // ---- notices ----------------------------------------------------------------------------------

  function noticeOf(alert: LiveAlert, event: AlertNotice['event']): AlertNotice {
    const notice: AlertNotice = {
      alertId: alert.id,
      ruleId: alert.ruleId,
      ruleName: alert.ruleName,
      event,
      severity: alert.severity,
      agentId: alert.agentId,
      agentName: alert.agentName,
      subject: alert.subject,
      summary: alert.summary,
      value: alert.value,
      threshold: alert.threshold,
      comparator: alert.comparator,
      unit: alert.unit,
      since: alert.since,
      resolvedAt: alert.resolvedAt,
      labels: alert.details.labels,
    };
    if (alert.details.topProcesses && alert.details.topProcesses.length > 0) notice.topProcesses = alert.details.topProcesses;
    if (alert.details.logLines && alert.details.logLines.length > 0) notice.logLines = alert.details.logLines.slice(-50);
    if (options.publicUrl) notice.url = `${options.publicUrl.replace(/\/+$/, '')}/alerts`;
    return notice;
  }

  /**
   * Records an event of an alert and, unless a silence covers it or there is nowhere to send
   * it, the notice for `channels`. Returns whether a notice will go out.
   */
  function recordEvent(alert: LiveAlert, kind: AlertNotice['event'], channels: string[], now: number, batch: Change[], op: Change['op']): boolean {
    const silence = silencedBy(alert, now);
    const sending = silence === null && channels.length > 0;
    if (sending) {
      alert.lastNotifiedAt = now;
      alert.notifications += 1;
      for (const channel of channels) if (!alert.details.notifiedChannels.includes(channel)) alert.details.notifiedChannels.push(channel);
    }
    batch.push({
      op,
      alert: cloneAlert(alert),
      publish: kind,
      event: {
        event: kind,
        at: now,
        channels: sending ? channels : [],
        silencedBy: silence,
        actor: null,
        note: null,
        notice: sending ? JSON.stringify(noticeOf(alert, kind)) : null,
      },
    });
    return sending;
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  function track(alert: LiveAlert): void {
    const key = keyOf(alert.ruleId, alert.agentId, alert.instance);
    active.set(key, alert);
    if (alert.agentId) {
      let keys = activeByAgent.get(alert.agentId);
      if (!keys) activeByAgent.set(alert.agentId, (keys = new Set()));
      keys.add(key);
    }
  }

  function untrack(alert: AlertRecord): void {
    const key = keyOf(alert.ruleId, alert.agentId, alert.instance);
    active.delete(key);
    if (alert.agentId) {
      const keys = activeByAgent.get(alert.agentId);
      keys?.delete(key);
      if (keys?.size === 0) activeByAgent.delete(alert.agentId);
    }
  }

  function forMsOf(condition: RuleCondition): number {
    return 'for' in condition ? condition.for : 0;
  }

  function topProcessesOf(reader: MetricReader | undefined, sample: HeartbeatSample | undefined): AlertRecord['details']['topProcesses'] {
    if (!sample) return undefined;
    const list = reader?.processes === 'memory' ? sample.topMemory : sample.topCpu;
    return list.slice(0, 5).map((p) => ({ pid: p.pid, name: p.name, cpu: p.cpu, memoryBytes: p.rss }));
  }

  interface Observation {
    subject: string;
    value: number | null;
    threshold: number | null;
    comparator: AlertRecord['comparator'];
    unit: string | null;
    /** Sentence for a firing alert, given how long the condition has held. */
    describe(heldMs: number): string;
    sample?: HeartbeatSample;
  }

  function startAlert(compiled: CompiledRule, agent: AgentEntry, instance: string, since: number, now: number, seen: Observation, batch: Change[]): void {
    const rule = compiled.rule;
    const alert: LiveAlert = {
      id: randomId('al'),
      ruleId: rule.id,
      ruleName: rule.name,
      kind: rule.condition.kind,
      severity: rule.severity,
      state: 'pending',
      agentId: agent.id,
      agentName: agent.name,
      instance,
      subject: seen.subject,
      summary: seen.describe(now - since),
      value: seen.value,
      threshold: seen.threshold,
      comparator: seen.comparator,
      unit: seen.unit,
      since,
      firedAt: null,
      resolvedAt: null,
      lastNotifiedAt: null,
      notifications: 0,
      escalatedAt: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
      acknowledgeNote: null,
      details: { labels: { ...agent.labels }, notifiedChannels: [] },
    };
    if (seen.sample) alert.latest = seen.sample;
    track(alert);
    if (rule.condition.kind === 'container') fetchLogs(alert, compiled);
    if (now - since >= forMsOf(rule.condition)) {
      fire(alert, compiled, now, batch, 'insert', seen);
    } else {
      batch.push({ op: 'insert', alert: cloneAlert(alert), publish: 'pending' });
      wake(since + forMsOf(rule.condition));
    }
  }

  function fire(alert: LiveAlert, compiled: CompiledRule, now: number, batch: Change[], op: Change['op'], seen?: Observation): void {
    alert.state = 'firing';
    alert.firedAt = now;
    if (seen) alert.summary = seen.describe(now - alert.since);
    else alert.summary = describeAgain(alert, compiled, now);
    const top = topProcessesOf(compiled.reader, alert.latest);
    if (top) alert.details.topProcesses = top;
    if (alert.fetchingLogs) {
      // The notice goes out when the log lines arrive (or LOG_WAIT_MS has passed).
      alert.awaitingLogs = true;
      // Stored as firing now; followers hear of it with the notice.
      batch.push({ op, alert: cloneAlert(alert) });
      return;
    }
    const sent = recordEvent(alert, 'firing', compiled.channels, now, batch, op);
    alert.held = !sent && compiled.channels.length > 0;
    scheduleFollowUps(alert, compiled);
  }

  /** Asks the agent for the container's last lines, bounded in time and in fetches at once. */
  function fetchLogs(alert: LiveAlert, compiled: CompiledRule): void {
    if (!fetchContainerLogs || !alert.agentId || !isOnline(alert.agentId) || logFetches.size >= MAX_LOG_FETCHES) return;
    alert.fetchingLogs = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string[]>((resolve) => {
      timer = setTimeout(() => resolve([]), LOG_WAIT_MS);
      timer.unref();
    });
    const fetched = fetchContainerLogs(alert.agentId, alert.instance).catch((error: unknown) => {
      logger.warn({ err: error, agentId: alert.agentId, container: alert.instance }, 'container log lines could not be fetched for an alert');
      return [] as string[];
    });
    const done: Promise<void> = Promise.race([fetched, timeout]).then((lines) => {
      clearTimeout(timer);
      logFetches.delete(done);
      alert.fetchingLogs = false;
      if (lines.length > 0) alert.details.logLines = lines;
      if (alert.awaitingLogs) {
        alert.awaitingLogs = false;
        if (alert.state !== 'firing') return;
        const batch: Change[] = [];
        const sent = recordEvent(alert, 'firing', compiled.channels, clock.now(), batch, 'update');
        alert.held = !sent && compiled.channels.length > 0;
        scheduleFollowUps(alert, compiled);
        commit(batch);
      }
    });
    logFetches.add(done);
  }

  /** Re-words a firing alert from what it last saw (timer-driven transitions have no sample). */
  function describeAgain(alert: LiveAlert, compiled: CompiledRule, now: number): string {
    const condition = compiled.rule.condition;
    const held = formatSpan(now - alert.since);
    if (condition.kind === 'metric' && alert.value !== null && compiled.reader) {
      return `${alert.subject} ${formatValue(alert.value, alert.unit)} ${condition.op} ${formatValue(condition.threshold, alert.unit)} for ${held}`;
    }
    // Other kinds keep their wording; only the duration moves on.
    return alert.summary.replace(/ for \d+ (s|min|h|d)( \d+ min)?/, ` for ${held}`);
  }

  function resolve(alert: LiveAlert, now: number, batch: Change[], summary: string, quiet = false): void {
    untrack(alert);
    if (alert.state === 'pending') {
      // Never fired: nobody was told, nothing to keep.
      batch.push({ op: 'delete', alert: { ...cloneAlert(alert), state: 'resolved', resolvedAt: now }, publish: 'cleared' });
      return;
    }
    alert.state = 'resolved';
    alert.resolvedAt = now;
    alert.summary = summary;
    if (quiet) {
      batch.push({ op: 'update', alert: cloneAlert(alert), publish: 'resolved', event: { event: 'resolved', at: now, channels: [], silencedBy: null, actor: null, note: summary, notice: null } });
      return;
    }
    recordEvent(alert, 'resolved', [...alert.details.notifiedChannels], now, batch, 'update');
  }

  function scheduleFollowUps(alert: LiveAlert, compiled: CompiledRule): void {
    if (alert.state !== 'firing' || alert.acknowledgedAt !== null) return;
    if (compiled.cooldownMs > 0 && alert.lastNotifiedAt !== null) wake(alert.lastNotifiedAt + compiled.cooldownMs);
    const escalation = compiled.rule.escalation;
    if (escalation && alert.escalatedAt === null && alert.firedAt !== null) wake(alert.firedAt + escalation.after);
  }

  /** One alert per rule × machine × instance: starts it, keeps it, or clears it. */
  function observe(compiled: CompiledRule, agent: AgentEntry, instance: string, holds: (isActive: boolean) => boolean, seen: Observation, now: number, batch: Change[], clearedSummary: () => string): void {
    const key = keyOf(compiled.rule.id, agent.id, instance);
    const alert = active.get(key);
    if (!alert) {
      if (holds(false)) startAlert(compiled, agent, instance, now, now, seen, batch);
      return;
    }
    if (!holds(true)) {
      alert.value = seen.value;
      resolve(alert, now, batch, clearedSummary());
      return;
    }
    alert.value = seen.value;
    if (seen.sample) alert.latest = seen.sample;
    if (alert.state === 'pending' && now - alert.since >= forMsOf(compiled.rule.condition)) fire(alert, compiled, now, batch, 'update', seen);
  }

  /** Clears alerts of a rule on a machine whose instance (mount, container) is gone from the sample. */
  function clearVanished(compiled: CompiledRule, agent: AgentEntry, present: Set<string>, now: number, batch: Change[]): void {
    const keys = activeByAgent.get(agent.id);
    if (!keys) return;
    for (const key of [...keys]) {
      const alert = active.get(key)!;
      if (alert.ruleId === compiled.rule.id && !present.has(alert.instance)) resolve(alert, now, batch, `${alert.subject} is no longer reported`);
    }
  }

  function evaluateMetric(compiled: CompiledRule, agent: AgentEntry, sample: HeartbeatSample, now: number, batch: Change[]): void {
    const condition = compiled.rule.condition as Extract<RuleCondition, { kind: 'metric' }>;
    const reader = compiled.reader!;
    const readings = reader.read(sample);
    for (const reading of readings) {
      const subject = reading.instance ? `${reader.label} ${reading.instance}` : reader.label;
      const value = reading.value;
      observe(
        compiled,
        agent,
        reading.instance,
        (isActive) => metricHolds(value, condition.op, condition.threshold, condition.recovery, isActive),
        {
          subject,
          value,
          threshold: condition.threshold,
          comparator: condition.op,
          unit: reader.unit,
          sample,
          describe: (heldMs) => `${subject} ${formatValue(value, reader.unit)} ${condition.op} ${formatValue(condition.threshold, reader.unit)} for ${formatSpan(heldMs)}`,
        },
        now,
        batch,
        () => `${subject} back to ${formatValue(value, reader.unit)}`,
      );
    }
    if (activeByAgent.has(agent.id)) clearVanished(compiled, agent, new Set(readings.map((r) => r.instance)), now, batch);
  }

  function restartsWithin(historyKey: string, count: number, now: number, windowMs: number): number {
    let history = restartHistory.get(historyKey);
    if (!history) restartHistory.set(historyKey, (history = []));
    const last = history[history.length - 1];
    if (!last || last.count !== count) history.push({ at: now, count });
    // The baseline is the newest count seen at or before the window's start (or the first one
    // seen, for a container observed for less than the window).
    while (history.length > 1 && history[1]!.at <= now - windowMs) history.shift();
    return count - history[0]!.count;
  }

  function evaluateContainers(compiled: CompiledRule, agent: AgentEntry, sample: HeartbeatSample, now: number, batch: Change[]): void {
    if (!sample.containers) return; // older agent, or Docker not reported: no opinion
    const condition = compiled.rule.condition as Extract<RuleCondition, { kind: 'container' }>;
    const selected = selectContainers(sample.containers, condition.containers);
    for (const container of selected) {
      const subject = `container ${container.name}`;
      let holds: (isActive: boolean) => boolean;
      let value: number | null = null;
      let describe: (heldMs: number) => string;
      let cleared: () => string;
      if (condition.condition === 'down') {
        holds = () => containerIsDown(container);
        value = container.exitCode;
        describe = (heldMs) =>
          `${subject} is ${container.state}${container.exitCode !== null ? ` (exit code ${container.exitCode})` : ''}${container.status ? `: ${container.status}` : ''} for ${formatSpan(heldMs)}`;
        cleared = () => `${subject} is ${container.state} again`;
      } else if (condition.condition === 'unhealthy') {
        holds = () => container.health === 'unhealthy';
        describe = (heldMs) => `${subject} is unhealthy${container.status ? `: ${container.status}` : ''} for ${formatSpan(heldMs)}`;
        cleared = () => `${subject} is ${container.health === 'none' ? container.state : container.health} again`;
      } else {
        const restarts = restartsWithin(`${agent.id}|${container.name}`, container.restartCount, now, condition.window);
        value = restarts;
        holds = () => restarts >= condition.restarts;
        describe = () => `${subject} restarted ${restarts} times in ${formatSpan(condition.window)} (${container.state})`;
        cleared = () => `${subject} stopped restarting (${container.state})`;
      }
      observe(compiled, agent, container.name, holds, { subject, value, threshold: null, comparator: null, unit: null, sample, describe }, now, batch, cleared);
    }
    if (activeByAgent.has(agent.id)) clearVanished(compiled, agent, new Set(selected.map((c) => c.name)), now, batch);
  }

  /** One heartbeat: every rule that covers the machine, in memory. */
  function onSample(agentId: string, sample: HeartbeatSample): void {
    const now = clock.now();
    if (now - sample.ts > STALE_SAMPLE_MS) return;
    const agent = agentFor(agentId);
    const applicable = sampleRulesFor(agent);
    if (applicable.length === 0) return;
    const batch: Change[] = [];
    for (const compiled of applicable) {
      if (compiled.rule.condition.kind === 'metric') evaluateMetric(compiled, agent, sample, now, batch);
      else evaluateContainers(compiled, agent, sample, now, batch);
    }
    if (batch.length > 0) commit(batch);
  }

  /** A one-shot alert (back online, job failed): recorded as resolved, one notice. */
  function oneShot(compiled: CompiledRule, agent: AgentEntry, instance: string, subject: string, summary: string, value: number | null, now: number, batch: Change[]): void {
    const alert: LiveAlert = {
      id: randomId('al'),
      ruleId: compiled.rule.id,
      ruleName: compiled.rule.name,
      kind: compiled.rule.condition.kind,
      severity: compiled.rule.severity,
      state: 'resolved',
      agentId: agent.id,
      agentName: agent.name,
      instance,
      subject,
      summary,
      value,
      threshold: null,
      comparator: null,
      unit: null,
      since: now,
      firedAt: now,
      resolvedAt: now,
      lastNotifiedAt: null,
      notifications: 0,
      escalatedAt: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
      acknowledgeNote: null,
      details: { labels: { ...agent.labels }, notifiedChannels: [] },
    };
    recordEvent(alert, 'firing', compiled.channels, now, batch, 'insert');
  }

  function onStatus(event: AgentStatusEvent): void {
    // The hub's own shutdown is not the machine going away; deletion resolves via agent.removed.
    if (event.reason === 'hub_shutdown' || event.reason === 'deleted') return;
    const now = clock.now();
    const agent = agentFor(event.agentId, event.name);
    const batch: Change[] = [];
    if (event.status === 'offline') {
      knownOffline.add(agent.id);
      agent.lastSeen = event.lastSeen;
      const since = event.at;
      for (const compiled of enabledRules('offline')) {
        if (!compiled.covers(agent) || active.has(keyOf(compiled.rule.id, agent.id, ''))) continue;
        startAlert(compiled, agent, '', since, now, offlineObservation(agent, event.lastSeen), batch);
      }
    } else {
      for (const compiled of enabledRules('offline')) {
        const alert = active.get(keyOf(compiled.rule.id, agent.id, ''));
        if (alert) resolve(alert, now, batch, `${agent.name} is back online after ${formatSpan(now - alert.since)}`);
      }
      if (knownOffline.delete(agent.id)) {
        for (const compiled of enabledRules('online')) {
          if (compiled.covers(agent)) oneShot(compiled, agent, '', 'online', `${agent.name} is back online`, null, now, batch);
        }
      }
    }
    if (batch.length > 0) commit(batch);
  }

  function offlineObservation(agent: AgentEntry, lastSeen: number | null): Observation {
    const heard = lastSeen === null ? 'never heard from' : `last heard ${new Date(lastSeen).toISOString()}`;
    return {
      subject: 'offline',
      value: null,
      threshold: null,
      comparator: null,
      unit: null,
      describe: (heldMs) => `${agent.name} offline for ${formatSpan(heldMs)} (${heard})`,
    };
  }

  function onJobTarget({ jobId, target }: JobTargetEvent): void {
    if (!isFinalTargetState(target.state)) return;
    const failedRules = enabledRules('job_failed');
    if (failedRules.length === 0) return;
    const now = clock.now();
    const agent = directory.get(target.agentId) ?? { id: target.agentId, name: target.agentName, labels: {}, lastSeen: null };
    const batch: Change[] = [];
    for (const compiled of failedRules) {
      const condition = compiled.rule.condition as Extract<RuleCondition, { kind: 'job_failed' }>;
      if (!(condition.states as string[]).includes(target.state) || !compiled.covers(agent)) continue;
      const memoryKey = `${compiled.rule.id}|${target.commandId}`;
      if (jobsAlerted.has(memoryKey)) continue;
      jobsAlerted.add(memoryKey);
      if (jobsAlerted.size > JOB_MEMORY) jobsAlerted.delete(jobsAlerted.values().next().value!);
      const why = target.error ?? (target.exitCode !== null ? `exit code ${target.exitCode}` : target.signal ? `signal ${target.signal}` : target.state);
      oneShot(compiled, agent, target.commandId, `job ${jobId}`, `job ${jobId} ${target.state.replace('_', ' ')} on ${agent.name}: ${why}`, target.exitCode, now, batch);
    }
    if (batch.length > 0) commit(batch);
  }

  function onRemoved(agentId: string): void {
    const now = clock.now();
    const batch: Change[] = [];
    for (const key of [...(activeByAgent.get(agentId) ?? [])]) resolve(active.get(key)!, now, batch, 'machine removed', true);
    directory.delete(agentId);
    sampleRulesByAgent.delete(agentId);
    knownOffline.delete(agentId);
    for (const key of [...restartHistory.keys()]) if (key.startsWith(`${agentId}|`)) restartHistory.delete(key);
    if (batch.length > 0) commit(batch);
  }

  // ---- the timer ----------------------------------------------------------------------------------

  function wake(at: number): void {
    if (!timersEnabled || stopped || at >= tickAt) return;
    if (tickTimer) clearTimeout(tickTimer);
    tickAt = at;
    tickTimer = setTimeout(() => {
      tickTimer = undefined;
      tickAt = Infinity;
      tick().catch((error: unknown) => logger.error({ err: error }, 'alerts timer failed'));
    }, Math.max(0, at - clock.now()));
    tickTimer.unref();
  }

  /** Everything that is due: `for` elapsed, repeats, escalations, silences ended, the report. */
  async function tick(): Promise<void> {
    const now = clock.now();
    const batch: Change[] = [];
    let next = Infinity;
    const due = (at: number): void => {
      if (at < next) next = at;
    };

    if (graceEndsAt !== null) {
      if (now >= graceEndsAt) {
        graceEndsAt = null;
        reconcileOffline(now, batch);
      } else due(graceEndsAt);
    }

    for (const alert of [...active.values()]) {
      const compiled = rules.get(alert.ruleId);
      if (!compiled) continue;
      if (alert.state === 'pending') {
        const at = alert.since + forMsOf(compiled.rule.condition);
        if (now >= at) fire(alert, compiled, now, batch, 'update');
        else {
          due(at);
          continue;
        }
      }
      if (alert.state !== 'firing') continue;
      if (alert.held) {
        if (silencedBy(alert, now) === null) {
          alert.held = false;
          recordEvent(alert, 'firing', compiled.channels, now, batch, 'update');
        }
        continue;
      }
      if (alert.acknowledgedAt !== null) continue;
      const escalation = compiled.rule.escalation;
      if (escalation && alert.escalatedAt === null && alert.firedAt !== null) {
        const at = alert.firedAt + escalation.after;
        if (now >= at) {
          if (silencedBy(alert, now) === null) {
            alert.escalatedAt = now;
            recordEvent(alert, 'escalated', escalation.channels, now, batch, 'update');
          }
        } else due(at);
      }
      if (compiled.cooldownMs > 0 && alert.lastNotifiedAt !== null) {
        const at = alert.lastNotifiedAt + compiled.cooldownMs;
        // A machine that is offline says so through its offline alert; its other alerts wait.
        const quietForOffline = alert.kind !== 'offline' && alert.agentId !== null && !isOnline(alert.agentId);
        if (now < at) due(at);
        else if (!quietForOffline && silencedBy(alert, now) === null) {
          alert.summary = describeAgain(alert, compiled, now);
          recordEvent(alert, 'repeat', compiled.channels, now, batch, 'update');
          due(now + compiled.cooldownMs);
        } else due(now + Math.min(compiled.cooldownMs, 60_000));
      }
    }

    for (const { silence } of silences) {
      if (silence.endsAt > now) due(silence.endsAt);
    }
    silences = silences.filter(({ silence }) => silence.endsAt > now);

    if (retries) {
      if (now >= retries.at) {
        deliveries.push(...retries.items);
        retries = undefined;
        scheduleFlush();
      } else due(retries.at);
    }

    if (options.report && options.report.channels.length > 0) {
      const at = reportLastAt + options.report.everyMs;
      if (now >= at) {
        reportLastAt = now;
        await alerts.setKv('alerts.report.last', String(now));
        await sendReport(now);
        due(now + options.report.everyMs);
      } else due(at);
    }

    if (batch.length > 0) commit(batch);
    if (next !== Infinity) wake(next);
  }

  /** After a start: machines with an offline rule that have not come back count as offline. */
  function reconcileOffline(now: number, batch: Change[]): void {
    const offlineRules = enabledRules('offline');
    for (const agent of directory.values()) {
      if (agent.lastSeen === null || isOnline(agent.id)) continue;
      knownOffline.add(agent.id);
      for (const compiled of offlineRules) {
        if (!compiled.covers(agent) || active.has(keyOf(compiled.rule.id, agent.id, ''))) continue;
        startAlert(compiled, agent, '', Math.min(agent.lastSeen, now), now, offlineObservation(agent, agent.lastSeen), batch);
      }
    }
  }

  // ---- writing and delivering ---------------------------------------------------------------------

  function commit(batch: Change[]): void {
    writing = writing.then(() => persist(batch)).catch((error: unknown) => logger.error({ err: error, changes: batch.length }, 'storing alert changes failed'));
  }

  async function persist(batch: Change[]): Promise<void> {
    const seqs = await unitOfWork(async (repos) => {
      const stored: Array<number | null> = [];
      for (const change of batch) {
        if (change.op === 'insert') await repos.alerts.insertAlert(change.alert);
        else if (change.op === 'update') await repos.alerts.updateAlert(change.alert);
        else await repos.alerts.deleteAlert(change.alert.id);
        stored.push(change.event ? await repos.alerts.insertEvent({ alertId: change.alert.id, ...change.event }) : null);
      }
      return stored;
    });
    const now = clock.now();
    batch.forEach((change, index) => {
      const seq = seqs[index];
      if (change.event?.notice && seq !== null && seq !== undefined) {
        deliveries.push({ seq, channels: change.event.channels, notice: JSON.parse(change.event.notice) as AlertNotice });
      }
      if (change.publish) bus.publish('alert.changed', { event: change.publish, alert: toApi(change.alert, now), labels: change.alert.details.labels });
    });
    if (deliveries.length > 0) scheduleFlush();
  }

  function scheduleFlush(): void {
    if (!timersEnabled || flushTimer) return;
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      void flush();
    }, options.groupWindowMs);
    flushTimer.unref();
  }

  /** Hands the queued notices to the notifier: one message per channel with every notice for it. */
  function flush(): Promise<void> {
    const batch = deliveries;
    deliveries = [];
    if (batch.length > 0) delivering = delivering.then(() => deliver(batch));
    return delivering;
  }

  async function deliver(batch: Delivery[]): Promise<void> {
    const byChannel = new Map<string, Delivery[]>();
    for (const item of batch) {
      for (const channel of item.channels) {
        let list = byChannel.get(channel);
        if (!list) byChannel.set(channel, (list = []));
        list.push(item);
      }
    }
    const failed = new Set<Delivery>();
    for (const [channel, items] of byChannel) {
      try {
        await notifier.notify([channel], { kind: 'alerts', alerts: items.map((item) => item.notice) });
      } catch (error) {
        logger.error({ err: error, channel, notices: items.length }, 'handing alert notices to the notifier failed; retrying later');
        for (const item of items) failed.add(item);
      }
    }
    const delivered = batch.filter((item) => !failed.has(item)).map((item) => item.seq);
    try {
      await alerts.markDelivered(delivered, clock.now());
    } catch (error) {
      // They would be handed over again after a restart: a duplicate, not a loss.
      logger.error({ err: error, notices: delivered.length }, 'marking alert notices delivered failed');
    }
    if (failed.size > 0) {
      // Only the failed channels get them again.
      const again = [...failed].map((item) => ({ ...item, channels: item.channels.filter((channel) => (byChannel.get(channel) ?? []).some((i) => failed.has(i))) }));
      const at = clock.now() + DELIVERY_RETRY_MS;
      retries = { at, items: [...(retries?.items ?? []), ...again] };
      wake(at);
    }
  }

  // ---- views --------------------------------------------------------------------------------------

  function toApi(alert: AlertRecord, now: number): Alert {
    const { details, ...rest } = alert;
    const view: Alert = { ...rest, silenced: alert.state !== 'resolved' && silencedBy(alert, now) !== null };
    if (details.topProcesses) view.topProcesses = details.topProcesses;
    return view;
  }

  function silenceView(silence: SilenceRecord, now: number): Silence {
    return { ...silence, active: silence.startsAt <= now && now < silence.endsAt };
  }

  function findRule(ref: string): CompiledRule {
    const byId = rules.get(ref);
    if (byId) return byId;
    for (const compiled of rules.values()) if (compiled.rule.name === ref) return compiled;
    throw new FarolError('not_found', `no alert rule "${ref}"`);
  }

  function validate(spec: AlertRuleSpec): void {
    const problems = checkRule(spec);
    if (problems.length > 0) {
      throw new FarolError('validation_failed', problems.join('; '), {
        issues: problems.map((p) => ({ path: p.slice(0, p.indexOf(':')), message: p.slice(p.indexOf(':') + 2) })),
      });
    }
  }

  function ruleFromSpec(spec: AlertRuleSpec, id: string, source: RuleRecord['source'], createdAt: number, now: number): RuleRecord {
    return {
      id,
      name: spec.name,
      description: spec.description ?? null,
      condition: spec.condition,
      scope: spec.scope,
      severity: spec.severity,
      channels: spec.channels,
      escalation: spec.escalation ?? null,
      cooldown: spec.cooldown ?? null,
      enabled: spec.enabled,
      source,
      createdAt,
      updatedAt: now,
    };
  }

  /** After a rule changed or went: alerts it no longer justifies are resolved without a notice. */
  function settleRuleAlerts(ruleId: string, why: string): void {
    const compiled = rules.get(ruleId);
    const now = clock.now();
    const batch: Change[] = [];
    for (const alert of [...active.values()]) {
      if (alert.ruleId !== ruleId) continue;
      const agent = alert.agentId ? directory.get(alert.agentId) : undefined;
      const stillCovered = compiled && compiled.rule.enabled && (!agent || compiled.covers(agent));
      if (stillCovered) {
        alert.ruleName = compiled.rule.name;
        alert.severity = compiled.rule.severity;
        continue;
      }
      resolve(alert, now, batch, why, true);
    }
    sampleRulesByAgent.clear();
    if (batch.length > 0) commit(batch);
    wake(now);
  }

  async function sendReport(now: number): Promise<void> {
    if (!options.report) return;
    const periodStart = now - options.report.everyMs;
    let online = 0;
    const busiest: FleetReport['busiest'] = [];
    for (const agent of directory.values()) {
      if (isOnline(agent.id)) online++;
      const values = latestValues(agent.id);
      if (values) busiest.push({ agentName: agent.name, cpu: values.cpu, memory: values.memory, disk: values.disk });
    }
    busiest.sort((a, b) => (b.cpu ?? -1) - (a.cpu ?? -1));
    const firing = [...active.values()].filter((a) => a.state === 'firing').slice(0, MAX_REPORT_FIRING).map((a) => noticeOf(a, 'firing'));
    const report: FleetReport = {
      periodMs: options.report.everyMs,
      generatedAt: now,
      agents: { total: directory.size, online, offline: directory.size - online },
      firing,
      firedInPeriod: await alerts.countSince('fired_at', periodStart),
      resolvedInPeriod: await alerts.countSince('resolved_at', periodStart),
      busiest: busiest.slice(0, 10),
    };
    try {
      await notifier.notify(options.report.channels, { kind: 'report', report });
      logger.info({ channels: options.report.channels, firing: firing.length }, 'fleet report handed to the notifier');
    } catch (error) {
      logger.error({ err: error }, 'handing the fleet report to the notifier failed');
    }
  }

  // ---- the service ----------------------------------------------------------------------------------

  const service = {
    /** Loads rules (creating the defaults on a first start), alerts, silences; subscribes to the bus. */
    async start(): Promise<void> {
      const now = clock.now();
      if ((await alerts.countRules()) === 0 && (await alerts.getKv('alerts.defaults')) === undefined) {
        for (const spec of DEFAULT_RULES) await alerts.insertRule(ruleFromSpec(spec, randomId('rule'), 'default', now, now));
        await alerts.setKv('alerts.defaults', String(now));
        logger.info({ rules: DEFAULT_RULES.length }, 'default alert rules created');
      }
      for (const rule of await alerts.listRules()) {
        try {
          rules.set(rule.id, compile(rule));
        } catch (error) {
          logger.error({ err: error, rule: rule.name }, 'alert rule cannot be compiled; ignored');
        }
      }
      await reloadDirectory();
      for (const record of await alerts.activeAlerts()) {
        const alert: LiveAlert = record;
        track(alert);
        if (alert.kind === 'offline' && alert.agentId) knownOffline.add(alert.agentId);
      }
      silences = (await alerts.listSilences(now)).map((silence) => ({ silence, matches: compileSilence(silence.matcher) }));
      reportLastAt = Number((await alerts.getKv('alerts.report.last')) ?? '0');
      if (options.report && reportLastAt === 0) {
        reportLastAt = now;
        await alerts.setKv('alerts.report.last', String(now));
      }
      // Notices committed but never handed over (a crash in between) go out now.
      for (const event of await alerts.undeliveredEvents()) {
        deliveries.push({ seq: event.seq, channels: event.channels, notice: JSON.parse(event.notice!) as AlertNotice });
      }
      graceEndsAt = now + options.startupGraceMs;
      stopped = false;
      unsubscribers.push(
        bus.subscribe('metrics.sample', ({ agentId, sample }) => onSample(agentId, sample)),
        bus.subscribe('agent.status', onStatus),
        bus.subscribe('agent.removed', ({ agentId }) => onRemoved(agentId)),
        bus.subscribe('agent.updated', ({ agentId, name, labels }) => {
          const agent = agentFor(agentId, name);
          agent.name = name;
          agent.labels = labels;
          sampleRulesByAgent.delete(agentId);
        }),
        bus.subscribe('job.target', onJobTarget),
      );
      if (deliveries.length > 0) scheduleFlush();
      wake(now);
      logger.info({ rules: rules.size, active: active.size, silences: silences.length }, 'alerts engine started');
    },

    async stop(): Promise<void> {
      stopped = true;
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
      if (tickTimer) clearTimeout(tickTimer);
      tickTimer = undefined;
      tickAt = Infinity;
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = undefined;
      await service.settle();
    },

    tick,

    /** Waits for pending writes and hands every queued notice over (tests, shutdown). */
    async settle(): Promise<void> {
      while (logFetches.size > 0) await Promise.all([...logFetches]);
      await writing;
      await flush();
    },

    // -- rules
    listRules(): AlertRule[] {
      return [...rules.values()].map((c) => c.rule);
    },
    getRule(ref: string): AlertRule {
      return findRule(ref).rule;
    },
    async createRule(input: AlertRuleInput, source: RuleRecord['source'] = 'api'): Promise<AlertRule> {
      const spec = AlertRuleInputSchema.parse(input);
      validate(spec);
      if ([...rules.values()].some((c) => c.rule.name === spec.name)) throw new FarolError('name_taken', `an alert rule named "${spec.name}" exists`);
      const now = clock.now();
      const rule = ruleFromSpec(spec, randomId('rule'), source, now, now);
      await alerts.insertRule(rule);
      rules.set(rule.id, compile(rule));
      sampleRulesByAgent.clear();
      return rule;
    },
    async updateRule(ref: string, patchInput: AlertRulePatch, options: { allowFile?: boolean } = {}): Promise<AlertRule> {
      const compiled = findRule(ref);
      const patch = AlertRulePatchSchema.parse(patchInput);
      if (compiled.rule.source === 'file' && !options.allowFile) {
        throw new FarolError('conflict', `rule "${compiled.rule.name}" comes from FAROL_ALERTS_FILE: change it there`);
      }
      const current = compiled.rule;
      const spec: AlertRuleSpec = {
        name: patch.name ?? current.name,
        description: patch.description === undefined ? (current.description ?? undefined) : (patch.description ?? undefined),
        condition: patch.condition ?? current.condition,
        scope: patch.scope ?? current.scope,
        severity: patch.severity ?? current.severity,
        channels: patch.channels ?? current.channels,
        escalation: patch.escalation === undefined ? current.escalation : patch.escalation,
        cooldown: patch.cooldown === undefined ? (current.cooldown ?? undefined) : (patch.cooldown ?? undefined),
        enabled: patch.enabled ?? current.enabled,
      };
      validate(spec);
      if (spec.name !== current.name && [...rules.values()].some((c) => c.rule.name === spec.name)) {
        throw new FarolError('name_taken', `an alert rule named "${spec.name}" exists`);
      }
      const rule = ruleFromSpec(spec, current.id, current.source, current.createdAt, clock.now());
      await alerts.replaceRule(rule);
      rules.set(rule.id, compile(rule));
      settleRuleAlerts(rule.id, rule.enabled ? 'rule changed: machine no longer in scope' : 'rule disabled');
      return rule;
    },
    async deleteRule(ref: string, options: { allowFile?: boolean } = {}): Promise<void> {
      const compiled = findRule(ref);
      if (compiled.rule.source === 'file' && !options.allowFile) {
        throw new FarolError('conflict', `rule "${compiled.rule.name}" comes from FAROL_ALERTS_FILE: remove it there`);
      }
      await alerts.deleteRule(compiled.rule.id);
      rules.delete(compiled.rule.id);
      settleRuleAlerts(compiled.rule.id, 'rule deleted');
    },
    /**
     * Configuration as code: rules from the file are created or replaced by name; file rules
     * no longer in it are deleted. Rules made through the API or the defaults are left alone
     * unless the file names them (then the file wins and they become file rules).
     */
    async applyFileRules(specs: AlertRuleSpec[]): Promise<{ created: number; updated: number; deleted: number }> {
      const counts = { created: 0, updated: 0, deleted: 0 };
      const names = new Set(specs.map((s) => s.name));
      for (const spec of specs) {
        validate(spec);
        const existing = [...rules.values()].find((c) => c.rule.name === spec.name);
        const now = clock.now();
        if (existing) {
          const rule = ruleFromSpec(spec, existing.rule.id, 'file', existing.rule.createdAt, now);
          await alerts.replaceRule(rule);
          rules.set(rule.id, compile(rule));
          settleRuleAlerts(rule.id, 'rule changed by FAROL_ALERTS_FILE');
          counts.updated++;
        } else {
          const rule = ruleFromSpec(spec, randomId('rule'), 'file', now, now);
          await alerts.insertRule(rule);
          rules.set(rule.id, compile(rule));
          counts.created++;
        }
      }
      for (const compiled of [...rules.values()]) {
        if (compiled.rule.source === 'file' && !names.has(compiled.rule.name)) {
          await alerts.deleteRule(compiled.rule.id);
          rules.delete(compiled.rule.id);
          settleRuleAlerts(compiled.rule.id, 'rule removed from FAROL_ALERTS_FILE');
          counts.deleted++;
        }
      }
      sampleRulesByAgent.clear();
      return counts;
    },

    // -- alerts
    /**
     * `visible` (issue #6, a role limited to a label selector) keeps only the alerts of machines
     * the caller may see; pages are read on until `limit` visible alerts are found or none are left.
     */
    async listAlerts(query: AlertListQuery, visible?: (agentId: string | null) => Promise<boolean>): Promise<AlertList> {
      const now = clock.now();
      const limit = query.limit ?? 100;
      const state = query.state ?? 'active';
      let agentId: string | undefined;
      if (query.agent) {
        agentId = directory.get(query.agent)?.id ?? [...directory.values()].find((a) => a.name === query.agent)?.id;
        if (!agentId) throw new FarolError('not_found', `no machine "${query.agent}"`);
      }
      const filter = {
        states: state === 'all' ? undefined : state === 'active' ? (['pending', 'firing'] as AlertState[]) : [state],
        agentId,
        ruleId: query.rule ? findRule(query.rule).rule.id : undefined,
        severity: query.severity,
        since: query.since,
      };
      let beforeSeq = query.cursor === undefined ? undefined : Number(query.cursor);
      const rows: Awaited<ReturnType<typeof alerts.listAlerts>> = [];
      // Filtered pages read ahead in bigger batches: a scoped caller may see few of many rows.
      const batchSize = visible ? Math.max(limit + 1, 200) : limit + 1;
      for (;;) {
        const batch = await alerts.listAlerts({ ...filter, beforeSeq, limit: batchSize });
        for (const row of batch) if (!visible || (await visible(row.agentId))) rows.push(row);
        if (!visible || rows.length > limit || batch.length < batchSize) break;
        beforeSeq = batch[batch.length - 1]!.seq;
      }
      const page = rows.slice(0, limit);
      return {
        alerts: page.map((row) => {
          const live = active.get(keyOf(row.ruleId, row.agentId, row.instance));
          return toApi(live && live.id === row.id ? cloneAlert(live) : row, now);
        }),
        nextCursor: rows.length > limit ? String(page[page.length - 1]!.seq) : null,
      };
    },
    async getAlert(id: string): Promise<AlertDetail> {
      const row = await alerts.findAlert(id);
      if (!row) throw new FarolError('not_found', `no alert ${id}`);
      const live = active.get(keyOf(row.ruleId, row.agentId, row.instance));
      const events = await alerts.eventsOf(id);
      return {
        ...toApi(live && live.id === id ? cloneAlert(live) : row, clock.now()),
        events: events.map(({ event, at, channels, silencedBy, actor, note }) => ({ event, at, channels, silencedBy, actor, note })),
      };
    },
    /** The machine an alert is about (null: the whole fleet); `not_found` for an unknown id. */
    async agentOfAlert(id: string): Promise<string | null> {
      const row = await alerts.findAlert(id);
      if (!row) throw new FarolError('not_found', `no alert ${id}`);
      return row.agentId;
    },
    async acknowledge(id: string, actor: string, body: AlertAck): Promise<Alert> {
      const alert = [...active.values()].find((a) => a.id === id);
      if (!alert) {
        if (await alerts.findAlert(id)) throw new FarolError('conflict', `alert ${id} is resolved: nothing to acknowledge`);
        throw new FarolError('not_found', `no alert ${id}`);
      }
      const now = clock.now();
      if (alert.acknowledgedAt === null) {
        alert.acknowledgedAt = now;
        alert.acknowledgedBy = actor;
        alert.acknowledgeNote = body.note ?? null;
        commit([
          {
            op: 'update',
            alert: cloneAlert(alert),
            publish: 'acknowledged',
            event: { event: 'acknowledged', at: now, channels: [], silencedBy: null, actor, note: body.note ?? null, notice: null },
          },
        ]);
        await writing;
      }
      return toApi(cloneAlert(alert), now);
    },

    // -- silences
    listSilences(all: boolean): Promise<Silence[]> {
      const now = clock.now();
      return alerts.listSilences(all ? null : now).then((list) => list.map((s) => silenceView(s, now)));
    },
    async createSilence(input: SilenceCreate, actor: string): Promise<Silence> {
      const parsed = SilenceCreateSchema.safeParse(input);
      if (!parsed.success) throw new FarolError('validation_failed', 'invalid silence', { issues: toFieldIssues(parsed.error) });
      const body = parsed.data;
      if (body.matcher.selector) {
        try {
          parseLabelSelector(body.matcher.selector);
        } catch (error) {
          throw new FarolError('validation_failed', (error as Error).message, { issues: [{ path: 'matcher.selector', message: (error as Error).message }] });
        }
      }
      const now = clock.now();
      const startsAt = body.startsAt ?? now;
      const endsAt = body.endsAt ?? startsAt + body.duration!;
      if (endsAt <= startsAt || endsAt <= now) throw new FarolError('validation_failed', 'a silence must end after it starts and in the future');
      const silence: SilenceRecord = { id: randomId('sil'), matcher: body.matcher, startsAt, endsAt, reason: body.reason, createdBy: actor, createdAt: now };
      await alerts.insertSilence(silence);
      silences.push({ silence, matches: compileSilence(silence.matcher) });
      wake(endsAt);
      logger.info({ silenceId: silence.id, actor, endsAt }, 'silence created');
      return silenceView(silence, now);
    },
    async getSilence(id: string): Promise<Silence> {
      const silence = await alerts.findSilence(id);
      if (!silence) throw new FarolError('not_found', `no silence ${id}`);
      return silenceView(silence, clock.now());
    },
    async removeSilence(id: string, actor: string): Promise<void> {
      const silence = await alerts.findSilence(id);
      if (!silence) throw new FarolError('not_found', `no silence ${id}`);
      const now = clock.now();
      if (silence.endsAt > now) await alerts.endSilence(id, now);
      silences = silences.filter(({ silence: s }) => s.id !== id);
      logger.info({ silenceId: id, actor }, 'silence ended');
      // Alerts it held back may now be sent.
      wake(now);
    },
  };
  return service;
}
export type AlertsService = ReturnType<typeof createAlertsService>;
