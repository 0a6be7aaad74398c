import { sql, type Selectable } from 'kysely';
import type {
  AlertEvent,
  AlertEventKind,
  AlertRule,
  AlertScope,
  AlertState,
  Comparator,
  NoticeProcessSchema,
  RuleCondition,
  Severity,
  SilenceMatcher,
} from '@farol/protocol';
import type { z } from 'zod';
import type { AlertEventsTable, AlertRulesTable, AlertsTable, Db, SilencesTable } from '../../infra/database.js';

/** A rule as stored (the protocol's AlertRule). */
export type RuleRecord = AlertRule;

/** What an alert remembers beyond its columns. */
export interface AlertDetails {
  labels: Record<string, string>;
  topProcesses?: Array<z.infer<typeof NoticeProcessSchema>>;
  /** A container's last log lines, fetched from the agent when the alert started. */
  logLines?: string[];
  /** Channels that were told it fired (the resolved notice goes to the same ones). */
  notifiedChannels: string[];
}

/** An alert as the engine holds it. */
export interface AlertRecord {
  id: string;
  ruleId: string;
  ruleName: string;
  kind: RuleCondition['kind'];
  severity: Severity;
  state: AlertState;
  agentId: string | null;
  agentName: string | null;
  instance: string;
  subject: string;
  summary: string;
  value: number | null;
  threshold: number | null;
  comparator: Comparator | null;
  unit: string | null;
  since: number;
  firedAt: number | null;
  resolvedAt: number | null;
  lastNotifiedAt: number | null;
  notifications: number;
  escalatedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  acknowledgeNote: string | null;
  details: AlertDetails;
}

export interface AlertEventRecord extends AlertEvent {
  seq: number;
  alertId: string;
  notice: string | null;
  deliveredAt: number | null;
}

export interface NewAlertEvent {
  alertId: string;
  event: AlertEventKind;
  at: number;
  channels: string[];
  silencedBy: string | null;
  actor: string | null;
  note: string | null;
  /** The AlertNotice (JSON) to hand to the notifier; null when nothing is to be sent. */
  notice: string | null;
}

export interface SilenceRecord {
  id: string;
  matcher: SilenceMatcher;
  startsAt: number;
  endsAt: number;
  reason: string;
  createdBy: string;
  createdAt: number;
}

export interface AlertFilter {
  states?: AlertState[] | undefined;
  agentId?: string | undefined;
  ruleId?: string | undefined;
  severity?: Severity | undefined;
  since?: number | undefined;
  beforeSeq?: number | undefined;
  limit: number;
}

function ruleFromRow(row: Selectable<AlertRulesTable>): RuleRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    condition: JSON.parse(row.condition) as RuleCondition,
    scope: JSON.parse(row.scope) as AlertScope,
    severity: row.severity as Severity,
    channels: JSON.parse(row.channels) as string[],
    escalation: row.escalation === null ? null : (JSON.parse(row.escalation) as { after: number; channels: string[] }),
    cooldown: row.cooldown_ms,
    enabled: row.enabled === 1,
    source: row.source as RuleRecord['source'],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function ruleToRow(rule: RuleRecord): Omit<AlertRulesTable, 'position'> {
  return {
    id: rule.id,
    name: rule.name,
    description: rule.description,
    condition: JSON.stringify(rule.condition),
    scope: JSON.stringify(rule.scope),
    severity: rule.severity,
    channels: JSON.stringify(rule.channels),
    escalation: rule.escalation === null ? null : JSON.stringify(rule.escalation),
    cooldown_ms: rule.cooldown,
    enabled: rule.enabled ? 1 : 0,
    source: rule.source,
    created_at: rule.createdAt,
    updated_at: rule.updatedAt,
  };
}

/** Alert ids per DELETE statement (well under SQLite's and PostgreSQL's bound-parameter limits). */
const DELETE_CHUNK = 500;
const num = (value: number | null): number | null => (value === null ? null : Number(value));

