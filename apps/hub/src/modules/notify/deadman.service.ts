import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import { sendHttp } from './http-send.js';
import type { NetworkGuard } from './net-guard.js';

/**
 * The hub's dead-man's switch: a GET to a configured URL (healthchecks.io, Uptime Kuma push,
 * an n8n "wait for heartbeat" workflow) every interval while the hub is alive. When the pings
 * stop, the service outside raises the alarm the hub itself no longer can. A missed ping is not
 * retried: the next one is the retry.
 */
export function createDeadmanService({ url, intervalMs, guard, clock, logger }: { url: string; intervalMs: number; guard: NetworkGuard; clock: Clock; logger: Logger }) {
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let failures = 0;

  async function ping(): Promise<void> {
    const target = new URL(url);
    target.searchParams.set('ts', String(Math.floor(clock.now() / 1000)));
    try {
      const answer = await sendHttp(guard, { url: target.toString(), method: 'GET', timeoutMs: Math.min(10_000, intervalMs) });
      if (answer.status >= 200 && answer.status < 300) {
        if (failures > 0) logger.info({ after: failures }, 'dead-man ping answered again');
        failures = 0;
        return;
      }
      failures += 1;
      logger.warn({ status: answer.status, failures }, 'dead-man ping refused');
    } catch (error) {
      failures += 1;
      logger.warn({ err: error instanceof Error ? error.message : String(error), failures }, 'dead-man ping failed');
    }
  }

  return {
    start(): void {
      const tick = () => {
        inFlight = ping();
      };
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await inFlight;
    },
  };
}
