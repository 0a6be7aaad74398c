import type { Alert, AlertEventKind, AlertNotice, HeartbeatSample, RuleCondition } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import { formatSpan, formatValue, type MetricReader } from './alert-conditions.js';
import type { AgentEntry, AlertRules, CompiledRule } from './alert-rules.js';
import type { AlertSilences } from './alert-silences.js';
import type { AlertRecord, NewAlertEvent } from './alerts.repository.js';

/** A container alert's firing notice waits at most this long for the container's log lines. */
const LOG_WAIT_MS = 8_000;
/** Log fetches in flight at once; beyond this, container alerts go out without lines. */
const MAX_LOG_FETCHES = 10;

/** An alert in memory: its record plus what the last sample said about it. */
export interface LiveAlert extends AlertRecord {
  latest?: HeartbeatSample;
  /** The firing notice was held back by a silence; sent when the silence ends. */
  held?: boolean;
  /** The container's log lines are being fetched; the firing notice waits for them (bounded). */
  fetchingLogs?: boolean;
  awaitingLogs?: boolean;
}

/** One stored change of an alert, written with the others of its evaluation (alert-delivery.ts). */
export interface Change {
  op: 'insert' | 'update' | 'delete';
  alert: AlertRecord;
  event?: Omit<NewAlertEvent, 'alertId'> & { notice: string | null };
  /** The bus `alert.changed` event, if this change is one followers should see. */
  publish?: AlertEventKind;
}

/** What the engine saw of a condition, worded for an alert. */
export interface Observation {
  subject: string;
  value: number | null;
  threshold: number | null;
  comparator: AlertRecord['comparator'];
  unit: string | null;
  /** Sentence for a firing alert, given how long the condition has held. */
  describe(heldMs: number): string;
  sample?: HeartbeatSample;
}

export const keyOf = (ruleId: string, agentId: string | null, instance: string): string => `${ruleId}|${agentId ?? ''}|${instance}`;

export function cloneAlert(alert: LiveAlert): AlertRecord {
  const { latest: _latest, held: _held, fetchingLogs: _fetching, awaitingLogs: _awaiting, ...record } = alert;
  return { ...record, details: { ...record.details, notifiedChannels: [...record.details.notifiedChannels] } };
}

export function forMsOf(condition: RuleCondition): number {
  return 'for' in condition ? condition.for : 0;
}

function topProcessesOf(reader: MetricReader | undefined, sample: HeartbeatSample | undefined): AlertRecord['details']['topProcesses'] {
  if (!sample) return undefined;
  const list = reader?.processes === 'memory' ? sample.topMemory : sample.topCpu;
  return list.slice(0, 5).map((p) => ({ pid: p.pid, name: p.name, cpu: p.cpu, memoryBytes: p.rss }));
}

/** What a new alert says; the rest of its record starts blank. */
type AlertStart = Pick<AlertRecord, 'state' | 'subject' | 'summary' | 'value' | 'threshold' | 'comparator' | 'unit' | 'since' | 'firedAt' | 'resolvedAt'>;

/** A new alert of a rule about a machine (null: no one machine), never notified nor acknowledged. */
function newAlert(compiled: CompiledRule, agent: AgentEntry | null, instance: string, start: AlertStart): LiveAlert {
  const rule = compiled.rule;
  return {
    id: randomId('al'),
    ruleId: rule.id,
    ruleName: rule.name,
    kind: rule.condition.kind,
    severity: rule.severity,
    agentId: agent?.id ?? null,
    agentName: agent?.name ?? null,
    instance,
    ...start,
    lastNotifiedAt: null,
    notifications: 0,
    escalatedAt: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
    acknowledgeNote: null,
    details: { labels: { ...agent?.labels }, notifiedChannels: [] },
  };
}

/**
 * The alerts in force and their lifecycle (pending → firing → resolved, repeats, escalations,
 * notices), in memory. Filled and driven on the leader only (issue #14): `engage` in
 * alerts.service.ts reads the active alerts in, the evaluators and the scheduler move them on.
 * Every change goes to `commit` as one batch per evaluation (alert-delivery.ts).
 */