function alertFromRow(row: Selectable<AlertsTable>): AlertRecord & { seq: number } {
  return {
    seq: row.seq,
    id: row.id,
    ruleId: row.rule_id,
    ruleName: row.rule_name,
    kind: row.kind as AlertRecord['kind'],
    severity: row.severity as Severity,
    state: row.state as AlertState,
    agentId: row.agent_id,
    agentName: row.agent_name,
    instance: row.instance,
    subject: row.subject,
    summary: row.summary,
    value: row.value,
    threshold: row.threshold,
    comparator: row.comparator as Comparator | null,
    unit: row.unit,
    since: Number(row.since),
    firedAt: num(row.fired_at),
    resolvedAt: num(row.resolved_at),
    lastNotifiedAt: num(row.last_notified_at),
    notifications: row.notifications,
    escalatedAt: num(row.escalated_at),
    acknowledgedAt: num(row.acked_at),
    acknowledgedBy: row.acked_by,
    acknowledgeNote: row.ack_note,
    details: JSON.parse(row.details) as AlertDetails,
  };
}

function alertToRow(alert: AlertRecord): Omit<AlertsTable, 'seq'> {
  return {
    id: alert.id,
    rule_id: alert.ruleId,
    rule_name: alert.ruleName,
    kind: alert.kind,
    severity: alert.severity,
    state: alert.state,
    agent_id: alert.agentId,
    agent_name: alert.agentName,
    instance: alert.instance,
    subject: alert.subject,
    summary: alert.summary,
    value: alert.value,
    threshold: alert.threshold,
    comparator: alert.comparator,
    unit: alert.unit,
    since: alert.since,
    fired_at: alert.firedAt,
    resolved_at: alert.resolvedAt,
    last_notified_at: alert.lastNotifiedAt,
    notifications: alert.notifications,
    escalated_at: alert.escalatedAt,
    acked_at: alert.acknowledgedAt,
    acked_by: alert.acknowledgedBy,
    ack_note: alert.acknowledgeNote,
    details: JSON.stringify(alert.details),
  };
}

function eventFromRow(row: Selectable<AlertEventsTable>): AlertEventRecord {
  return {
    seq: row.seq,
    alertId: row.alert_id,
    event: row.event as AlertEventKind,
    at: Number(row.at),
    channels: JSON.parse(row.channels) as string[],
    silencedBy: row.silenced_by,
    actor: row.actor,
    note: row.note,
    notice: row.notice,
    deliveredAt: num(row.delivered_at),
  };
}

function silenceFromRow(row: Selectable<SilencesTable>): SilenceRecord {
  return {
    id: row.id,
    matcher: JSON.parse(row.matcher) as SilenceMatcher,
    startsAt: Number(row.starts_at),
    endsAt: Number(row.ends_at),
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
  };
}

export type AlertsRepository = ReturnType<typeof createAlertsRepository>;

