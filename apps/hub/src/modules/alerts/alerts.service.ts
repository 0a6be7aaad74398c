import {
  FarolError,
  type Alert,
  type AlertAck,
  type AlertDetail,
  type AlertList,
  type AlertListQuery,
  type AlertRule,
  type AlertRuleInput,
  type AlertRulePatch,
  type AlertRuleSpec,
  type AlertState,
  type HistoryValues,
  type Severity,
  type Silence,
  type SilenceCreate,
} from '@farol/protocol';
import type { Bus, BusEvents } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { UnitOfWork } from '../repositories.js';
import type { AuditService } from '../audit/audit.service.js';
import { createAlertDelivery, type Notifier } from './alert-delivery.js';
import { cloneAlert, createAlertEngine, keyOf, type Change, type LiveAlert } from './alert-engine.js';
import { createAlertEvaluators } from './alert-evaluators.js';
import { createFleetReport } from './alert-report.js';
import { createAlertRules, type AgentLister } from './alert-rules.js';
import { createAlertScheduler } from './alert-scheduler.js';
import { createAlertSilences } from './alert-silences.js';
import type { AlertRecord, AlertsRepository, RuleRecord } from './alerts.repository.js';
import { createSampleFollower, type StoredSample } from './sample-follower.js';

export type { Notifier } from './alert-delivery.js';

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