export function createAlertEngine({
  rules,
  silences,
  commit,
  wake,
  isOnline,
  fetchContainerLogs,
  clock,
  logger,
  publicUrl,
}: {
  rules: Pick<AlertRules, 'rules' | 'directory'>;
  silences: Pick<AlertSilences, 'silencedBy'>;
  commit: (batch: Change[]) => void;
  wake: (at: number) => void;
  isOnline: (agentId: string) => boolean;
  fetchContainerLogs?: ((agentId: string, container: string) => Promise<string[]>) | undefined;
  clock: Clock;
  logger: Logger;
  publicUrl?: string | undefined;
}) {
  const active = new Map<string, LiveAlert>();
  const activeByAgent = new Map<string, Set<string>>();
  const logFetches = new Set<Promise<void>>();
  const { silencedBy } = silences;

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
    if (publicUrl) notice.url = `${publicUrl.replace(/\/+$/, '')}/alerts`;
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

  /** `agent` null: an alert about no one machine (a service check, issue #19). */
  function startAlert(compiled: CompiledRule, agent: AgentEntry | null, instance: string, since: number, now: number, seen: Observation, batch: Change[]): void {
    const rule = compiled.rule;
    const alert = newAlert(compiled, agent, instance, {
      state: 'pending',
      subject: seen.subject,
      summary: seen.describe(now - since),
      value: seen.value,
      threshold: seen.threshold,
      comparator: seen.comparator,
      unit: seen.unit,
      since,
      firedAt: null,
      resolvedAt: null,
    });
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
  function observe(compiled: CompiledRule, agent: AgentEntry | null, instance: string, holds: (isActive: boolean) => boolean, seen: Observation, now: number, batch: Change[], clearedSummary: () => string): void {
    const key = keyOf(compiled.rule.id, agent?.id ?? null, instance);
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

  /** A one-shot alert (back online, job failed): recorded as resolved, one notice. */
  function oneShot(compiled: CompiledRule, agent: AgentEntry, instance: string, subject: string, summary: string, value: number | null, now: number, batch: Change[]): void {
    const alert = newAlert(compiled, agent, instance, { state: 'resolved', subject, summary, value, threshold: null, comparator: null, unit: null, since: now, firedAt: now, resolvedAt: now });
    recordEvent(alert, 'firing', compiled.channels, now, batch, 'insert');
  }

  /** After a rule changed or went: alerts it no longer justifies are resolved without a notice. */
  function settleRuleAlerts(ruleId: string, why: string): void {
    const compiled = rules.rules.get(ruleId);
    const now = clock.now();
    const batch: Change[] = [];
    for (const alert of [...active.values()]) {
      if (alert.ruleId !== ruleId) continue;
      const agent = alert.agentId ? rules.directory.get(alert.agentId) : undefined;
      const stillCovered = compiled && compiled.rule.enabled && (!agent || compiled.covers(agent));
      if (stillCovered) {
        alert.ruleName = compiled.rule.name;
        alert.severity = compiled.rule.severity;
        continue;
      }
      resolve(alert, now, batch, why, true);
    }
    if (batch.length > 0) commit(batch);
    wake(now);
  }

  /** The API's view of an alert, silenced or not as of `now`. */
  function toApi(alert: AlertRecord, now: number): Alert {
    const { details, ...rest } = alert;
    const view: Alert = { ...rest, silenced: alert.state !== 'resolved' && silencedBy(alert, now) !== null };
    if (details.topProcesses) view.topProcesses = details.topProcesses;
    return view;
  }

  /** The live alert with this id, if the engine holds one. */
  function findById(id: string): LiveAlert | undefined {
    return [...active.values()].find((a) => a.id === id);
  }

  return {
    active,
    activeByAgent,
    noticeOf,
    recordEvent,
    track,
    startAlert,
    fire,
    describeAgain,
    resolve,
    observe,
    clearVanished,
    oneShot,
    settleRuleAlerts,
    toApi,
    findById,

    /** Forgets every live alert (the next leader term reads them afresh from the database). */
    clear(): void {
      active.clear();
      activeByAgent.clear();
    },

    /** Waits for the container log fetches in flight (their notices follow). */
    async logsFetched(): Promise<void> {
      while (logFetches.size > 0) await Promise.all([...logFetches]);
    },
  };
}
export type AlertEngine = ReturnType<typeof createAlertEngine>;