/** SQL for rules, alerts, their events and silences; nothing else knows these tables. */
export function createAlertsRepository(db: Db) {
  return {
    async listRules(): Promise<RuleRecord[]> {
      return (await db.selectFrom('alert_rules').selectAll().orderBy('created_at').orderBy('position').execute()).map(ruleFromRow);
    },
    async countRules(): Promise<number> {
      const row = await db.selectFrom('alert_rules').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async insertRule(rule: RuleRecord): Promise<void> {
      await db
        .insertInto('alert_rules')
        .values({ ...ruleToRow(rule), position: sql<number>`(select coalesce(max(position), 0) + 1 from alert_rules)` })
        .execute();
    },
    async replaceRule(rule: RuleRecord): Promise<void> {
      const { id, ...rest } = ruleToRow(rule);
      await db.updateTable('alert_rules').set(rest).where('id', '=', id).execute();
    },
    async deleteRule(id: string): Promise<void> {
      await db.deleteFrom('alert_rules').where('id', '=', id).execute();
    },

    async insertAlert(alert: AlertRecord): Promise<void> {
      await db.insertInto('alerts').values(alertToRow(alert)).execute();
    },
    async updateAlert(alert: AlertRecord): Promise<void> {
      const { id, ...rest } = alertToRow(alert);
      await db.updateTable('alerts').set(rest).where('id', '=', id).execute();
    },
    /** Pending alerts that cleared before firing leave no history: two statements for any number of them. */
    async deleteAlerts(ids: readonly string[]): Promise<void> {
      for (let start = 0; start < ids.length; start += DELETE_CHUNK) {
        const chunk = ids.slice(start, start + DELETE_CHUNK);
        await db.deleteFrom('alert_events').where('alert_id', 'in', chunk).execute();
        await db.deleteFrom('alerts').where('id', 'in', chunk).execute();
      }
    },
    async activeAlerts(): Promise<AlertRecord[]> {
      return (await db.selectFrom('alerts').selectAll().where('state', '!=', 'resolved').orderBy('seq').execute()).map(alertFromRow);
    },
    async findAlert(id: string): Promise<AlertRecord | undefined> {
      const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
      return row && alertFromRow(row);
    },
    /** Newest first. */
    async listAlerts(filter: AlertFilter): Promise<Array<AlertRecord & { seq: number }>> {
      let query = db.selectFrom('alerts').selectAll().orderBy('seq', 'desc').limit(filter.limit);
      if (filter.states) query = query.where('state', 'in', filter.states);
      if (filter.agentId) query = query.where('agent_id', '=', filter.agentId);
      if (filter.ruleId) query = query.where('rule_id', '=', filter.ruleId);
      if (filter.severity) query = query.where('severity', '=', filter.severity);
      if (filter.since !== undefined) query = query.where('since', '>=', filter.since);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      return (await query.execute()).map(alertFromRow);
    },
    async countSince(column: 'fired_at' | 'resolved_at', since: number): Promise<number> {
      const row = await db
        .selectFrom('alerts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where(column, '>=', since)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async insertEvent(event: NewAlertEvent): Promise<number> {
      const row = await db
        .insertInto('alert_events')
        .values({
          alert_id: event.alertId,
          event: event.event,
          at: event.at,
          channels: JSON.stringify(event.channels),
          silenced_by: event.silencedBy,
          actor: event.actor,
          note: event.note,
          notice: event.notice,
          delivered_at: null,
        })
        .returning('seq')
        .executeTakeFirstOrThrow();
      return row.seq;
    },
    async markDelivered(seqs: number[], at: number): Promise<void> {
      if (seqs.length === 0) return;
      await db.updateTable('alert_events').set({ delivered_at: at }).where('seq', 'in', seqs).execute();
    },
    /** Notices committed but not yet handed to the notifier (a crash in between, or it failed). */
    async undeliveredEvents(): Promise<AlertEventRecord[]> {
      return (
        await db.selectFrom('alert_events').selectAll().where('notice', 'is not', null).where('delivered_at', 'is', null).orderBy('seq').execute()
      ).map(eventFromRow);
    },
    async eventsOf(alertId: string): Promise<AlertEventRecord[]> {
      return (await db.selectFrom('alert_events').selectAll().where('alert_id', '=', alertId).orderBy('seq').execute()).map(eventFromRow);
    },

    async insertSilence(silence: SilenceRecord): Promise<void> {
      await db
        .insertInto('silences')
        .values({
          id: silence.id,
          matcher: JSON.stringify(silence.matcher),
          starts_at: silence.startsAt,
          ends_at: silence.endsAt,
          reason: silence.reason,
          created_by: silence.createdBy,
          created_at: silence.createdAt,
        })
        .execute();
    },
    /** Silences not yet over at `now` (or all of them). */
    async listSilences(now: number | null): Promise<SilenceRecord[]> {
      let query = db.selectFrom('silences').selectAll().orderBy('starts_at');
      if (now !== null) query = query.where('ends_at', '>', now);
      return (await query.execute()).map(silenceFromRow);
    },
    async findSilence(id: string): Promise<SilenceRecord | undefined> {
      const row = await db.selectFrom('silences').selectAll().where('id', '=', id).executeTakeFirst();
      return row && silenceFromRow(row);
    },
    async endSilence(id: string, at: number): Promise<void> {
      await db.updateTable('silences').set({ ends_at: at }).where('id', '=', id).execute();
    },

    async getKv(key: string): Promise<string | undefined> {
      return (await db.selectFrom('kv').select('value').where('key', '=', key).executeTakeFirst())?.value;
    },
    async setKv(key: string, value: string): Promise<void> {
      await db.insertInto('kv').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
    },
    /**
     * Sets `key` only if it is not set yet; true for the one caller that set it. On PostgreSQL a
     * second transaction inserting the same key waits for the first and then does nothing, so of
     * several hubs starting at once exactly one wins (issue #14).
     */
    async claimKv(key: string, value: string): Promise<boolean> {
      const rows = await db.insertInto('kv').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).returning('key').execute();
      return rows.length > 0;
    },
  };
}
