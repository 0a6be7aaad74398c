import {
  countUpdatesAvailable,
  FarolError,
  MAX_SAMPLE_AGE_MS,
  MAX_SAMPLE_FUTURE_SKEW_MS,
  toHistoryValues,
  type FieldIssue,
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
import type { UnitOfWork } from '../repositories.js';
import type { TelemetryRepository } from './telemetry.repository.js';

interface PendingReport {
  agentSeq: number;
  agentId: string;
  samples: HeartbeatSample[];
  /** The report's newest sample as JSON, when it is the agent's newest so far, with its containers offering an update. */
  newest: { ts: number; json: string; updatesOffered: number } | undefined;
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
 * Refuses a report with a sample stamped more than MAX_SAMPLE_FUTURE_SKEW_MS ahead of the hub
 * (it would stay the machine's latest and freeze its card) or older than MAX_SAMPLE_AGE_MS
 * (1970: a clock that was never set). The whole report is refused so the agent hears why.
 */
export function checkSampleTimes(samples: HeartbeatSample[], now: number): void {
  const issues: FieldIssue[] = [];
  samples.forEach((sample, index) => {
    if (sample.ts > now + MAX_SAMPLE_FUTURE_SKEW_MS) {
      issues.push({ path: `samples.${index}.ts`, message: `${new Date(sample.ts).toISOString()} is ${Math.round((sample.ts - now) / 1000)} s ahead of the hub's clock (at most ${MAX_SAMPLE_FUTURE_SKEW_MS / 60_000} min): fix the machine's clock (NTP)` });
    } else if (sample.ts < now - MAX_SAMPLE_AGE_MS) {
      issues.push({ path: `samples.${index}.ts`, message: `${new Date(sample.ts).toISOString()} is older than ${MAX_SAMPLE_AGE_MS / 86_400_000} days: the hub keeps no samples that old (was the machine's clock set?)` });
    }
  });
  if (issues.length > 0) {
    throw new FarolError('validation_failed', `${issues.length} of ${samples.length} samples are stamped outside the hub's window: ${issues[0]!.message}`, { issues: issues.slice(0, 20) });
  }
}

/** Stored samples (JSON text by agent sequence) as samples. */
function parseSamples(texts: Map<number, string>): Map<number, HeartbeatSample> {
  return new Map([...texts].map(([seq, json]) => [seq, JSON.parse(json) as HeartbeatSample]));
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
  // Only the newest sample's history values stay in memory (for gauges and live updates); the
  // full sample goes to the database with its batch: 10,000 agents × a few KB is too much heap.
  const latest = new Map<string, { ts: number; values: HistoryValues; updatesAvailable: number | null }>();
  let pending: PendingReport[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  async function writeBatch(batch: PendingReport[]): Promise<void> {
    const started = performance.now();
    const rows = batch.flatMap((report) =>
      report.samples.map((sample) => ({ agentSeq: report.agentSeq, ts: sample.ts, values: toHistoryValues(sample) })),
    );
    const newest = new Map<number, { agentSeq: number; ts: number; json: string; updatesOffered: number }>();
    for (const report of batch) {
      const known = newest.get(report.agentSeq);
      if (report.newest && (!known || report.newest.ts >= known.ts)) newest.set(report.agentSeq, { agentSeq: report.agentSeq, ...report.newest });
    }
    let inserted: Set<string>;
    try {
      inserted = await unitOfWork(async (repos) => {
        const keys = await repos.telemetry.insertSamples(rows);
        // `storedAt`: the leader's alerts engine follows samples other hubs stored (issue #14).
        const storedAt = clock.now();
        await repos.telemetry.upsertLatest([...newest.values()].map((row) => ({ ...row, storedAt })));
        return keys;
      });
    } catch (error) {
      logger.error({ err: error, reports: batch.length, samples: rows.length }, 'heartbeat batch write failed');
      for (const report of batch) report.reject(new FarolError('unavailable', 'the hub could not store the samples; retry later', { cause: error }));
      return;
    }
    observability.dbWriteSeconds.observe((performance.now() - started) / 1000);
    observability.writeBatchSize.observe(rows.length);
    const committedAt = clock.now();
    for (const report of batch) {
      // Live heartbeats only (one fresh sample); backfilled ones are late on purpose.
      const [only] = report.samples;
      if (report.samples.length === 1 && only && committedAt - only.ts < 60_000) {
        observability.commitLagSeconds.observe(Math.max(0, committedAt - only.ts) / 1000);
      }
    }
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
      checkSampleTimes(samples, receivedAt);
      observability.heartbeats.inc(samples.length);
      const newestSample = samples.reduce((a, b) => (b.ts > a.ts ? b : a));
      const current = latest.get(agent.id);
      let newest: PendingReport['newest'];
      if (!current || newestSample.ts >= current.ts) {
        const values = toHistoryValues(newestSample);
        const updatesAvailable = countUpdatesAvailable(newestSample.containers);
        latest.set(agent.id, { ts: newestSample.ts, values, updatesAvailable });
        newest = { ts: newestSample.ts, json: JSON.stringify(newestSample), updatesOffered: updatesAvailable ?? 0 };
        bus.publish('metrics.update', { agentId: agent.id, ts: newestSample.ts, values });
        bus.publish('metrics.sample', { agentId: agent.id, sample: newestSample });
      }
      return new Promise<MetricsReportAck>((resolve, reject) => {
        pending.push({ agentSeq: agent.seq, agentId: agent.id, samples, newest, receivedAt, resolve, reject });
        timer ??= setTimeout(() => void flush(), writeBatchWindowMs);
      });
    },

    /** Newest full samples stored after `since`, whichever hub received them (the leader's alerts engine, issue #14). */
    async samplesStoredSince(since: number, limit: number): Promise<Array<{ agentId: string; storedAt: number; sample: HeartbeatSample }>> {
      return (await telemetry.latestStoredSince(since, limit)).map((row) => ({ agentId: row.agentId, storedAt: row.storedAt, sample: JSON.parse(row.sample) as HeartbeatSample }));
    },

    /** Newest full samples of the agents with a container offering an update, by agent sequence. */
    async latestOfferingUpdates(): Promise<Map<number, HeartbeatSample>> {
      return parseSamples(await telemetry.latestOfferingUpdates());
    },

    /** Newest full samples by agent sequence (all agents when `seqs` is omitted). */
    async latestSamples(seqs?: number[]): Promise<Map<number, HeartbeatSample>> {
      return parseSamples(await telemetry.latestSamples(seqs));
    },

    /** The history series of the newest sample, without rebuilding the whole sample. */
    latestValues(agentId: string): HistoryValues | null {
      return latest.get(agentId)?.values ?? null;
    },

    /** The newest sample's time, history series and count of container updates available (in memory since it arrived), or null. */
    latestPoint(agentId: string): { ts: number; values: HistoryValues; updatesAvailable: number | null } | null {
      return latest.get(agentId) ?? null;
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
