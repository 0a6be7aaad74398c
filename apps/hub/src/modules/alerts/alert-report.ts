import type { FleetReport, HistoryValues } from '@farol/protocol';
import type { Logger } from '../../infra/logger.js';
import type { Notifier } from './alert-delivery.js';
import type { AlertEngine } from './alert-engine.js';
import type { AgentEntry } from './alert-rules.js';
import type { AlertsRepository } from './alerts.repository.js';

const MAX_REPORT_FIRING = 100;

/**
 * The periodic fleet report (FAROL_ALERTS_REPORT), sent by the leader only (issue #14): the
 * scheduler calls it when it is due and records when it last went in the database.
 */
export function createFleetReport({
  report,
  alerts,
  directory,
  engine,
  isOnline,
  latestValues,
  followedValuesOf,
  notifier,
  logger,
}: {
  report: { everyMs: number; channels: string[] };
  alerts: Pick<AlertsRepository, 'countSince'>;
  directory: ReadonlyMap<string, AgentEntry>;
  engine: Pick<AlertEngine, 'active' | 'noticeOf'>;
  isOnline: (agentId: string) => boolean;
  latestValues: (agentId: string) => HistoryValues | null;
  /** Several hubs: the newest values the leader read back for machines on other hubs. */
  followedValuesOf: (agentId: string) => HistoryValues | undefined;
  notifier: Notifier;
  logger: Logger;
}) {
  return async function sendReport(now: number): Promise<void> {
    const periodStart = now - report.everyMs;
    let online = 0;
    const busiest: FleetReport['busiest'] = [];
    for (const agent of directory.values()) {
      if (isOnline(agent.id)) online++;
      const values = latestValues(agent.id) ?? followedValuesOf(agent.id);
      if (values) busiest.push({ agentName: agent.name, cpu: values.cpu, memory: values.memory, disk: values.disk });
    }
    busiest.sort((a, b) => (b.cpu ?? -1) - (a.cpu ?? -1));
    const firing = [...engine.active.values()].filter((a) => a.state === 'firing').slice(0, MAX_REPORT_FIRING).map((a) => engine.noticeOf(a, 'firing'));
    const fleetReport: FleetReport = {
      periodMs: report.everyMs,
      generatedAt: now,
      agents: { total: directory.size, online, offline: directory.size - online },
      firing,
      firedInPeriod: await alerts.countSince('fired_at', periodStart),
      resolvedInPeriod: await alerts.countSince('resolved_at', periodStart),
      busiest: busiest.slice(0, 10),
    };
    try {
      await notifier.notify(report.channels, { kind: 'report', report: fleetReport });
      logger.info({ channels: report.channels, firing: firing.length }, 'fleet report handed to the notifier');
    } catch (error) {
      logger.error({ err: error }, 'handing the fleet report to the notifier failed');
    }
  };
}
