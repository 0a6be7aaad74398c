import type { Sampler } from '../collectors/sampler.js';
import { sleep } from '../runtime/clock.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from './remote-command.js';

/** Rates (CPU, disk, network) are measured over this window. */
export const METRICS_WINDOW_MS = 1_000;

/**
 * `metrics`: a fresh sample now. A sampler of its own, so the heartbeat's rate baselines are
 * untouched; rates are measured over one second.
 */
export async function runMetricsCommand(createSampler: () => Sampler, context: RemoteCommandContext): Promise<RemoteOutcome> {
  const startedAt = context.clock.now();
  const sampler = createSampler();
  await sampler.prime();
  await sleep(METRICS_WINDOW_MS, context.signal);
  if (context.signal.aborted) return plainOutcome({ state: 'cancelled', startedAt, endedAt: context.clock.now(), error: 'cancelled' });
  const sample = await sampler.sample();
  return plainOutcome({ state: 'succeeded', exitCode: 0, startedAt, endedAt: context.clock.now(), data: { kind: 'metrics', sample } });
}
