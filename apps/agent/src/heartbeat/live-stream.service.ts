import type { Sampler } from '../collectors/sampler.js';
import type { HubLink } from '../hub-link/hub-link.client.js';
import type { Logger } from '../logging/logger.js';

/** The collaborators of live mode. */
export interface LiveStreamOptions {
  /** Called once, on the first live request: live samples need their own rate baselines. */
  createSampler: () => Sampler;
  link: Pick<HubLink, 'isLinked' | 'request'>;
  logger: Logger;
}

/**
 * Live mode: while someone watches this machine on a dashboard, the hub asks for a sample every
 * second (`telemetry:live`), sent with `metrics:live` and not stored. Best effort: a failed live
 * sample is not buffered or retried, the next one replaces it. Regular heartbeats are unaffected:
 * live samples come from a sampler of their own, so the 10 s heartbeat still averages over 10 s.
 */
export interface LiveStream {
  /** Starts (or re-times) streaming every `intervalMs`; null stops it. */
  request(intervalMs: number | null): void;
  /** Stops streaming (link lost, shutdown). */
  stop(): void;
  readonly intervalMs: number | null;
}

/** Creates live mode, off until the hub asks for it. */
export function createLiveStream(options: LiveStreamOptions): LiveStream {
  const { link, logger } = options;
  let sampler: Sampler | null = null;
  let timer: NodeJS.Timeout | undefined;
  let current: number | null = null;
  let busy = false;

  async function sendOne(intervalMs: number): Promise<void> {
    if (busy || !link.isLinked()) return;
    busy = true;
    try {
      sampler ??= options.createSampler();
      const sample = await sampler.sample();
      if (current === null || !link.isLinked()) return;
      const ack = await link.request('metrics:live', { sample }, Math.max(2 * intervalMs, 5_000));
      if (!ack.ok) logger.debug({ code: ack.error.code, reason: ack.error.message }, 'hub refused a live sample');
    } catch (error) {
      // Live samples are disposable: the next one, a second later, supersedes this one.
      logger.debug({ err: error }, 'live sample not delivered');
    } finally {
      busy = false;
    }
  }

  const stream: LiveStream = {
    request(intervalMs) {
      if (intervalMs === current) return;
      clearInterval(timer);
      timer = undefined;
      current = intervalMs;
      if (intervalMs === null) {
        logger.info('live mode off');
        return;
      }
      logger.info({ intervalMs }, 'live mode on: someone is watching this machine');
      void sendOne(intervalMs);
      timer = setInterval(() => void sendOne(intervalMs), intervalMs);
    },
    stop() {
      if (current !== null) stream.request(null);
    },
    get intervalMs() {
      return current;
    },
  };
  return stream;
}