/**
 * The alerts module (issue #4). Evaluation is in memory and incremental: each heartbeat is
 * checked against the rules that cover its machine (cached per machine), presence changes and
 * failed jobs arrive from the bus, and one timer wakes at the next moment something is due
 * (a `for` elapsing, a repeat, an escalation, a silence ending, the periodic report). Only
 * state changes touch the database, in one transaction per evaluation; the notices of one
 * evaluation are handed to the notifier as one message per channel.
 *
 * Several hubs (issue #14): `load` runs on every hub (rules, silences and alerts for the API,
 * alert-rules.ts and alert-silences.ts); `engage` and `disengage` bracket a leader term, and
 * only then run the once-only duties: the engine (alert-engine.ts), its evaluators
 * (alert-evaluators.ts), its timer (alert-scheduler.ts), the hand-over of notices
 * (alert-delivery.ts) and the fleet report (alert-report.ts).
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
  audit,
  origin = randomId('hub'),
  storedSamples,
  engineUnitOfWork,
}: {
  alerts: AlertsRepository;
  unitOfWork: UnitOfWork;
  agents: AgentLister;
  isOnline: (agentId: string) => boolean;
  latestValues: (agentId: string) => HistoryValues | null;
  notifier: Notifier;
  /** The last log lines of a container on a machine (the agent's docker_logs); optional. */
  fetchContainerLogs?: (agentId: string, container: string) => Promise<string[]>;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  options: AlertsServiceOptions;
  /** Where rule, silence and acknowledgement changes are recorded (issue #11; main.ts always wires the audit log). */
  audit?: Pick<AuditService, 'record'>;
  /** This hub among several (issue #14): its own `alerts.config` events are not applied twice. */
  origin?: string;
  /**
   * Several hubs (issue #14): the newest samples stored after a time, whichever hub received
   * them. The engine runs on the leader only, and full samples stay in the hub that received
   * them, so the leader reads them back from the database.
   */
  storedSamples?: (since: number, limit: number) => Promise<StoredSample[]>;
  /** The unit of work of the engine's own changes: fenced by the leader lease in main.ts (ADR 0011). */
  engineUnitOfWork?: UnitOfWork;
}) {
  const timersEnabled = options.timers !== false;
  /** Whether this hub runs the engine now (it leads); false until `engage`. */
  let engaged = false;
  const isEngaged = (): boolean => engaged;
  const unsubscribers: Array<() => void> = [];
  let configUnsubscribe: (() => void) | undefined;
  let resumedUnsubscribe: (() => void) | undefined;

  // The parts call each other: the scheduler and the writer are reached through these two.
  const wake = (at: number): void => scheduler.wake(at);
  const commit = (batch: Change[]): void => delivery.commit(batch);

  /** Tells the other hubs that rules, silences or an acknowledgement changed here. */
  function announce(change: Omit<BusEvents['alerts.config'], 'origin'>): void {
    bus.publish('alerts.config', { origin, ...change });
  }

  // ---- every hub: rules, machines, silences ---------------------------------------------------------

  const rules = createAlertRules({
    alerts,
    unitOfWork,
    agents,
    clock,
    logger,
    audit,
    defaultCooldownMs: options.defaultCooldownMs,
    defaultChannels: options.defaultChannels,
    announce: () => announce({ rules: true, silences: false, acknowledged: null }),
    settleRuleAlerts: (ruleId, why) => engine.settleRuleAlerts(ruleId, why),
  });
  const silences = createAlertSilences({
    alerts,
    directory: rules.directory,
    clock,
    logger,
    audit,
    announce: () => announce({ rules: false, silences: true, acknowledged: null }),
    wake,
  });

  // ---- the leader only: engine, evaluators, delivery, report, scheduler -----------------------------

  const engine = createAlertEngine({ rules, silences, commit, wake, isOnline, fetchContainerLogs, clock, logger, publicUrl: options.publicUrl });
  const delivery = createAlertDelivery({
    alerts,
    unitOfWork,
    engineUnitOfWork,
    notifier,
    bus,
    clock,
    logger,
    toApi: engine.toApi,
    isEngaged,
    wake,
    groupWindowMs: options.groupWindowMs,
    timersEnabled,
  });
  const evaluators = createAlertEvaluators({ rules, engine, commit, isOnline, clock, logger, followsStoredSamples: storedSamples !== undefined });
  const report = options.report
    ? {
        ...options.report,
        send: createFleetReport({ report: options.report, alerts, directory: rules.directory, engine, isOnline, latestValues, followedValuesOf: evaluators.followedValuesOf, notifier, logger }),
      }
    : null;
  const scheduler = createAlertScheduler({
    rules,
    engine,
    silences,
    delivery,
    evaluators,
    alerts,
    commit,
    isOnline,
    isEngaged,
    report,
    startupGraceMs: options.startupGraceMs,
    timersEnabled,
    clock,
    logger,
  });
  /** Several hubs: samples other hubs stored, read back while this hub's engine runs. */
  const follower = storedSamples ? createSampleFollower({ read: storedSamples, onSample: evaluators.onSample, now: () => clock.now(), logger }) : null;
  const { active, toApi } = engine;

  // ---- several hubs (issue #14) ---------------------------------------------------------------------

  /** Rules from the database; on the engine, the alerts of rules that changed or went are settled. */
  async function reloadRules(): Promise<void> {
    const changed = await rules.reloadRules();
    if (engaged) for (const id of changed) engine.settleRuleAlerts(id, 'rule changed');
  }

  async function applyRemoteChange(event: BusEvents['alerts.config']): Promise<void> {
    if (event.rules) await reloadRules();
    if (event.silences) {
      const now = clock.now();
      await silences.reload(now);
      // Alerts a silence held back may go out now; a new silence's end is a moment to look again.
      wake(now);
    }
    const ack = event.acknowledged;
    if (ack) {
      const alert = engine.findById(ack.alertId);
      if (alert && alert.acknowledgedAt === null) {
        alert.acknowledgedAt = ack.at;
        alert.acknowledgedBy = ack.by;
        alert.acknowledgeNote = ack.note;
      }
    }
  }

  /**
   * Redis came back (issue #14): what other hubs announced meanwhile was missed, so rules,
   * silences and machines are read again, and the leader's engine takes in the acknowledgements
   * stored elsewhere (its repeats and escalations stop).
   */
  async function resync(): Promise<void> {
    await applyRemoteChange({ origin: '', rules: true, silences: true, acknowledged: null });
    await rules.reloadDirectory();
    if (!engaged) return;
    for (const stored of await alerts.activeAlerts()) {
      if (stored.acknowledgedAt === null || stored.acknowledgedBy === null) continue;
      await applyRemoteChange({ origin: '', rules: false, silences: false, acknowledged: { alertId: stored.id, at: stored.acknowledgedAt, by: stored.acknowledgedBy, note: stored.acknowledgeNote } });
    }
  }

  /**
   * An acknowledgement on a hub whose engine is not running (not the leader): stored here, and
   * the leader's engine takes it into its live alert so its repeats and escalations stop.
   */
  async function acknowledgeElsewhere(stored: AlertRecord, actor: string, body: AlertAck): Promise<Alert> {
    const now = clock.now();
    if (stored.acknowledgedAt !== null) return toApi(stored, now);
    const alert: AlertRecord = { ...stored, acknowledgedAt: now, acknowledgedBy: actor, acknowledgeNote: body.note ?? null };
    commit([
      {
        op: 'update',
        alert,
        publish: 'acknowledged',
        event: { event: 'acknowledged', at: now, channels: [], silencedBy: null, actor, note: body.note ?? null, notice: null },
      },
    ]);
    await delivery.written();
    announce({ rules: false, silences: false, acknowledged: { alertId: alert.id, at: now, by: actor, note: alert.acknowledgeNote } });
    await audit?.record({ actor, action: 'alert.acknowledge', agentId: alert.agentId, details: { alertId: alert.id, ruleName: alert.ruleName, subject: alert.subject, note: body.note ?? null } });
    return toApi(alert, now);
  }

  // ---- the service ----------------------------------------------------------------------------------

  const service = {
    /**
     * Every hub: creates the default rules on the first start of the fleet (once, whichever hub
     * wins), loads rules, machines and silences for the API, and follows changes other hubs make.
     */
    async load(): Promise<void> {
      const now = clock.now();
      await rules.createDefaults(now);
      await reloadRules();
      await rules.reloadDirectory();
      await silences.reload(now);
      configUnsubscribe ??= bus.subscribe('alerts.config', (event) => {
        if (event.origin === origin) return;
        applyRemoteChange(event).catch((error: unknown) => logger.error({ err: error }, 'applying an alerts change from another hub failed'));
      });
      resumedUnsubscribe ??= bus.subscribe('broadcasts.resumed', () => {
        resync().catch((error: unknown) => logger.error({ err: error }, 're-reading alert rules, silences and acknowledgements after Redis came back failed'));
      });
    },

    /**
     * The engine proper, on the leader only (issue #14): reads the active alerts, the report time
     * and the notices never handed over, then evaluates what the bus and the stored samples bring.
     */
    async engage(): Promise<void> {
      const now = clock.now();
      // Another hub may have changed rules and alerts while this one did not lead: read them afresh.
      await reloadRules();
      engine.clear();
      const offline: string[] = [];
      for (const record of await alerts.activeAlerts()) {
        const alert: LiveAlert = record;
        engine.track(alert);
        if (alert.kind === 'offline' && alert.agentId) offline.push(alert.agentId);
      }
      evaluators.resetKnownOffline(offline);
      await silences.reload(now);
      await scheduler.begin(now);
      // Notices committed but never handed over (a crash in between) go out now.
      await delivery.resume();
      scheduler.startGrace(now);
      engaged = true;
      unsubscribers.push(
        bus.subscribe('metrics.sample', ({ agentId, sample }) => evaluators.onSample(agentId, sample)),
        bus.subscribe('agent.status', evaluators.onStatus),
        bus.subscribe('agent.removed', ({ agentId }) => evaluators.onRemoved(agentId)),
        bus.subscribe('agent.updated', ({ agentId, name, labels }) => rules.updateAgent(agentId, name, labels)),
        bus.subscribe('job.target', evaluators.onJobTarget),
        bus.subscribe('check.state', evaluators.onCheckState),
      );
      follower?.start();
      delivery.flushSoon();
      wake(now);
      logger.info({ rules: rules.rules.size, active: active.size, silences: silences.count }, 'alerts engine started');
    },

    /** Stops evaluating (this hub no longer leads, or it stops) and hands every queued notice over. */
    async disengage(): Promise<void> {
      engaged = false;
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
      scheduler.end();
      delivery.cancelFlushTimer();
      await follower?.stop();
      await service.settle();
      // The next leader term reads them afresh from the database.
      engine.clear();
    },

    /** One hub: `load` and `engage`. */
    async start(): Promise<void> {
      await service.load();
      await service.engage();
    },

    async stop(): Promise<void> {
      configUnsubscribe?.();
      configUnsubscribe = undefined;
      resumedUnsubscribe?.();
      resumedUnsubscribe = undefined;
      await service.disengage();
    },

    tick: scheduler.tick,

    /** Waits for pending writes and hands every queued notice over (tests, shutdown). */
    async settle(): Promise<void> {
      await evaluators.evaluated();
      await engine.logsFetched();
      await delivery.written();
      await delivery.flush();
    },

    // -- rules
    listRules(): AlertRule[] {
      return rules.list();
    },
    getRule(ref: string): AlertRule {
      return rules.get(ref);
    },
    createRule(input: AlertRuleInput, source: RuleRecord['source'] = 'api', actor = 'hub'): Promise<AlertRule> {
      return rules.create(input, source, actor);
    },
    updateRule(ref: string, patch: AlertRulePatch, options: { allowFile?: boolean; actor?: string } = {}): Promise<AlertRule> {
      return rules.update(ref, patch, options);
    },
    deleteRule(ref: string, options: { allowFile?: boolean; actor?: string } = {}): Promise<void> {
      return rules.remove(ref, options);
    },
    /**
     * Configuration as code: rules from the file are created or replaced by name; file rules
     * no longer in it are deleted. Rules made through the API or the defaults are left alone
     * unless the file names them (then the file wins and they become file rules).
     */
    applyFileRules(specs: AlertRuleSpec[]): Promise<{ created: number; updated: number; deleted: number }> {
      return rules.applyFile(specs);
    },

    // -- alerts
    /**
     * Pending and firing alerts counted by state and severity, read from the database so every
     * hub of a cluster reports the same figures (the `farol_alerts` gauge).
     */
    async countActive(): Promise<Array<{ state: AlertState; severity: Severity; count: number }>> {
      const counts = new Map<string, { state: AlertState; severity: Severity; count: number }>();
      for (const alert of await alerts.activeAlerts()) {
        const key = `${alert.state}|${alert.severity}`;
        const entry = counts.get(key) ?? { state: alert.state, severity: alert.severity, count: 0 };
        entry.count++;
        counts.set(key, entry);
      }
      return [...counts.values()];
    },

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
        agentId = rules.directory.get(query.agent)?.id ?? [...rules.directory.values()].find((a) => a.name === query.agent)?.id;
        if (!agentId) throw new FarolError('not_found', `no machine "${query.agent}"`);
      }
      const filter = {
        states: state === 'all' ? undefined : state === 'active' ? (['pending', 'firing'] as AlertState[]) : [state],
        agentId,
        ruleId: query.rule ? rules.findRule(query.rule).rule.id : undefined,
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
      const alert = engine.findById(id);
      if (!alert) {
        const stored = await alerts.findAlert(id);
        if (!stored) throw new FarolError('not_found', `no alert ${id}`);
        if (engaged || stored.state === 'resolved') throw new FarolError('conflict', `alert ${id} is resolved: nothing to acknowledge`);
        return acknowledgeElsewhere(stored, actor, body);
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
        await delivery.written();
        await audit?.record({ actor, action: 'alert.acknowledge', agentId: alert.agentId, details: { alertId: alert.id, ruleName: alert.ruleName, subject: alert.subject, note: body.note ?? null } });
      }
      return toApi(cloneAlert(alert), now);
    },

    // -- silences
    listSilences(all: boolean): Promise<Silence[]> {
      return silences.list(all);
    },
    createSilence(input: SilenceCreate, actor: string): Promise<Silence> {
      return silences.create(input, actor);
    },
    getSilence(id: string): Promise<Silence> {
      return silences.get(id);
    },
    removeSilence(id: string, actor: string): Promise<void> {
      return silences.remove(id, actor);
    },
  };
  return service;
}
export type AlertsService = ReturnType<typeof createAlertsService>;
