import { isFinalTargetState, toHistoryValues, type AgentStatusEvent, type HeartbeatSample, type HistoryValues, type JobTargetEvent, type RuleCondition } from '@farol/protocol';
import type { BusEvents } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import { containerIsDown, evaluateCheckCondition, formatSpan, formatValue, metricHolds, selectContainers } from './alert-conditions.js';
import { keyOf, type AlertEngine, type Change, type Observation } from './alert-engine.js';
import type { AgentEntry, AlertRules, CompiledRule } from './alert-rules.js';

/** Samples older than this when they arrive are backfill from an agent's buffer: history, not news. */
const STALE_SAMPLE_MS = 60_000;
/** Job targets already alerted on, remembered to ignore a late second result of the same command. */
const JOB_MEMORY = 10_000;

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

/**
 * What the engine hears, on the leader only (issue #14): each heartbeat checked against the
 * rules that cover its machine, presence changes, finished job targets and service check
 * states, each turned into one batch of alert changes.
 */
export function createAlertEvaluators({
  rules,
  engine,
  commit,
  isOnline,
  clock,
  logger,
  followsStoredSamples,
}: {
  rules: Pick<AlertRules, 'directory' | 'enabledRules' | 'sampleRulesFor' | 'agentFor' | 'settledAgent' | 'isSettled' | 'forgetAgent'>;
  engine: Pick<AlertEngine, 'active' | 'activeByAgent' | 'startAlert' | 'resolve' | 'observe' | 'clearVanished' | 'oneShot'>;
  commit: (batch: Change[]) => void;
  isOnline: (agentId: string) => boolean;
  clock: Clock;
  logger: Pick<Logger, 'error'>;
  /** Several hubs: samples also come back from the database, so the newest values are kept for the report. */
  followsStoredSamples: boolean;
}) {
  const { directory, enabledRules, sampleRulesFor, agentFor, settledAgent, isSettled } = rules;
  const { active, activeByAgent, startAlert, resolve, observe, clearVanished, oneShot } = engine;
  const knownOffline = new Set<string>();
  const restartHistory = new Map<string, Array<{ at: number; count: number }>>();
  const jobsAlerted = new Set<string>();
  /** The newest sample time evaluated per machine: a sample that arrives twice (bus and database) counts once. */
  const evaluatedTs = new Map<string, number>();
  /** Several hubs: the newest values of every machine the leader followed (the report's busiest list). */
  const followedValues = new Map<string, HistoryValues>();
  /** Heartbeats of machines not read yet, evaluated once their name and labels are. */
  const deferred = new Set<Promise<void>>();

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
    if ((evaluatedTs.get(agentId) ?? -Infinity) >= sample.ts) return;
    evaluatedTs.set(agentId, sample.ts);
    if (followsStoredSamples) followedValues.set(agentId, toHistoryValues(sample));
    if (isSettled(agentId)) {
      evaluateSample(directory.get(agentId)!, sample);
      return;
    }
    // A machine not read yet: its name and labels first, so the alert and the rules' scopes are right.
    const evaluation = settledAgent(agentId)
      .then((agent) => {
        if (agent) evaluateSample(agent, sample);
      })
      .catch((error: unknown) => logger.error({ err: error, agentId }, 'evaluating a heartbeat for alerts failed'))
      .finally(() => deferred.delete(evaluation));
    deferred.add(evaluation);
  }

  /** Resolves once every heartbeat waiting for its machine's name and labels has been evaluated. */
  async function evaluated(): Promise<void> {
    while (deferred.size > 0) await Promise.all([...deferred]);
  }

  function evaluateSample(agent: AgentEntry, sample: HeartbeatSample): void {
    const now = clock.now();
    const applicable = sampleRulesFor(agent);
    if (applicable.length === 0) return;
    const batch: Change[] = [];
    for (const compiled of applicable) {
      if (compiled.rule.condition.kind === 'metric') evaluateMetric(compiled, agent, sample, now, batch);
      else evaluateContainers(compiled, agent, sample, now, batch);
    }
    if (batch.length > 0) commit(batch);
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

  /** A service check's state changed (issue #19): one alert per rule × check, about no one machine. */
  function onCheckState(event: BusEvents['check.state']): void {
    const checkRules = enabledRules('check');
    if (checkRules.length === 0) return;
    const now = clock.now();
    const batch: Change[] = [];
    for (const compiled of checkRules) {
      const condition = compiled.rule.condition as Extract<RuleCondition, { kind: 'check' }>;
      if (event.deleted) {
        const alert = active.get(keyOf(compiled.rule.id, null, event.checkId));
        if (alert) resolve(alert, now, batch, `${alert.subject} was deleted or disabled`, true);
        continue;
      }
      if (condition.checks && !condition.checks.includes(event.checkId) && !condition.checks.includes(event.checkName)) continue;
      const verdict = evaluateCheckCondition(condition, event);
      const seen: Observation = { subject: `check ${event.checkName}`, value: verdict.value, threshold: verdict.threshold, comparator: verdict.comparator, unit: verdict.unit, describe: verdict.describe };
      observe(compiled, null, event.checkId, () => verdict.holds, seen, now, batch, () => verdict.cleared);
      // A still-holding alert keeps the newest locations and message in its words.
      const alert = active.get(keyOf(compiled.rule.id, null, event.checkId));
      if (alert && verdict.holds && alert.state === 'firing') alert.summary = verdict.describe(now - alert.since);
    }
    if (batch.length > 0) commit(batch);
  }

  function onRemoved(agentId: string): void {
    const now = clock.now();
    const batch: Change[] = [];
    for (const key of [...(activeByAgent.get(agentId) ?? [])]) resolve(active.get(key)!, now, batch, 'machine removed', true);
    rules.forgetAgent(agentId);
    evaluatedTs.delete(agentId);
    followedValues.delete(agentId);
    knownOffline.delete(agentId);
    for (const key of [...restartHistory.keys()]) if (key.startsWith(`${agentId}|`)) restartHistory.delete(key);
    if (batch.length > 0) commit(batch);
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

  return {
    onSample,
    onStatus,
    onJobTarget,
    onCheckState,
    onRemoved,
    reconcileOffline,
    evaluated,

    /** The newest values of a machine the leader followed from the database (several hubs). */
    followedValuesOf(agentId: string): HistoryValues | undefined {
      return followedValues.get(agentId);
    },

    /** A new leader term: the machines known offline are those with an offline alert in force. */
    resetKnownOffline(agentIds: Iterable<string>): void {
      knownOffline.clear();
      for (const id of agentIds) knownOffline.add(id);
    },
  };
}
export type AlertEvaluators = ReturnType<typeof createAlertEvaluators>;
