import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { AlertDelivery } from './alert-delivery.js';
import { forMsOf, type AlertEngine, type Change } from './alert-engine.js';
import type { AlertEvaluators } from './alert-evaluators.js';
import type { AlertRules } from './alert-rules.js';
import type { AlertSilences } from './alert-silences.js';
import type { AlertsRepository } from './alerts.repository.js';

/**
 * The engine's one timer, on the leader only (issue #14): it wakes at the next moment something
 * is due (a `for` elapsing, a repeat, an escalation, a silence ending, a delivery retry, the
 * periodic report, the end of the start-up grace) and `tick` does all that is due then.
 */
export function createAlertScheduler({
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
  startupGraceMs,
  timersEnabled,
  clock,
  logger,
}: {
  rules: Pick<AlertRules, 'rules'>;
  engine: Pick<AlertEngine, 'active' | 'fire' | 'recordEvent' | 'describeAgain'>;
  silences: Pick<AlertSilences, 'silencedBy' | 'prune'>;
  delivery: Pick<AlertDelivery, 'retryDue'>;
  evaluators: Pick<AlertEvaluators, 'reconcileOffline'>;
  alerts: Pick<AlertsRepository, 'getKv' | 'setKv'>;
  commit: (batch: Change[]) => void;
  isOnline: (agentId: string) => boolean;
  isEngaged: () => boolean;
  /** The periodic fleet report and how it is sent (alert-report.ts); null: none. */
  report: { everyMs: number; channels: string[]; send: (now: number) => Promise<void> } | null;
  /** After a hub start, machines not back within this long count as offline. */
  startupGraceMs: number;
  timersEnabled: boolean;
  clock: Clock;
  logger: Logger;
}) {
  const { active, fire, recordEvent, describeAgain } = engine;
  const { silencedBy } = silences;
  let tickTimer: NodeJS.Timeout | undefined;
  let tickAt = Infinity;
  let graceEndsAt: number | null = null;
  let reportLastAt = 0;

  function wake(at: number): void {
    if (!timersEnabled || !isEngaged() || at >= tickAt) return;
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
        evaluators.reconcileOffline(now, batch);
      } else due(graceEndsAt);
    }

    for (const alert of [...active.values()]) {
      const compiled = rules.rules.get(alert.ruleId);
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

    silences.prune(now, due);

    const retryAt = delivery.retryDue(now);
    if (retryAt !== null) due(retryAt);

    if (report && report.channels.length > 0) {
      const at = reportLastAt + report.everyMs;
      if (now >= at) {
        reportLastAt = now;
        await alerts.setKv('alerts.report.last', String(now));
        await report.send(now);
        due(now + report.everyMs);
      } else due(at);
    }

    if (batch.length > 0) commit(batch);
    if (next !== Infinity) wake(next);
  }

  return {
    wake,
    tick,

    /** A leader term starts: when the report last went, from the database. */
    async begin(now: number): Promise<void> {
      reportLastAt = Number((await alerts.getKv('alerts.report.last')) ?? '0');
      if (report && reportLastAt === 0) {
        reportLastAt = now;
        await alerts.setKv('alerts.report.last', String(now));
      }
    },

    /** Machines not back within the grace from `now` count as offline (see reconcileOffline). */
    startGrace(now: number): void {
      graceEndsAt = now + startupGraceMs;
    },

    /** The leader term ends: the timer stops. */
    end(): void {
      if (tickTimer) clearTimeout(tickTimer);
      tickTimer = undefined;
      tickAt = Infinity;
    },
  };
}
export type AlertScheduler = ReturnType<typeof createAlertScheduler>;
