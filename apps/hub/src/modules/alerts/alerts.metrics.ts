import { Gauge, type Registry } from 'prom-client';
import { SeveritySchema } from '@farol/protocol';
import type { AlertsService } from './alerts.service.js';

/**
 * `farol_alerts{state, severity}`: pending and firing alerts, counted at scrape time from the
 * database. At most 2 states × 3 severities, whatever the fleet's size; which machine an alert
 * is about is in the API, not in labels. Every combination is set (0 when none), so a Grafana
 * panel or an alerting rule always has a series to read. Several hubs (issue #14): the alerts
 * are the cluster's, so only the hub that reports fleet-wide series (`isReporter`, the leader)
 * exports them, and a sum across hubs counts each alert once.
 */
export function registerAlertMetrics(registry: Registry, alerts: Pick<AlertsService, 'countActive'>, isReporter: () => boolean = () => true): void {
  new Gauge({
    name: 'farol_alerts',
    help: 'Pending and firing alerts, by state and severity (exported by one hub of a cluster)',
    labelNames: ['state', 'severity'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!isReporter()) return;
      const counts = await alerts.countActive();
      for (const state of ['pending', 'firing'] as const) {
        for (const severity of SeveritySchema.options) {
          this.set({ state, severity }, counts.find((c) => c.state === state && c.severity === severity)?.count ?? 0);
        }
      }
    },
  });
}
