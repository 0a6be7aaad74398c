import { yieldToEventLoop } from './pause.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The hub's Prometheus registry and the instruments services record into. Every series carries
 * `hub="<hub id>"` (issue #14): with several hubs each one's /metrics holds its own internals and
 * the agents connected to it, so `sum without (hub, instance)` counts every machine once.
 */
export function createObservability({ hubId }: { hubId?: string } = {}) {
  const registry = new Registry();
  if (hubId !== undefined) registry.setDefaultLabels({ hub: hubId });
  collectDefaultMetrics({ register: registry, prefix: 'farol_hub_', eventLoopMonitoringPrecision: 20 });
  // These three are gauges whose names end in `_total`, which Prometheus reserves for counters
  // (`promtool check metrics` fails on them, #21). The same counts, by type, stay in the gauges
  // without the suffix: sum(farol_hub_nodejs_active_handles) is the total.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`farol_hub_nodejs_${name}`);
  const sections: Array<() => Promise<string>> = [];
  return {
    registry,
    /** `hub` on every series, when set. */
    hubId,
    /**
     * Adds series rendered directly in the text format, for families with a series per machine:
     * prom-client stores and formats 10,000 machines × 5 gauges in ~250 ms a scrape, the
     * text itself takes ~55 ms (issue #16). `render` must add the `hub` label itself.
     */
    addTextSection(render: () => Promise<string>): void {
      sections.push(render);
    },
    /** Everything /metrics serves: the registry, then the text sections. */
    async metricsText(): Promise<string> {
      const parts = [await registry.metrics()];
      // One section at a time, heartbeats in between: a scrape of 10,000 machines is many short steps, not one long one.
      for (const render of sections) {
        await yieldToEventLoop();
        parts.push(await render());
      }
      return parts.map((part) => (part === '' || part.endsWith('\n') ? part : `${part}\n`)).join('');
    },
    heartbeats: new Counter({
      name: 'farol_heartbeats_received_total',
      help: 'Heartbeat samples received from agents (live and backfilled)',
      registers: [registry],
    }),
    dbWriteSeconds: new Histogram({
      name: 'farol_db_write_seconds',
      help: 'Time to commit one batch of heartbeats',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    writeBatchSize: new Histogram({
      name: 'farol_db_write_batch_samples',
      help: 'Samples committed per heartbeat batch',
      buckets: [1, 5, 10, 50, 100, 500, 1000, 5000],
      registers: [registry],
    }),
    commitLagSeconds: new Histogram({
      name: 'farol_heartbeat_commit_lag_seconds',
      help: 'Live heartbeats: from the sample timestamp set by the agent to the commit of its row',
      buckets: [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    socketConnections: new Gauge({
      name: 'farol_socket_connections',
      help: 'Open Socket.IO connections by namespace',
      labelNames: ['namespace'] as const,
      registers: [registry],
    }),
    // Remote commands (issue #3).
    jobsCreated: new Counter({
      name: 'farol_jobs_created_total',
      help: 'Jobs created, by command kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    jobTargetsFinished: new Counter({
      name: 'farol_job_targets_finished_total',
      help: 'Job targets that reached a final state, by state (succeeded, failed, timed_out, cancelled, expired, refused)',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    commandRoundTripSeconds: new Histogram({
      name: 'farol_command_round_trip_seconds',
      help: 'From sending a command to an agent to storing its result, by command kind',
      labelNames: ['kind'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    jobTargetsQueued: new Gauge({
      name: 'farol_job_targets_queued',
      help: 'Targets stored but not yet sent (their machine is offline)',
      registers: [registry],
    }),
    badMessages: new Counter({
      name: 'farol_socket_bad_messages_total',
      help: 'Socket messages refused (unknown event, bad payload)',
      registers: [registry],
    }),
    agentsRebalanced: new Counter({
      name: 'farol_agents_rebalanced_total',
      help: 'Agents this hub asked to reconnect to another hub because it held more than its share (several hubs)',
      registers: [registry],
    }),
  };
}
export type Observability = ReturnType<typeof createObservability>;
