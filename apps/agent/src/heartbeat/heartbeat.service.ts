import type { SystemInfo } from '@farol/protocol';
import type { SampleBuffer } from '../buffer/sample-buffer.js';
import type { Sampler } from '../collectors/sampler.js';
import type { HubLink } from '../hub-link/hub-link.client.js';
import type { Logger } from '../logging/logger.js';

/** Backfill batch limits: well under the hub's 1,000 samples and 1 MB per message. */
export const BATCH_MAX_SAMPLES = 500;
export const BATCH_MAX_BYTES = 512 * 1024;
/** How long a metrics:report or agent:info ack may take before the batch is retried. */
export const REPORT_ACK_TIMEOUT_MS = 15_000;
/** How often SystemInfo is recomputed and, if changed, sent. */
export const SYSTEM_INFO_INTERVAL_MS = 5 * 60_000;

/** The collaborators of the heartbeat loop. */
export interface HeartbeatServiceOptions {
  sampler: Sampler;
  buffer: SampleBuffer;
  link: Pick<HubLink, 'isLinked' | 'request'>;
  logger: Logger;
  intervalMs: number;
  systemInfo: () => Promise<SystemInfo>;
  systemInfoIntervalMs?: number;
}

/**
 * The heartbeat loop: every interval, take a sample and append it to the on-disk buffer; while
 * linked, drain the buffer oldest-first in acknowledged batches. Live samples always go through
 * the buffer, so a backfill and live traffic can never reorder.
 */
export interface HeartbeatService {
  start(): void;
  /** Drains now (called when the link comes up). */
  drain(): Promise<void>;
  /** The SystemInfo the hub has, from the last hello or agent:info. */
  setSentSystemInfo(info: SystemInfo): void;
  /** Takes one sample now (the timer calls this). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/** Creates the heartbeat loop; nothing runs until `start()`. */
export function createHeartbeatService(options: HeartbeatServiceOptions): HeartbeatService {
  const { sampler, buffer, link, logger } = options;
  let stopped = false;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let infoTimer: NodeJS.Timeout | undefined;
  let sampling = false;
  let draining: Promise<void> | null = null;
  let drainWanted = false;
  let sentInfoJson: string | null = null;

  async function drainLoop(): Promise<void> {
    while (!stopped && link.isLinked()) {
      const batch = buffer.peekBatch(BATCH_MAX_SAMPLES, BATCH_MAX_BYTES);
      if (batch === null) return;
      if (batch.samples.length === 0) {
        // Only unreadable or expired lines: move past them, and never spin in place.
        if (!buffer.commit(batch)) return;
        continue;
      }
      const first = batch.samples[0]!.ts;
      let ack;
      try {
        ack = await link.request('metrics:report', { samples: batch.samples }, REPORT_ACK_TIMEOUT_MS);
      } catch (error) {
        // Timeout or disconnect: the batch stays buffered and goes again on the next tick.
        logger.warn({ err: error, samples: batch.samples.length, firstTs: first }, 'metrics report not acknowledged; will retry');
        return;
      }
      if (ack.ok) {
        buffer.commit(batch);
        logger.debug({ samples: batch.samples.length, ...ack.data, pending: buffer.size().samples }, 'metrics report acknowledged');
        continue;
      }
      if (ack.error.code === 'validation_failed') {
        // Resending a batch the hub finds invalid would block every later sample forever.
        logger.error(
          { samples: batch.samples.length, firstTs: first, issues: ack.error.issues, reason: ack.error.message },
          'hub rejected a metrics batch as invalid; dropping it',
        );
        buffer.commit(batch);
        continue;
      }
      logger.warn({ code: ack.error.code, reason: ack.error.message }, 'hub refused a metrics report; will retry');
      return;
    }
  }

  async function refreshSystemInfo(): Promise<void> {
    if (!link.isLinked()) return;
    const info = await options.systemInfo();
    const json = JSON.stringify(info);
    if (json === sentInfoJson) return;
    const ack = await link.request('agent:info', info, REPORT_ACK_TIMEOUT_MS);
    if (ack.ok) {
      sentInfoJson = json;
      logger.info('sent updated system info');
    } else {
      logger.warn({ code: ack.error.code, reason: ack.error.message }, 'hub refused the system info update');
    }
  }

  const service: HeartbeatService = {
    start() {
      heartbeatTimer = setInterval(() => void service.tick(), options.intervalMs);
      infoTimer = setInterval(() => {
        refreshSystemInfo().catch((error: unknown) => logger.warn({ err: error }, 'system info update failed; will retry'));
      }, options.systemInfoIntervalMs ?? SYSTEM_INFO_INTERVAL_MS);
    },

    drain() {
      // A drain asked for while one runs makes it go round once more, so a sample appended
      // just as the running drain found the buffer empty still leaves now, not a tick later.
      drainWanted = true;
      draining ??= (async () => {
        while (drainWanted && !stopped) {
          drainWanted = false;
          await drainLoop();
        }
      })()
        .catch((error: unknown) => logger.error({ err: error }, 'draining the sample buffer failed'))
        .finally(() => {
          draining = null;
        });
      return draining;
    },

    setSentSystemInfo(info) {
      sentInfoJson = JSON.stringify(info);
    },

    async tick() {
      if (sampling) {
        logger.debug('previous sample still being taken; skipping this tick');
        return;
      }
      sampling = true;
      try {
        const sample = await sampler.sample();
        if (stopped) return;
        buffer.append(sample);
      } catch (error) {
        logger.error({ err: error }, 'taking or buffering a sample failed');
      } finally {
        sampling = false;
      }
      if (link.isLinked()) await service.drain();
    },

    async stop() {
      stopped = true;
      clearInterval(heartbeatTimer);
      clearInterval(infoTimer);
      // A drain waits at most for one ack, which the closed socket fails at once.
      if (draining) await draining;
    },
  };
  return service;
}
