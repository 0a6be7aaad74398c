import {
  FarolError,
  toHistoryValues,
  type HeartbeatSample,
  type HistoryValues,
  type MetricsQuery,
  type MetricsReportAck,
  type MetricsResponse,
  type Resolution,
} from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Observability } from '../../infra/observability.js';
import type { UnitOfWork } from '../../infra/repositories.js';
import type { TelemetryRepository } from './telemetry.repository.js';

interface PendingReport {
  agentSeq: number;
  agentId: string;
  samples: HeartbeatSample[];
  receivedAt: number;
  resolve(ack: MetricsReportAck): void;
  reject(error: unknown): void;
}

export interface Retention {
  raw: number;
  minute: number;
  hour: number;
}

const STEP: Record<Resolution, number> = { raw: 10_000, '1m': 60_000, '1h': 3_600_000 };

/**
 * Picks the finest tier that still holds data at `from` and keeps the point count readable:
 * raw up to 3 h, 1-minute rollups up to 2 days, hourly beyond.
 */
export function pickResolution(from: number, to: number, now: number, retention: Retention): Resolution {
  const span = to - from;
  if (span <= 3 * 3_600_000 && from >= now - retention.raw) return 'raw';
  if (span <= 2 * 86_400_000 && from >= now - retention.minute) return '1m';
  return '1h';
}

/**
 * Heartbeat history. Reports are group-committed: everything that arrives within one write
 * window goes to the database in a single transaction, and each agent is acknowledged only
 * after its rows are committed (so its buffer may then drop them).
 */
export function createTelemetryService({
  telemetry,
  unitOfWork,
  bus,
  clock,
  logger,
  observability,
  writeBatchWindowMs,
  retention,
}: {
  telemetry: TelemetryRepository;
  unitOfWork: UnitOfWork;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  observability: Observability;
  writeBatchWindowMs: number;
  retention: Retention;
}) {
  // The newest sample per agent, kept as its JSON text (a few KB) rather than an object graph
  // (several times larger in V8): with 10,000 agents that is the difference that matters.
  const latest = new Map<string, { ts: number; json: string; values: HistoryValues }>();
  let pending: PendingReport[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  async function writeBatch(batch: PendingReport[]): Promise<void> {
    const started = performance.now();
    const rows = batch.flatMap((report) =>
      report.samples.map((sample) => ({ agentSeq: report.agentSeq, ts: sample.ts, values: toHistoryValues(sample) })),
    );
    const lastSeen = new Map<number, number>();
    for (const report of batch) lastSeen.set(report.agentSeq, Math.max(lastSeen.get(report.agentSeq) ?? 0, report.receivedAt));
    let inserted: Set<string>;
    try {
      inserted = await unitOfWork(async (repos) => {
        const keys = await repos.telemetry.insertSamples(rows);
        await repos.telemetry.touchLastSeen([...lastSeen].map(([seq, at]) => ({ seq, lastSeen: at })));
        return keys;
      });
    } catch (error) {
      logger.error({ err: error, reports: batch.length, samples: rows.length }, 'heartbeat batch write failed');
      for (const report of batch) report.reject(new FarolError('unavailable', 'the hub could not store the samples; retry later', { cause: error }));
      return;
    }
    observability.dbWriteSeconds.observe((performance.now() - started) / 1000);
    observability.writeBatchSize.observe(rows.length);
    for (const report of batch) {
      let stored = 0;
      // A sample counts as stored once; a duplicate within the same batch counts as a duplicate.
      for (const sample of report.samples) if (inserted.delete(`${report.agentSeq}:${sample.ts}`)) stored++;
      report.resolve({ stored, duplicates: report.samples.length - stored });
    }
  }

  function flush(): Promise<void> {
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return flushing;
    // Batches are written one after another, never interleaved.
    flushing = flushing.then(() => writeBatch(batch));
    return flushing;
  }

  return {
    /** Stores samples of one agent; resolves once they are committed. */
    record(agent: { seq: number; id: string }, samples: HeartbeatSample[]): Promise<MetricsReportAck> {
      const receivedAt = clock.now();
      observability.heartbeats.inc(samples.length);
      const newest = samples.reduce((a, b) => (b.ts > a.ts ? b : a));
      const current = latest.get(agent.id);
      if (!current || newest.ts >= current.ts) {
        const values = toHistoryValues(newest);
        latest.set(agent.id, { ts: newest.ts, json: JSON.stringify(newest), values });
        bus.publish('metrics.update', { agentId: agent.id, ts: newest.ts, values });
      }
      return new Promise<MetricsReportAck>((resolve, reject) => {
        pending.push({ agentSeq: agent.seq, agentId: agent.id, samples, receivedAt, resolve, reject });
        timer ??= setTimeout(() => void flush(), writeBatchWindowMs);
      });
    },

    latest(agentId: string): HeartbeatSample | null {
      const entry = latest.get(agentId);
      return entry ? (JSON.parse(entry.json) as HeartbeatSample) : null;
    },

    /** The history series of the newest sample, without rebuilding the whole sample. */
    latestValues(agentId: string): HistoryValues | null {
      return latest.get(agentId)?.values ?? null;
    },

    forget(agentId: string): void {
      latest.delete(agentId);
    },

    async query(agent: { seq: number; id: string }, query: MetricsQuery): Promise<MetricsResponse> {
      const now = clock.now();
      const to = query.to ?? now;
      const from = query.from ?? to - 3_600_000;
      if (from > to) throw new FarolError('validation_failed', '`from` must not be after `to`');
      const resolution = query.resolution ?? pickResolution(from, to, now, retention);
      const points = await telemetry.queryRange(agent.seq, resolution, from, to);
      return { agentId: agent.id, from, to, resolution, stepMs: STEP[resolution], points };
    },

    /** Commits whatever is waiting (used at shutdown). */
    async drain(): Promise<void> {
      if (timer) clearTimeout(timer);
      await flush();
    },
  };
}
export type TelemetryService = ReturnType<typeof createTelemetryService>;
